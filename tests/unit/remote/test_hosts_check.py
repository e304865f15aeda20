"""``wavedeck hosts check``: the real command against the real sshd, one host per failure kind."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.unit.remote.sshkit import Sshd, free_port, keygen, make_clone

pytestmark = [pytest.mark.timeout(90), pytest.mark.sshd]


def host_toml(name: str, values: dict[str, Any]) -> str:
    lines = [f"[hosts.{name}]"]
    for key, value in values.items():
        lines.append(f"{key} = {json.dumps(value)}")
    return "\n".join(lines) + "\n"


def run_check(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "from wavedeck.tui.cli.main import main; main()",
            "hosts",
            "check",
            *args,
        ],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=80,
    )


def base_values(sshd: Sshd, workdir: Path) -> dict[str, Any]:
    cfg = sshd.cfg(workdir, connect_timeout_s=5)
    return {
        "address": cfg.address,
        "port": cfg.port,
        "user": cfg.user,
        "workdir": str(workdir),
        "known_hosts": cfg.known_hosts,
        "client_keys": cfg.client_keys,
        "ssh_config": "",
        "connect_timeout_s": 5,
    }


def test_hosts_check_reports_each_failure_and_exits_1(sshd: Sshd, tmp_path: Path) -> None:
    clone = make_clone(tmp_path / "clone")
    not_clone = tmp_path / "plain"
    not_clone.mkdir()
    empty_kh = tmp_path / "empty_kh"
    empty_kh.write_text("")
    wrong = tmp_path / "wrong"
    keygen(wrong)
    good = base_values(sshd, clone)
    toml = '[agent]\ncommand = ["python3", "-c", "0"]\n\n'
    toml += host_toml("good", good)
    toml += host_toml("newkey", {**good, "known_hosts": str(empty_kh)})
    toml += host_toml("closed", {**good, "port": free_port()})
    toml += host_toml("noauth", {**good, "client_keys": [str(wrong)]})
    toml += host_toml("noclone", {**good, "workdir": str(not_clone)})
    (tmp_path / "wavedeck.toml").write_text(toml)
    res = run_check(tmp_path, "--json")
    assert res.returncode == 1, res.stderr
    data = {h["host"]: h for h in json.loads(res.stdout)["hosts"]}
    assert data["good"]["ok"] and set(data["good"]["steps"].values()) == {"ok"}
    assert data["newkey"]["steps"]["host key"] == "FAIL"
    assert "unknown" in data["newkey"]["problems"][0] and "SHA256:" in data["newkey"]["problems"][0]
    assert data["closed"]["steps"]["reachable"] == "FAIL"
    assert data["noauth"]["steps"]["auth"] == "FAIL"
    assert data["noclone"]["steps"]["clone"] == "FAIL"
    assert not empty_kh.read_text()  # nothing was added

    table = run_check(tmp_path)
    assert table.returncode == 1
    assert table.stdout.splitlines()[0].split()[:3] == ["host", "address", "reachable"]
    assert "noclone: workdir" in table.stdout


def test_hosts_check_all_good_exits_0_and_names_missing_tools(sshd: Sshd, tmp_path: Path) -> None:
    clone = make_clone(tmp_path / "clone")
    toml = '[agent]\ncommand = ["python3"]\n\n' + host_toml("good", base_values(sshd, clone))
    (tmp_path / "wavedeck.toml").write_text(toml)
    res = run_check(tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    toml = '[agent]\ncommand = ["no-such-agent-cli"]\n\n' + host_toml(
        "good", base_values(sshd, clone)
    )
    (tmp_path / "wavedeck.toml").write_text(toml)
    res = run_check(tmp_path, "--json")
    assert res.returncode == 1
    assert json.loads(res.stdout)["hosts"][0]["missing_tools"] == ["no-such-agent-cli"]


@pytest.mark.slow
def test_hosts_check_bad_config_exits_2(tmp_path: Path) -> None:
    (tmp_path / "wavedeck.toml").write_text("[hosts.x]\naddress = 1\n")
    res = run_check(tmp_path)
    assert res.returncode == 2 and "hosts.x" in res.stderr
