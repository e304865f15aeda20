"""The README's ``wavedeck.toml`` example is a valid configuration, with the values it shows."""

from __future__ import annotations

from pathlib import Path

from wavedeck.agents.configread import load_config

README = Path(__file__).resolve().parents[3] / "README.md"


def test_the_readme_configuration_example_loads(tmp_path: Path) -> None:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Configuration") :]
    example = section.split("```toml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "wavedeck.toml").write_text(example, encoding="utf-8")
    config = load_config(tmp_path)
    assert config.agent.stop_grace_s == 10
    assert config.agent.log_max_bytes == 64 * 1024 * 1024 and config.agent.log_keep == 3
    assert config.agent.restart.enabled is False and config.agent.restart.max_restarts == 3
    assert (
        config.agent.restart.backoff_max_s == 30 and config.agent.restart.max_total_restarts == 10
    )
    assert config.tests.timeout_s == 1800
