"""Pure helpers of the watcher: git config diffs for tamper details, watch-limit errors,
the ownership attributor's policy."""

from __future__ import annotations

from tests.unit.watch.watchkit import small_plan
from wavedeck.agents.git import tamper as git_tamper
from wavedeck.agents.watch import rules as watch_rules
from wavedeck.agents.watch.rules import config_detail, config_entries, ownership_attributor

CONFIG = """\
# comment
[core]
\trepositoryformatversion = 0
\tbare
[remote "origin"]
\turl = https://example.com/x.git
[includeIf "gitdir:/work/"] path = /tmp/other.cfg
"""


def test_config_entries() -> None:
    entries = config_entries(CONFIG)
    assert entries == {
        "core.repositoryformatversion": "0",
        "core.bare": "true",
        "remote.origin.url": "https://example.com/x.git",
        "includeif.gitdir:/work/.path": "/tmp/other.cfg",
    }


def test_config_detail_names_changed_and_risky_keys() -> None:
    new = CONFIG + "[core]\n\tfsmonitor = /tmp/evil\n[user]\n\tname = x\n"
    detail = config_detail(".git/config", CONFIG, new)
    assert "core.fsmonitor" in detail and "user.name" in detail
    assert detail.endswith("runs programs: core.fsmonitor")
    assert "no key changed" in config_detail(".git/config", CONFIG, CONFIG + "\n# c\n")
    assert "removed" in config_detail(".git/config", CONFIG, None)


def test_attributor_policy() -> None:
    plan = small_plan()
    plain = ownership_attributor(plan, 1)
    owned = plain("pkg/a/x.py")
    assert (owned.agent, owned.kind, owned.names) == ("w1-a1", None, ())
    new = plain("pkg/a/new.py")
    assert (new.agent, new.kind) == ("w1-a1", "undeclared")
    other = plain("pkg/c/z.py")
    assert (other.kind, other.names) == ("other-wave", ("w2-a1",))
    lenient = ownership_attributor(plan, 1, accept=["**/*.lock"], accept_undeclared=True)
    assert lenient("pkg/a/new.py").kind is None
    assert lenient("deps/yarn.lock").kind is None
    assert lenient("docs/x.md").kind == "unowned"
    writer = ownership_attributor(plan, 1, writer_of=lambda _p: "w1-a2", accept_undeclared=True)
    # an undeclared path in w1-a1's package written by w1-a2 is not waved through
    assert writer("pkg/a/new.py").kind is not None
    foreign = writer("pkg/a/x.py")
    assert (foreign.agent, foreign.kind, foreign.names) == ("w1-a2", "foreign", ("w1-a1",))


def test_live_detail_and_checkpoint_check_name_the_same_risky_keys() -> None:
    """The watcher's tamper detail and the checkpoint's tamper check share one key list."""
    assert watch_rules.RUNS_PROGRAM_KEYS is git_tamper.RUNS_PROGRAM_KEYS
    keys = {
        "core.fsmonitor": True,
        "core.sshcommand": True,
        "filter.lfs.clean": True,
        "filter.lfs.required": False,  # a flag, not a program
        "diff.tool.textconv": True,
        "includeif.gitdir:/x/.path": True,
        "user.name": False,
    }
    for key, risky in keys.items():
        section, _, rest = key.partition(".")
        sub, _, name = rest.rpartition(".")
        header = f'[{section} "{sub}"]' if sub else f"[{section}]"
        detail = config_detail(".git/config", "", f"{header}\n\t{name} = prog\n")
        assert key in detail
        assert ("runs programs: " + key in detail) is risky, detail
        [found] = git_tamper.findings({}, {f"config:config:{key}": "prog"})
        assert found.program is risky, found
