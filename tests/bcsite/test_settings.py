"""Settings come from the environment through strict readers: a bad value stops start-up."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from bcsite.env import env_bool, env_int, env_list, env_str, local_secret_key

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("raw", ["true", "True", "1", "yes", "ON", " true "])
def test_env_bool_reads_true(monkeypatch, raw):
    monkeypatch.setenv("FLAG", raw)
    assert env_bool("FLAG", False) is True


@pytest.mark.parametrize("raw", ["false", "False", "0", "no", "OFF"])
def test_env_bool_reads_false(monkeypatch, raw):
    monkeypatch.setenv("FLAG", raw)
    assert env_bool("FLAG", True) is False


@pytest.mark.parametrize("raw", ["maybe", "2", "truthy", "y"])
def test_env_bool_refuses_anything_else(monkeypatch, raw):
    monkeypatch.setenv("FLAG", raw)
    with pytest.raises(ImproperlyConfigured, match="FLAG must be true or false"):
        env_bool("FLAG", False)


@pytest.mark.parametrize("default", [True, False])
def test_env_bool_unset_or_empty_is_the_default(monkeypatch, default):
    monkeypatch.delenv("FLAG", raising=False)
    assert env_bool("FLAG", default) is default
    monkeypatch.setenv("FLAG", "")
    assert env_bool("FLAG", default) is default


def test_env_int(monkeypatch):
    monkeypatch.setenv("N", "42")
    assert env_int("N", 1) == 42
    monkeypatch.delenv("N")
    assert env_int("N", 7) == 7


@pytest.mark.parametrize("raw", ["forty", "1.5", "10s"])
def test_env_int_refuses_non_integers(monkeypatch, raw):
    monkeypatch.setenv("N", raw)
    with pytest.raises(ImproperlyConfigured, match="N must be an integer"):
        env_int("N", 1)


def test_env_list_splits_on_commas_and_drops_blanks(monkeypatch):
    monkeypatch.setenv("HOSTS", " a.example , b.example,, ")
    assert env_list("HOSTS", ["x"]) == ["a.example", "b.example"]
    monkeypatch.delenv("HOSTS")
    assert env_list("HOSTS", ["x"]) == ["x"]


def test_env_str_default(monkeypatch):
    monkeypatch.delenv("NAME", raising=False)
    assert env_str("NAME", "fallback") == "fallback"
    monkeypatch.setenv("NAME", "given")
    assert env_str("NAME", "fallback") == "given"


def test_local_secret_key_is_made_once_and_kept(tmp_path):
    path = tmp_path / "secret_key"
    first = local_secret_key(path)
    assert len(first) >= 50
    assert local_secret_key(path) == first
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]


def _load_settings(**env):
    """Import the settings in a fresh interpreter, as start-up does."""
    environ = {k: v for k, v in os.environ.items() if k != "DEBUG"}
    environ.update(env)
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import bcsite.settings as s; print(s.DEBUG, s.DATABASES['default']['ENGINE'])",
        ],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_settings_refuse_a_bad_boolean_at_start_up(tmp_path):
    result = _load_settings(DEBUG="maybe", BCSITE_VAR_DIR=str(tmp_path))
    assert result.returncode != 0
    assert "DEBUG must be true or false, not 'maybe'" in result.stderr


def test_settings_read_database_url_and_debug(tmp_path):
    result = _load_settings(
        DEBUG="true",
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/whatever",
        BCSITE_VAR_DIR=str(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "django.db.backends.postgresql"]
