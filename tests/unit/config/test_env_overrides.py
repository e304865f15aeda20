"""``WAVEDECK_`` variables override ``wavedeck.toml`` key by key; bad values and misspelt keys are
refused with the variable or the key named, and a "did you mean" (issue #12, items 8 and 9)."""

from __future__ import annotations

from pathlib import Path

import pytest

from wavedeck.agents.configread import ConfigError, load_config


def _write(folder: Path, text: str) -> Path:
    (folder / "wavedeck.toml").write_text(text, encoding="utf-8")
    return folder


def test_a_variable_overrides_one_key_of_a_table_the_file_has(tmp_path: Path) -> None:
    repo = _write(tmp_path, '[agent]\nstop_grace_s = 3\nprompt = "stdin"\n')
    config = load_config(repo, environ={"WAVEDECK_AGENT__STOP_GRACE_S": "5"})
    assert config.agent.stop_grace_s == 5.0
    assert config.agent.prompt == "stdin"  # the rest of [agent] is kept


def test_nested_tables_top_level_keys_and_json_values(tmp_path: Path) -> None:
    repo = _write(tmp_path, '[agent.restart]\nmax_restarts = 7\n[policy]\naccept = ["a/**"]\n')
    config = load_config(
        repo,
        environ={
            "WAVEDECK_AGENT__RESTART__ENABLED": "true",
            "WAVEDECK_PLAN": "plans/x.md",
            "WAVEDECK_POLICY__ACCEPT": '["b/**", "c"]',
        },
    )
    assert config.agent.restart.enabled is True and config.agent.restart.max_restarts == 7
    assert config.plan == "plans/x.md"
    assert config.policy.accept == ["b/**", "c"]


def test_variables_that_are_not_settings_are_left_alone(tmp_path: Path) -> None:
    # wavedeck hands these to its agents; an agent running wavedeck must not be refused.
    environ = {"WAVEDECK_AGENT_ID": "w1-a1", "WAVEDECK_WAVE": "1", "WAVEDECK_REQUIRE_SSHD": "1"}
    assert load_config(tmp_path, environ=environ).agent.stop_grace_s == 10.0


def test_a_bad_value_names_the_variable_even_when_the_file_has_the_table(tmp_path: Path) -> None:
    repo = _write(tmp_path, "[agent]\nstop_grace_s = 3\n")
    with pytest.raises(ConfigError) as caught:
        load_config(repo, environ={"WAVEDECK_AGENT__STOP_GRACE_S": "abc"})
    message = str(caught.value)
    assert "WAVEDECK_AGENT__STOP_GRACE_S" in message and "agent.stop_grace_s" in message


def test_bad_json_in_a_variable_is_refused_with_its_name(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="WAVEDECK_POLICY__ACCEPT: not valid JSON"):
        load_config(tmp_path, environ={"WAVEDECK_POLICY__ACCEPT": "[oops"})


def test_the_process_environment_is_read_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = _write(tmp_path, "[agent]\nstop_grace_s = 3\n")
    monkeypatch.setenv("WAVEDECK_AGENT__STOP_GRACE_S", "7")
    assert load_config(repo).agent.stop_grace_s == 7.0


@pytest.mark.parametrize(
    ("toml", "key", "suggestion"),
    [
        ("[agent]\nretsart = {}\n", "agent.retsart", "agent.restart"),
        ("[agent]\nstop_grace = 1\n", "agent.stop_grace", "agent.stop_grace_s"),
        ('[hosts.box]\naddress = "h"\nworkdir = "/w"\nagnets = []\n', "hosts.box.agnets", None),
        ("plna = 'x'\n", "plna", "plan"),
    ],
)
def test_an_unknown_key_gets_a_did_you_mean(
    tmp_path: Path, toml: str, key: str, suggestion: str | None
) -> None:
    repo = _write(tmp_path, toml)
    with pytest.raises(ConfigError) as caught:
        load_config(repo, environ={})
    message = str(caught.value)
    assert f"wavedeck.toml: {key}: unknown key" in message
    expected = suggestion or "hosts.box.agents"
    assert f"did you mean {expected}?" in message


def test_an_unknown_key_from_a_variable_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path, environ={"WAVEDECK_AGENT__STOPGRACE_S": "1"})
    assert "environment variable WAVEDECK_AGENT__STOPGRACE_S" in str(caught.value)
    assert "did you mean agent.stop_grace_s?" in str(caught.value)


def test_command_runs_with_the_generic_preset_or_when_set_by_file_or_variable(
    tmp_path: Path,
) -> None:
    """``runs_command``: the one test of "``[agent] command`` replaces the preset's argv"."""
    assert load_config(_write(tmp_path, "")).agent.runs_command  # generic is the default
    claude = load_config(_write(tmp_path, '[agent]\npreset = "claude"\n'))
    assert not claude.agent.runs_command  # the default command is not a choice
    mine = '[agent]\npreset = "claude"\ncommand = ["mine"]\n'
    assert load_config(_write(tmp_path, mine)).agent.runs_command
    by_variable = load_config(
        _write(tmp_path, '[agent]\npreset = "claude"\n'),
        environ={"WAVEDECK_AGENT__COMMAND": '["mine"]'},
    )
    assert by_variable.agent.runs_command
