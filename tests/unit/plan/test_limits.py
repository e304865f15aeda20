"""Input limits and encodings (reliability matrix D9, D10)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from plan_testkit import comparable, render, small_spec

from wavedeck.plan.errors import PlanError
from wavedeck.plan.reading.loader import MAX_BYTES, MAX_LINE_BYTES, load_plan, parse_plan
from wavedeck.tui.cli.main import main

VALID = render(small_spec())


def write(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "plan.md"
    path.write_bytes(data)
    return path


def refused(tmp_path: Path, data: bytes) -> PlanError:
    path = write(tmp_path, data)
    with pytest.raises(PlanError) as info:
        load_plan(path)
    done = CliRunner().invoke(main, ["plan", "check", str(path)])
    assert done.exit_code == 2
    assert done.stderr.startswith(f"{path}"), done.stderr
    assert "Traceback" not in done.output
    return info.value


def test_over_five_mib_is_refused(tmp_path: Path) -> None:
    data = VALID.encode() + b"\n" + (b"x" * 1000 + b"\n") * (MAX_BYTES // 1000)
    assert len(data) > MAX_BYTES
    err = refused(tmp_path, data)
    assert "5 MiB" in err.message


def test_a_line_over_64_kib_is_refused_with_its_line(tmp_path: Path) -> None:
    data = VALID.encode() + b"\n" + b"y" * (MAX_LINE_BYTES + 1) + b"\n"
    err = refused(tmp_path, data)
    assert err.line == VALID.count("\n") + 2
    assert "64 KiB" in err.message


def test_a_one_megabyte_line_is_refused(tmp_path: Path) -> None:
    err = refused(tmp_path, b"# t\n" + b"z" * 1_000_000)
    assert err.line == 2


def test_multibyte_line_limit_counts_bytes(tmp_path: Path) -> None:
    # 30,000 three-byte characters: under 64 Ki characters but over 64 KiB.
    err = refused(tmp_path, ("é" * 10 + "€" * 30_000).encode())
    assert err.line == 1


def test_invalid_utf8_gives_byte_offset_and_line(tmp_path: Path) -> None:
    data = VALID.encode()
    cut = data.index(b"## Wave 1")
    err = refused(tmp_path, data[:cut] + b"\xff\xfe" + data[cut:])
    assert f"byte offset {cut}" in err.message
    assert err.line == data[:cut].count(b"\n") + 1


def test_nul_is_refused(tmp_path: Path) -> None:
    err = refused(tmp_path, VALID.encode().replace(b"Unsafe eval", b"Unsafe\x00eval"))
    assert "NUL" in err.message
    with pytest.raises(PlanError):
        parse_plan(VALID.replace("Unsafe eval", "Unsafe\x00eval"))


def test_missing_file_and_folder_exit_2(tmp_path: Path) -> None:
    runner = CliRunner()
    for target in (tmp_path / "nope.md", tmp_path):
        done = runner.invoke(main, ["plan", "check", str(target)])
        assert done.exit_code == 2 and "Traceback" not in done.output
        assert done.stderr.strip()
    done = runner.invoke(main, ["plan", "show", str(tmp_path / "nope.md")])
    assert done.exit_code == 2 and "no such file" in done.stderr


def test_bom_and_crlf_are_accepted_with_the_same_lines(tmp_path: Path) -> None:
    plain = load_plan(write(tmp_path, VALID.encode())).plan
    for data in (
        b"\xef\xbb\xbf" + VALID.encode(),
        VALID.replace("\n", "\r\n").encode(),
        VALID.replace("\n", "\r").encode(),
    ):
        other = load_plan(write(tmp_path, data)).plan
        assert comparable(other) == comparable(plain)
        assert [i.line for i in other.issues] == [i.line for i in plain.issues]
        assert other.title == "Small plan"


def test_no_plan_at_all_is_refused() -> None:
    for text in ("", "# Just a title\n\nSome prose.\n", "## Wave 1 — nothing\n\nno agents\n"):
        with pytest.raises(PlanError, match="no waves with agents"):
            parse_plan(text)


def test_deep_nesting_is_bounded() -> None:
    # 10,000 nested quotes and lists: markdown-it-py's nesting cap keeps the parse flat and fast.
    for prefix in (">" * 10_000, "- " * 10_000):
        with pytest.raises(PlanError):
            parse_plan(prefix + " x\n")
        result = parse_plan(VALID + "\n" + prefix + " x\n")
        assert len(result.plan.issues) == 4


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_many_rows_parse_in_bounded_time() -> None:
    rows = "".join(f"| {i} | r-{i} | HIGH | s |\n" for i in range(1, 5_001))
    text = (
        "# P\n\n## Wave 1\n\n### Agent 1: A\n**Package**: `a/`\n**Files**: `a.py`\n"
        "| Order | Issue | Severity | Summary |\n|---|---|---|---|\n" + rows
    )
    assert len(parse_plan(text).plan.issues) == 5_000


@pytest.mark.timeout(20)
def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "plan.md"
    os.mkfifo(fifo)
    with pytest.raises(PlanError, match="not a regular file"):
        load_plan(fifo)
