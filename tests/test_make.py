"""The two commands: `make run` and `make test` do what the README promises, in order."""

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def _dry_run(target: str) -> list[str]:
    result = subprocess.run(
        ["make", "--dry-run", "--always-make", target],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout.splitlines()


def _positions(lines: list[str], *needles: str) -> list[int]:
    positions = []
    for needle in needles:
        found = [i for i, line in enumerate(lines) if needle in line]
        assert found, f"{needle!r} is not in the recipe"
        positions.append(found[0])
    return positions


def test_make_run_sets_up_then_starts_worker_beat_and_web_server():
    lines = _dry_run("run")

    positions = _positions(
        lines,
        "pip install",
        "manage.py migrate",
        "manage.py seed_demo",
        "-A bcsite worker",
        "-A bcsite beat",
        "manage.py runserver 127.0.0.1:8000",
    )
    assert positions == sorted(positions)
    # The background processes are stopped when the web server ends.
    assert any("trap" in line and "kill" in line for line in lines)


def test_make_test_lints_then_runs_pytest():
    lines = _dry_run("test")

    positions = _positions(lines, "ruff check .", "ruff format --check .", "bin/pytest")
    assert positions == sorted(positions)
    assert any("apt-get install -y -qq chromium" in line for line in lines)


def test_ci_script_is_valid_bash_and_runs_both_databases():
    script = ROOT / ".ci" / "run"

    subprocess.run(["bash", "-n", str(script)], check=True, timeout=30)
    text = script.read_text()
    assert text.startswith("#!/usr/bin/env bash")
    assert "set -euo pipefail" in text
    assert "\nmake test\n" in text
    assert "DATABASE_URL=postgres://postgres@127.0.0.1:5432/bcsite make test" in text
