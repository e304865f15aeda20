"""``wavedeck audit`` of the three real waves (the skeleton's commits touch the same paths as the
real checkpoint commits). Expected findings worked out by hand from ``waves/waveN.name-status``
and the reference plan's Files lists."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from wavedeck.agents.tools.audit import AuditError, audit, changed_paths, parse_name_status
from wavedeck.plan.models import Plan
from wavedeck.plan.reading.loader import load_plan

Z = "packages/headless-client/zajel/"
HT = "packages/headless-client/tests/unit/"
CF = "packages/server/"
VPS = "packages/server-vps/"
WEB = "packages/website/"

# (path, code, agents) for every changed path the wave's plan does not give to an agent.
EXPECTED = {
    1: {
        ("package-lock.json", "audit-unowned", None),  # the root lockfile: nobody's package
        (HT + "test_cli_protocol.py", "audit-unowned", ("w1-a1", "w1-a2")),
        (Z + "cli/daemon.py", "audit-unowned", ("w1-a1", "w1-a2")),  # plan says daemon.py
        (Z + "cli/protocol.py", "audit-unowned", ("w1-a1", "w1-a2")),
        (VPS + "src/constants.ts", "audit-undeclared", ("w1-a4",)),
        (CF + "src/cors.js", "audit-undeclared", ("w1-a3",)),  # new files in the package
        (CF + "src/crypto/timing-safe.js", "audit-undeclared", ("w1-a3",)),
        (CF + "src/rate-limiter.js", "audit-undeclared", ("w1-a3",)),
        (CF + "src/utils/request-validation.js", "audit-undeclared", ("w1-a3",)),
        (CF + "tests/e2e/attestation.test.js", "audit-undeclared", ("w1-a3",)),
        (CF + "tests/e2e/bootstrap.test.js", "audit-undeclared", ("w1-a3",)),
        (CF + "tests/e2e/integration.test.js", "audit-undeclared", ("w1-a3",)),
        (CF + "tests/unit/signing.test.js", "audit-undeclared", ("w1-a3",)),
        (WEB + "package.json", "audit-undeclared", ("w1-a5",)),
        (WEB + "public/_headers", "audit-undeclared", ("w1-a5",)),  # plan says app/public/
    },
    2: {
        (HT + "test_channels.py", "audit-unowned", ("w2-a1", "w2-a2")),
        (Z + "cli/daemon.py", "audit-unowned", ("w2-a1", "w2-a2")),
        (Z + "crypto.py", "audit-other-wave", ("w1-a1", "w3-a2")),  # no wave-2 agent has it
        (VPS + "src/constants.ts", "audit-undeclared", ("w2-a4",)),
        (VPS + "src/crypto/secure-random.ts", "audit-undeclared", ("w2-a4",)),
        (WEB + "app/styles/fonts.css", "audit-undeclared", ("w2-a5",)),
        (WEB + "public/fonts/NotoSansArabic-Latin.woff2", "audit-undeclared", ("w2-a5",)),
        (WEB + "public/fonts/NotoSansArabic-Regular.woff2", "audit-undeclared", ("w2-a5",)),
    },
    3: {
        (HT + "test_cli_protocol.py", "audit-unowned", ("w3-a1", "w3-a2")),
        (Z + "cli/client.py", "audit-unowned", ("w3-a1", "w3-a2")),
        (Z + "cli/protocol.py", "audit-unowned", ("w3-a1", "w3-a2")),
        (VPS + "tests/integration/bootstrap-client.test.ts", "audit-undeclared", ("w3-a4",)),
        (VPS + "tests/integration/federation.test.ts", "audit-undeclared", ("w3-a4",)),
        (VPS + "tests/integration/real-server.test.ts", "audit-undeclared", ("w3-a4",)),
        (CF + "src/cors.js", "audit-undeclared", ("w3-a3",)),  # wave 1's new file, never declared
        (CF + "src/crypto/attestation.js", "audit-other-wave", ("w1-a3", "w2-a3")),
        (CF + "tests/unit/attestation-crypto.test.js", "audit-undeclared", ("w3-a3",)),
        (WEB + "vite.config.ts", "audit-undeclared", ("w3-a5",)),  # plan says app/vite.config.ts
    },
}
CHANGED = {1: 29, 2: 23, 3: 26}
RANGES = {1: "base..wave1", 2: "wave1..wave2", 3: "wave2..wave3"}


@pytest.fixture(scope="module")
def plan(reference_plan_path: Path) -> Plan:
    return load_plan(reference_plan_path).plan


@pytest.mark.parametrize("wave", [1, 2, 3])
def test_audit_of_each_real_wave(
    plan: Plan, zajel_repo: tuple[Path, dict[str, str]], wave: int
) -> None:
    report = audit(plan, wave, zajel_repo[0], RANGES[wave])
    assert len(report.entries) == CHANGED[wave]
    got = {(f.path, f.code, f.agents) for f in report.findings}
    assert got == EXPECTED[wave]
    assert all(f.level == "error" for f in report.findings)
    # Declared paths report nothing, and every other changed path was classified owned.
    reported = {f.path for f in report.findings}
    owned = {e.change.path for e in report.entries if e.ownership.kind == "owned"}
    assert owned.isdisjoint(reported)
    assert owned | reported == {e.change.path for e in report.entries}
    assert not report.clean


def test_declared_paths_report_nothing(plan: Plan, zajel_repo: tuple[Path, dict[str, str]]) -> None:
    # In wave 1, channels.py is w1-a1's and signaling.py is w1-a2's: both changed, both silent.
    report = audit(plan, 1, zajel_repo[0], "base..wave1")
    kinds = {e.change.path: (e.ownership.kind, e.ownership.agent) for e in report.entries}
    assert kinds[Z + "channels.py"] == ("owned", "w1-a1")
    assert kinds[Z + "signaling.py"] == ("owned", "w1-a2")
    assert kinds["packages/server-vps/src/client/handler.ts"] == ("owned", "w1-a4")


def test_policy_accepts_and_records(plan: Plan, zajel_repo: tuple[Path, dict[str, str]]) -> None:
    report = audit(
        plan,
        1,
        zajel_repo[0],
        "base..wave1",
        accept=["**/tests/**", "package-lock.json", "package.json"],
        accept_undeclared=True,
    )
    # Left: the two headless cli/ files no single agent can own.
    assert {f.path for f in report.findings if f.level == "error"} == {
        Z + "cli/daemon.py",
        Z + "cli/protocol.py",
    }
    assert report.accepted["package-lock.json"] == "policy accept 'package-lock.json'"
    assert report.accepted[HT + "test_cli_protocol.py"] == "policy accept '**/tests/**'"
    assert report.accepted[CF + "src/cors.js"] == "undeclared, attributed to w1-a3"
    assert len(report.accepted) == 13
    assert {f.code for f in report.findings if f.level == "warning"} == {"audit-accepted"}


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from wavedeck.tui.cli.main import main; main()", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.slow
def test_cli_text_json_and_exit_codes(
    reference_plan_path: Path, zajel_repo: tuple[Path, dict[str, str]]
) -> None:
    repo = zajel_repo[0]
    plan = str(reference_plan_path)
    root = Path(__file__).resolve().parents[3]
    done = _cli("audit", plan, "--repo", str(repo), "--wave", "2", "wave1..wave2", cwd=root)
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 8
    assert f"{plan}:101: error[audit-other-wave]: {Z}crypto.py (M) in wave 2" in done.stdout
    assert all(line.startswith(f"{plan}:") for line in lines)
    done = _cli(
        "audit", plan, "--repo", str(repo), "--wave", "3", "wave2..wave3", "--json", cwd=root
    )
    data = json.loads(done.stdout)
    assert (data["errors"], data["warnings"], data["changed"]) == (10, 0, 26)
    assert {f["code"] for f in data["findings"]} == {
        "audit-unowned",
        "audit-undeclared",
        "audit-other-wave",
    }
    # A policy in the repo's wavedeck.toml that accepts everything left: exit 0.
    (repo / "wavedeck.toml").write_text(
        '[policy]\naccept = ["**/tests/**", "packages/headless-client/zajel/cli/*", '
        '"attestation.js"]\n'
        "accept_undeclared = true\n"
    )
    try:
        ok = _cli("audit", plan, "--repo", str(repo), "--wave", "3", "wave2..wave3", cwd=root)
        assert ok.returncode == 0, ok.stdout + ok.stderr
        assert "error[" not in ok.stdout
        assert "warning[audit-accepted]" in ok.stdout
        # Without the globs the cli/ files (unowned) and attestation.js (other-wave) fail again.
        (repo / "wavedeck.toml").write_text("[policy]\naccept_undeclared = true\n")
        assert (
            _cli(
                "audit", plan, "--repo", str(repo), "--wave", "3", "wave2..wave3", cwd=root
            ).returncode
            == 1
        )
    finally:
        (repo / "wavedeck.toml").unlink()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--wave", "9", "base..wave1"], "no wave 9"),
        (["--wave", "1", "nope..wave1"], "unknown revision"),
        (["--wave", "1", "--", "--output=/tmp/x"], "not a revision"),
    ],
)
def test_cli_bad_input_exits_2(
    reference_plan_path: Path, zajel_repo: tuple[Path, dict[str, str]], args: list[str], needle: str
) -> None:
    root = Path(__file__).resolve().parents[3]
    done = _cli("audit", str(reference_plan_path), "--repo", str(zajel_repo[0]), *args, cwd=root)
    assert done.returncode == 2
    assert needle in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.slow
def test_cli_bad_plan_and_config(tmp_path: Path, zajel_repo: tuple[Path, dict[str, str]]) -> None:
    root = Path(__file__).resolve().parents[3]
    bad = tmp_path / "bad.md"
    bad.write_bytes(b"# x\n\xff\n")
    done = _cli("audit", str(bad), "--repo", str(zajel_repo[0]), "--wave", "1", "wave1", cwd=root)
    assert done.returncode == 2 and "invalid UTF-8" in done.stderr
    plan = tmp_path / "p.md"
    plan.write_text((Path(__file__).parents[2] / "data/plans/security-waves.md").read_text())
    repo = tmp_path / "r"
    subprocess.run(["git", "init", "-q", str(repo)], check=True, timeout=30)
    (repo / "wavedeck.toml").write_text("[policy]\naccept = 3\n")
    done = _cli("audit", str(plan), "--repo", str(repo), "--wave", "1", "HEAD", cwd=root)
    assert done.returncode == 2 and "policy.accept" in done.stderr


def test_single_commit_renames_and_root(tmp_path: Path) -> None:
    from tests.unit.ownership.skeleton import git

    repo = tmp_path / "r"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "a.py").write_text("x = 1\n" * 20)
    git(repo, "add", "a.py")
    git(repo, "commit", "-q", "-m", "root")
    assert [(c.path, c.status) for c in changed_paths(repo, "HEAD")] == [("a.py", "A")]
    git(repo, "mv", "a.py", "b.py")
    git(repo, "commit", "-q", "-m", "rename")
    (change,) = changed_paths(repo, "HEAD")
    assert (change.path, change.status, change.old_path) == ("b.py", "R", "a.py")
    assert [c.path for c in changed_paths(repo, "HEAD~1...HEAD")] == ["b.py"]
    with pytest.raises(AuditError):
        changed_paths(repo, "-p")
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(AuditError, match="not a git repository"):
        changed_paths(plain, "HEAD")


def test_parse_name_status_odd_names() -> None:
    raw = b"M\x00a b.py\x00R087\x00old\tname\x00new\nname\x00D\x00x\x00"
    got = parse_name_status(raw)
    assert [(c.status, c.path, c.old_path) for c in got] == [
        ("M", "a b.py", None),
        ("R", "new\nname", "old\tname"),
        ("D", "x", None),
    ]
