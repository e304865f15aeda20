"""Hostile configurations (issue #20): deep nesting, a FIFO, infinite or absurd timeouts and a
misspelt ``WAVEDECK_`` variable are each a ``ConfigError`` naming the key (the command exits 2
with it), never a ``RecursionError``, a hang, a thread traceback or a silent default."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import BaseModel

from tests.sandboxkit import git
from wavedeck.agents.config import Config
from wavedeck.agents.configread import ConfigError, load_config

DEEP = 3000
MAIN = "from wavedeck.tui.cli.main import main; main()"


def _seconds_fields() -> list[str]:
    """Every setting in seconds (``*_s``), as a dotted key: each must refuse inf and nan."""
    found: list[str] = []

    def walk(model: type[BaseModel], prefix: str) -> None:
        for name, field in model.model_fields.items():
            annotation = field.annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                walk(annotation, f"{prefix}{name}.")
            elif name.endswith("_s"):
                found.append(f"{prefix}{name}")

    walk(Config, "")
    return found


SECONDS = _seconds_fields()


def _toml_for(key: str, value: str) -> str:
    table, _, name = key.rpartition(".")
    return f"[{table}]\n{name} = {value}\n"


def test_every_timeout_is_found() -> None:
    assert {"git.hook_timeout_s", "agent.stop_grace_s", "tests.timeout_s"} <= set(SECONDS)
    assert "agent.restart.backoff_max_s" in SECONDS


@pytest.mark.parametrize("key", SECONDS)
@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "1e300"])
def test_infinite_nan_and_absurd_seconds_are_refused_by_key(
    tmp_path: Path, key: str, value: str
) -> None:
    (tmp_path / "wavedeck.toml").write_text(_toml_for(key, value))
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path, environ={})
    assert f"wavedeck.toml: {key}:" in str(caught.value)


@pytest.mark.parametrize("value", ["inf", "nan", "Infinity"])
def test_infinite_seconds_from_a_variable_name_it(tmp_path: Path, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path, environ={"WAVEDECK_GIT__HOOK_TIMEOUT_S": value})
    assert "WAVEDECK_GIT__HOOK_TIMEOUT_S: git.hook_timeout_s: Input should be a finite" in str(
        caught.value
    )


def test_a_deeply_nested_toml_value_names_its_line_and_key(tmp_path: Path) -> None:
    deep = "[" * DEEP + "]" * DEEP
    (tmp_path / "wavedeck.toml").write_text(f'plan = "x.md"\n[agent]\nextra_args = {deep}\n')
    with pytest.raises(ConfigError, match=r"wavedeck\.toml:3: extra_args: nested more than"):
        load_config(tmp_path, environ={})


def test_brackets_in_strings_and_comments_are_not_nesting(tmp_path: Path) -> None:
    text = (
        f'plan = "{"[" * 200}.md"  # {"{" * 200}\n'
        f"[agent]\nprompt_template = '''\n{'[' * 200}\n'''\n"
    )
    (tmp_path / "wavedeck.toml").write_text(text)
    config = load_config(tmp_path, environ={})
    assert config.plan == "[" * 200 + ".md"


def test_a_deeply_nested_variable_names_the_variable(tmp_path: Path) -> None:
    deep = "[" * DEEP + "]" * DEEP
    with pytest.raises(ConfigError, match=r"WAVEDECK_POLICY__ACCEPT: policy\.accept: nested 3000"):
        load_config(tmp_path, environ={"WAVEDECK_POLICY__ACCEPT": deep})


def test_a_misspelt_variable_is_refused_with_a_did_you_mean(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path, environ={"WAVEDECK_AGNET__STOP_GRACE_S": "3"})
    message = str(caught.value)
    assert "environment variable WAVEDECK_AGNET__STOP_GRACE_S" in message
    assert "did you mean agent.stop_grace_s?" in message


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "wavedeck.toml")
    with pytest.raises(ConfigError, match="FIFO"):
        load_config(tmp_path, environ={})


def _repo(folder: Path) -> Path:
    folder.mkdir()
    git(folder, "init", "-q", "-b", "main")
    git(
        folder,
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@e",
        "commit",
        "-q",
        "--allow-empty",
        "-m",
        "x",
    )
    return folder


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("deep", "extra_args: nested more than"),
        ("fifo", "FIFO"),
        ("inf", "git.hook_timeout_s: Input should be a finite number"),
        ("variable", "WAVEDECK_AGNET__STOP_GRACE_S: agnet.stop_grace_s: unknown key"),
    ],
)
def test_the_command_exits_2_naming_the_key(tmp_path: Path, case: str, expected: str) -> None:
    repo = _repo(tmp_path / "repo")
    env = {k: v for k, v in os.environ.items() if not k.startswith("WAVEDECK_AGNET")}
    toml = repo / "wavedeck.toml"
    if case == "deep":
        toml.write_text(f"[agent]\nextra_args = {'[' * DEEP}{']' * DEEP}\n")
    elif case == "fifo":
        os.mkfifo(toml)
    elif case == "inf":
        toml.write_text("[git]\nhook_timeout_s = inf\n")
    else:
        env["WAVEDECK_AGNET__STOP_GRACE_S"] = "3"
    done = subprocess.run(
        [sys.executable, "-c", MAIN, "run", "plan.md", "--headless", "--yes"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert expected in done.stderr
    assert "Traceback" not in done.stderr
