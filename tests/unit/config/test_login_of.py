"""``Config.login_of``: which ``[hosts.*]`` names are one login (one CLI state, one start lane)."""

from __future__ import annotations

import pytest

from wavedeck.agents.config import Config, HostConfig

pytestmark = pytest.mark.timeout(10)


def config(**hosts: tuple[str, int, str | None]) -> Config:
    return Config(
        hosts={
            name: HostConfig(address=address, port=port, user=user, workdir=f"/w/{name}")
            for name, (address, port, user) in hosts.items()
        }
    )


def test_names_with_one_address_port_and_user_are_one_login() -> None:
    cfg = config(
        box=("build.example", 22, "ci"),
        box2=("BUILD.example", 22, "ci"),  # another workdir, another name: the same login
        other_port=("build.example", 2222, "ci"),
        other_user=("build.example", 22, "ops"),
        default_user=("build.example", 22, None),
    )
    assert cfg.login_of("box") == cfg.login_of("box2") == "box"
    assert cfg.login_of("other_port") == "other_port"
    assert cfg.login_of("other_user") == "other_user"
    assert cfg.login_of("default_user") == "default_user"


def test_this_machine_and_an_unknown_name_stay_as_they_are() -> None:
    cfg = config(box=("build.example", 22, "ci"))
    assert cfg.login_of(None) is None
    assert cfg.login_of("gone") == "gone"
