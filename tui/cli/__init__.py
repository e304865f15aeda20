"""The ``wavedeck`` command: ``main`` builds the click group; one module per command family.

Importing this package is the command's entry point (the console script imports
``wavedeck.tui.cli.main``), so it is where the command decides what reaches the user's terminal:
a dependency's warnings do not. asyncssh, imported by ``demo``, ``run``, ``audit``, ``hosts`` and
the control room, makes cryptography print five ``CryptographyDeprecationWarning``s (DSA) on every
start, burying the one line that mattered (``already running … (pid …)``). They are meant for the
dependency's developers, not for a wavedeck user, who can do nothing about them. The filter is set
here, before any command imports asyncssh; a user who asks for warnings (``python -W``,
``PYTHONWARNINGS``) still gets them.
"""

from __future__ import annotations

import sys
import warnings


def quiet_dependency_warnings() -> None:
    """Ignore every warning raised from outside wavedeck, unless the user asked for warnings."""
    if sys.warnoptions:  # -W or PYTHONWARNINGS: the user's choice wins
        return
    # ``module`` is matched against the module the warning is attributed to: anything but
    # wavedeck's own (wavedeck raises none today; if it ever does, the user should see it).
    warnings.filterwarnings("ignore", module=r"(?!wavedeck(\.|$))")


quiet_dependency_warnings()
