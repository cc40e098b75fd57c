"""A real SMTP server for tests (aiosmtpd on the loopback), and the settings that point the app
at it. Messages are kept as parsed email.message objects, in order of arrival."""

from __future__ import annotations

import email
import email.policy
import re
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any, cast

import pytest
from aiosmtpd.controller import Controller


@dataclass
class Inbox:
    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    def config(self, base_url: str = "http://pinmap.test") -> dict[str, Any]:
        """Flask config that makes the app mail through this server (plain SMTP, no login)."""
        return {
            "PINMAP_SMTP_HOST": "127.0.0.1",
            "PINMAP_SMTP_PORT": self.port,
            "PINMAP_SMTP_SECURITY": "none",
            "PINMAP_SMTP_USER": "",
            "PINMAP_MAIL_FROM": "pinmap@obec.go.th",
            "PINMAP_SMTP_TIMEOUT": 10.0,
            "PINMAP_BASE_URL": base_url,
        }

    def wait_for(self, count: int, timeout: float = 10) -> list[EmailMessage]:
        """The first `count` messages, once that many have arrived."""
        with self.arrived:
            assert self.arrived.wait_for(lambda: len(self.messages) >= count, timeout), (
                f"{len(self.messages)} messages arrived, {count} expected"
            )
            return self.messages[:count]

    def link(self, message: EmailMessage) -> str:
        body = message.get_body(("plain",))
        assert body is not None
        found = re.search(r"https?://\S+", body.get_content())
        assert found, body.get_content()
        return found.group(0)


class _Handler:
    def __init__(self, inbox: Inbox) -> None:
        self.inbox = inbox

    # aiosmtpd calls handle_<COMMAND> by the SMTP verb's name.
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = cast(
            EmailMessage, email.message_from_bytes(envelope.content, policy=email.policy.default)
        )
        with self.inbox.arrived:
            self.inbox.messages.append(message)
            self.inbox.arrived.notify_all()
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    """A running SMTP server; stopped after the test."""
    box = Inbox(port=_free_port())
    controller = Controller(_Handler(box), hostname="127.0.0.1", port=box.port)
    controller.start()  # returns once the server answers
    try:
        yield box
    finally:
        controller.stop()
