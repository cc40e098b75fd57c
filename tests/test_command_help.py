"""Every command's --help prints its usage and exits 0, without a database and without starting
anything (`python -m ingest --help` once started the scheduler)."""

from __future__ import annotations

import os
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from pinmap.cli import main
from pinmap.config import PROJECT_ROOT


def _no_database() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}


def _command_paths(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = []
    for name in group.list_commands(click.Context(group)):
        command = group.get_command(click.Context(group), name)
        assert command is not None
        paths.append((*prefix, name))
        if isinstance(command, click.Group):
            paths += _command_paths(command, (*prefix, name))
    return paths


def test_python_m_ingest_help_prints_usage_and_exits() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ingest", "--help"],
        cwd=PROJECT_ROOT,
        env=_no_database(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: python -m ingest")
    assert "PINMAP_INGEST_POLL" in done.stdout
    assert done.stderr == ""  # no log line: the scheduler did not start


def test_pinmap_help_lists_every_command_without_a_database() -> None:
    done = subprocess.run(
        [str(PROJECT_ROOT / ".venv" / "bin" / "pinmap"), "--help"]
        if (PROJECT_ROOT / ".venv" / "bin" / "pinmap").exists()
        else [sys.executable, "-m", "pinmap.cli", "--help"],
        cwd=PROJECT_ROOT,
        env=_no_database(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    for name in ("setup", "db", "data", "boundaries", "users", "tokens", "ingest", "uploads"):
        assert f"  {name} " in done.stdout
    assert done.stderr == ""


@pytest.mark.parametrize("path", _command_paths(main), ids=" ".join)
def test_every_pinmap_command_has_help(
    path: tuple[str, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    result = CliRunner().invoke(main, [*path, "--help"], prog_name="pinmap")
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"Usage: pinmap {' '.join(path)} ")
