"""Source definitions: secrets stay out of URLs, and credentials never name the app's own."""

from __future__ import annotations

import pytest

from ingest.clients import FetchError, credential
from ingest.sources import SourceError, validate

BASE = {"kind": "progress-json", "url": "https://feed.example.go.th/p", "interval_seconds": 60}


@pytest.mark.parametrize(
    "url", ["https://user:pass@feed.example.go.th/p", "https://token@feed.example.go.th/p"]
)
def test_a_url_with_a_user_or_password_is_refused(url: str) -> None:
    with pytest.raises(SourceError, match="url: must not contain a user name or password"):
        validate("s", {**BASE, "url": url})


@pytest.mark.parametrize(
    "env",
    [
        "DATABASE_URL",
        "SECRET_KEY",
        "PINMAP_INGEST_POLL",
        "PINMAP_SECRET_KEY",
        "HOME",
        "pinmap_source_x",
        "INGEST_",
        "PINMAP_SOURCE_A-B",
        "sk-live-123",
    ],
)
def test_a_credential_must_be_a_source_variable(env: str) -> None:
    with pytest.raises(SourceError, match="credentials_env: .*PINMAP_SOURCE_ or INGEST_"):
        validate("s", {**BASE, "credentials_env": env})


@pytest.mark.parametrize("env", ["PINMAP_SOURCE_EMENSCR_TOKEN", "INGEST_OBEC_2567", ""])
def test_source_variables_are_accepted(env: str) -> None:
    assert validate("s", {**BASE, "credentials_env": env})["credentials_env"] == env


def test_a_stored_source_cannot_read_the_apps_secret_at_run_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A row saved before the rule existed is refused before any request is made.
    monkeypatch.setenv("SECRET_KEY", "do-not-send")
    with pytest.raises(FetchError, match="not allowed"):
        credential("SECRET_KEY")
    monkeypatch.setenv("PINMAP_SOURCE_T", "sent")
    assert credential("PINMAP_SOURCE_T") == "sent"


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"max_bytes": "lots"}, "options.max_bytes"),
        ({"request_timeout": 0}, "options.request_timeout"),
        ({"retry_delay": 0}, "options.retry_delay"),
        ({"retry_delay": 0.001}, "options.retry_delay"),
        ({"retry_delay": 61}, "options.retry_delay"),
        ({"retry_delay": True}, "options.retry_delay"),
        ({"retry_delay": "0.1"}, "options.retry_delay"),
    ],
)
def test_fetch_options_are_checked(options: dict[str, object], field: str) -> None:
    with pytest.raises(SourceError, match=field):
        validate("s", {**BASE, "options": options})


@pytest.mark.parametrize("delay", [0.01, 0.2, 60])
def test_a_source_may_set_its_retry_delay(delay: float) -> None:
    assert (
        validate("s", {**BASE, "options": {"retry_delay": delay}})["options"]["retry_delay"]
        == delay
    )
