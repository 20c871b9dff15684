"""Settings: one typed object read from the environment and `.env` (the environment wins), the
documented `.env.example` generated from it, wrong values refused with the variable's name."""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from conftest import REPO

from retrieval.errors import ConfigError, TrolyaoError
from retrieval.settings import Settings, env_example


def test_env_example_is_generated_from_the_settings():
    assert (REPO / ".env.example").read_text(encoding="utf-8") == env_example(), \
        "regenerate it: python -m retrieval.settings > .env.example"
    documented = re.findall(r"^#? ?([A-Z][A-Z_]+)=", env_example(), flags=re.M)
    assert documented == [f.validation_alias for f in Settings.model_fields.values()]


def test_the_environment_wins_over_the_env_file_and_values_are_typed(tmp_path, monkeypatch):
    env_file = tmp_path / ".env"
    env_file.write_text("TROLYAO_PORT=9000\nTROLYAO_RASA_TIMEOUT=2.5\nTROLYAO_TODAY=2024-05-29\n"
                        "TELEGRAM_BOT_TOKEN=\nTROLYAO_INDEX=~/idx\n", encoding="utf-8")
    monkeypatch.setenv("TROLYAO_ENV_FILE", str(env_file))
    monkeypatch.setenv("TROLYAO_PORT", "9100")
    settings = Settings.load()
    assert settings.port == 9100 and settings.rasa_timeout_s == 2.5
    assert settings.today == dt.date(2024, 5, 29)
    assert settings.telegram_bot_token is None and not settings.telegram_enabled   # empty keeps the default
    assert settings.index_dir == Path.home() / "idx"


def test_no_env_file_is_read_when_told_so(tmp_path, monkeypatch):
    (tmp_path / ".env").write_text("TROLYAO_PORT=9000\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TROLYAO_ENV_FILE", "")
    assert Settings.load().port == 8080


def test_data_paths_follow_xdg_data_home_unless_set(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    settings = Settings.load()
    assert settings.index_dir == tmp_path / "trolyao" / "index"
    assert settings.feedback_path == tmp_path / "trolyao" / "feedback.sqlite3"
    monkeypatch.setenv("TROLYAO_FEEDBACK", str(tmp_path / "f.sqlite3"))
    assert Settings.load().feedback_path == tmp_path / "f.sqlite3"


@pytest.mark.parametrize("variable, value", [("TROLYAO_PORT", "tám nghìn"), ("TROLYAO_TODAY", "29/5/2024"),
                                             ("TROLYAO_RASA_TIMEOUT", "nhanh")])
def test_a_wrong_value_is_a_config_error_naming_the_variable(monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError, match=f"^{variable}=") as raised:
        Settings.load()
    assert isinstance(raised.value, TrolyaoError)


def test_no_module_reads_a_setting_from_the_environment_itself():
    readers = []
    for path in [*REPO.glob("retrieval/**/*.py"), *REPO.glob("actions/*.py"), *REPO.glob("bot/**/*.py")]:
        if path.name == "settings.py":
            continue
        text = path.read_text(encoding="utf-8")
        if re.search(r"os\.(?:environ\.get|getenv)\(|os\.environ\[[\"'](?:TROLYAO|TELEGRAM|ZALO|XDG)", text):
            readers.append(str(path.relative_to(REPO)))
    assert readers == []
