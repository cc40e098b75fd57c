"""Settings come from the environment, and from files `make run` writes under var/."""

from pathlib import Path

from pinmap.config import from_env


def test_secret_key_is_shared_through_var_when_not_set(tmp_path: Path) -> None:
    (tmp_path / "secret_key").write_text("k" * 64 + "\n")
    (tmp_path / "db.url").write_text("postgresql+psycopg://a:b@127.0.0.1:1/x\n")
    config = from_env({"PINMAP_VAR_DIR": str(tmp_path)})
    # Every worker reads the same key, so a session signed by one verifies in the others.
    assert config["SECRET_KEY"] == "k" * 64
    assert config["SQLALCHEMY_URL"] == "postgresql+psycopg://a:b@127.0.0.1:1/x"


def test_environment_wins_over_files(tmp_path: Path) -> None:
    (tmp_path / "secret_key").write_text("from-file")
    config = from_env(
        {
            "PINMAP_VAR_DIR": str(tmp_path),
            "SECRET_KEY": "from-env",
            "DATABASE_URL": "postgresql+psycopg://u@h/d",
        }
    )
    assert config["SECRET_KEY"] == "from-env"
    assert config["SQLALCHEMY_URL"] == "postgresql+psycopg://u@h/d"


def test_without_either_each_process_makes_one_up(tmp_path: Path) -> None:
    a = from_env({"PINMAP_VAR_DIR": str(tmp_path)})["SECRET_KEY"]
    b = from_env({"PINMAP_VAR_DIR": str(tmp_path)})["SECRET_KEY"]
    assert a and b and a != b
