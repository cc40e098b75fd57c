"""Sending one e-mail through the configured SMTP server (smtplib), and nothing more.

A thin sender on purpose: callers build the message text (in the reader's language) and decide
what to do when sending fails; queueing, retries and notifications belong above this module.
It reads the PINMAP_SMTP_* settings from the Flask config mapping but imports no Flask.
Addresses must have an ASCII local part (no SMTPUTF8); others are a MailError like any refusal.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any


class MailError(Exception):
    """The message could not be handed to the SMTP server (refused, unreachable, timed out)."""


@dataclass(frozen=True)
class MailSettings:
    host: str
    port: int
    security: str  # "starttls", "ssl" or "none"
    user: str
    password: str
    sender: str
    timeout: float

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> MailSettings | None:
        """The settings, or None when no SMTP host is configured (mail is off)."""
        host = str(config.get("PINMAP_SMTP_HOST") or "")
        if not host:
            return None
        return cls(
            host=host,
            port=int(config.get("PINMAP_SMTP_PORT", 587)),
            security=str(config.get("PINMAP_SMTP_SECURITY", "starttls")),
            user=str(config.get("PINMAP_SMTP_USER") or ""),
            password=str(config.get("PINMAP_SMTP_PASSWORD") or ""),
            sender=str(config.get("PINMAP_MAIL_FROM") or "pinmap@localhost"),
            timeout=float(config.get("PINMAP_SMTP_TIMEOUT", 10)),
        )


def build_message(sender: str, to: str, subject: str, text: str) -> EmailMessage:
    """A plain-text UTF-8 message; header values are checked by the email package (a CR or LF
    in an address or subject is refused, so no header can be injected)."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = Address(addr_spec=to)
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "localhost")
    msg.set_content(text, charset="utf-8")
    return msg


def send_mail(settings: MailSettings, to: str, subject: str, text: str) -> None:
    """Hand one message to the SMTP server, or raise MailError."""
    try:
        msg = build_message(settings.sender, to, subject, text)
    except (ValueError, IndexError) as exc:  # a malformed address or header value
        raise MailError(f"malformed message: {exc}") from exc
    try:
        smtp: smtplib.SMTP
        if settings.security == "ssl":
            smtp = smtplib.SMTP_SSL(
                settings.host,
                settings.port,
                timeout=settings.timeout,
                context=ssl.create_default_context(),
            )
        else:
            smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
        with smtp:
            if settings.security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if settings.user:
                smtp.login(settings.user, settings.password)
            smtp.send_message(msg)
    except (OSError, smtplib.SMTPException) as exc:
        raise MailError(str(exc)) from exc
