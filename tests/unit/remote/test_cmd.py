"""Command building (A14-A16 at the unit level), exit statuses, line splitting and stream framing."""

from __future__ import annotations

import gzip
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wavedeck.agents.lines import MAX_LINE_BYTES, SPLIT_MARK, LineDecoder
from wavedeck.agents.remote.answers import exit_from_rc
from wavedeck.agents.remote.commands import (
    CommandError,
    RemotePaths,
    check_agent_id,
    check_sha,
    exports,
    join,
    launch_script,
    sh_c,
    workdir_word,
)
from wavedeck.agents.remote.logstream import Unframer
from wavedeck.agents.runtypes import ExitStatus

pytestmark = pytest.mark.timeout(60)

HOSTILE = [
    "x; touch /tmp/wd-pwn",
    "`id`",
    "$(id)",
    "'",
    '"',
    "a\nb",
    "-rf",
    "--",
    "",
    " spaced  ",
    "\\",
    "*",
    "~",
    "ü☃",
    "%s\\0",
]


def through_login_shell(command: str, shell: str = "sh") -> bytes:
    """What a login shell does with an SSH command string: ``$SHELL -c "$command"``."""
    return subprocess.run(
        [shell, "-c", command], capture_output=True, check=True, timeout=10
    ).stdout


@pytest.mark.parametrize("shell", ["sh", "bash", "dash"])
def test_argv_survives_the_login_shell_exactly(shell: str) -> None:
    command = sh_c("printf '%s\\0' " + join(HOSTILE))
    assert command.startswith("sh -c '")
    assert through_login_shell(command, shell).split(b"\0")[:-1] == [a.encode() for a in HOSTILE]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(blacklist_characters="\0", codec="utf-8"))))
def test_any_argv_round_trips(args: list[str]) -> None:
    command = sh_c("printf '%s\\0' x " + join(args) if args else "printf '%s\\0' x")
    out = through_login_shell(command).split(b"\0")[1:-1]
    assert out == [a.encode("utf-8", "surrogateescape") for a in args]


def test_env_names_are_validated_and_values_exact() -> None:
    env = {"A_1": "$(id) `id` 'q'\nnext", "B": ""}
    script = exports(env) + 'printf \'%s\\0\' "$A_1" "$B"'
    assert through_login_shell(sh_c(script)).split(b"\0")[:-1] == [v.encode() for v in env.values()]
    for bad in ("A;B", "X=Y", "A B", "$(id)", "9A", "A\nB", ""):
        with pytest.raises(CommandError):
            exports({bad: "v"})


def test_tokens_with_nul_ids_and_shas_are_refused() -> None:
    with pytest.raises(CommandError):
        join(["a\0b"])
    with pytest.raises(CommandError):
        join([])
    for bad in ("W1-A1", "../x", "a b", "a;b", "", "-x" * 40):
        with pytest.raises(CommandError):
            check_agent_id(bad)
    with pytest.raises(CommandError):
        check_sha("HEAD; rm -rf /")
    with pytest.raises(CommandError):
        RemotePaths("x/../y", "/w").prelude()


def test_workdir_tilde_expands_but_nothing_else_does() -> None:
    out = through_login_shell(sh_c("printf '%s' " + workdir_word("~/r $(id)")))
    assert out.decode().endswith("/r $(id)") and not out.startswith(b"~")
    assert through_login_shell(sh_c("printf '%s' " + workdir_word("/a b"))) == b"/a b"


def test_launch_script_never_puts_the_prompt_in_argv() -> None:
    script = launch_script(
        RemotePaths("w1-a1", "/w"),
        ["agent", "--prompt", "P"],
        {"F": "P"},
        True,
        argv_exprs={2: '"$prompt"'},
        env_exprs={"F": '"$prompt"'},
    )
    assert '--prompt "$prompt"' in script and 'cat > "$prompt.tmp"' in script
    assert 'export F="$prompt"' in script
    with pytest.raises(CommandError):
        launch_script(RemotePaths("w1-a1", "/w"), ["a"], {}, False, argv_exprs={0: "$(id)"})
    with pytest.raises(CommandError):
        exports({"A": "x"}, {"A": "`id`"})


def test_exit_codes_and_signals() -> None:
    assert exit_from_rc(0) == ExitStatus(0)
    assert exit_from_rc(255) == ExitStatus(255)  # not a signal: 127 is none
    assert exit_from_rc(137) == ExitStatus(None, "SIGKILL")
    assert exit_from_rc(143) == ExitStatus(None, "SIGTERM")


def test_line_splitter_counts_bytes_of_complete_lines_only() -> None:
    s = LineDecoder()
    assert s.feed(b"one\ntw") == (["one"], 4)
    assert s.feed(b"o\r\nbar\rbaz\n\xff\xfe\n") == (["two", "baz", "\ufffd\ufffd"], 16)
    assert s.flush() == ([], 0)
    big = b"y" * (MAX_LINE_BYTES * 2 + 10)
    lines, used = s.feed(big)  # no newline yet: bounded pieces are handed out
    assert used == MAX_LINE_BYTES * 2 and all(line.endswith(SPLIT_MARK) for line in lines)
    lines, used = s.feed(b"\nend")
    assert lines == ["y" * 10] and used == 11
    assert s.flush() == (["end"], 3)


def test_unframer_plain_and_gzip_backlog() -> None:
    plain = Unframer()
    assert b"".join([*plain.feed(b"Pabc"), *plain.feed(b"def")]) == b"abcdef"
    z = Unframer()
    payload = b"Z" + gzip.compress(b"line 1\nline 2\n") + b"line 3\n"
    out = b"".join(b"".join(z.feed(payload[i : i + 7])) for i in range(0, len(payload), 7))
    assert out == b"line 1\nline 2\nline 3\n"


def test_runner_for_picks_the_host_by_agent_or_package() -> None:
    from wavedeck.agents.config import Config, HostConfig
    from wavedeck.agents.remote.runner import RemoteRunner, runner_for

    host = HostConfig(address="h", workdir="/w", agents=["w1-a3"], packages=["packages/app/"])
    config = Config(hosts={"box": host})
    cache: dict[str, RemoteRunner] = {}
    first = runner_for("w1-a3", config, cache)
    assert first is not None and first.host == "box"
    assert runner_for("w2-a1", config, cache, package="packages/app") is first  # pooled per host
    assert runner_for("w1-a1", config, cache, package="packages/other") is None


def test_catch_up_compression_modes() -> None:
    from wavedeck.agents.remote.tailscript import tail_script

    paths = RemotePaths("w1-a1", "/w")
    auto = tail_script(paths, 0, 1, 2)
    assert "SSH_CONNECTION" in auto and "z=1048576" in auto  # gzip off for a loopback client
    assert "zstd -1" in auto and "gzip -1" in auto
    assert auto.index("command -v zstd") < auto.index("command -v gzip")  # zstd first
    always = tail_script(paths, 0, 1, 2, "always")
    assert "SSH_CONNECTION" not in always and "gzip -1" in always and "zstd -1" in always
    assert "z=-1" in tail_script(paths, 0, 1, 2, "never")
    with pytest.raises(CommandError):
        tail_script(paths, 0, 1, 2, "sometimes")
