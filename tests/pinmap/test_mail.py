"""pinmap/mail.py against a real SMTP server (aiosmtpd), and the mail settings it reads."""

from __future__ import annotations

import pytest

from pinmap.config import from_env
from pinmap.localdb import free_port
from pinmap.mail import MailError, MailSettings, send_mail

from ..support.mail import Inbox


def test_mail_is_off_without_a_host() -> None:
    assert MailSettings.from_config(from_env({})) is None
    config = from_env({"PINMAP_SMTP_HOST": "smtp.obec.go.th", "PINMAP_SMTP_SECURITY": "ssl"})
    settings = MailSettings.from_config(config)
    assert settings is not None and settings.port == 465 and settings.security == "ssl"
    odd = from_env({"PINMAP_SMTP_HOST": "x", "PINMAP_SMTP_SECURITY": "rot13"})
    assert odd["PINMAP_SMTP_SECURITY"] == "starttls"


def test_a_thai_message_arrives_as_sent(inbox: Inbox) -> None:
    settings = MailSettings.from_config(inbox.config())
    assert settings is not None
    send_mail(settings, "khru@example.go.th", "ตั้งรหัสผ่านใหม่", "สวัสดีครับ\nบรรทัดที่สอง")
    (message,) = inbox.wait_for(1)
    assert message["Subject"] == "ตั้งรหัสผ่านใหม่"
    assert message["From"] == "pinmap@obec.go.th"
    body = message.get_body(("plain",))
    assert body is not None and body.get_content().split() == ["สวัสดีครับ", "บรรทัดที่สอง"]


def test_header_injection_and_unreachable_servers_are_mail_errors(inbox: Inbox) -> None:
    settings = MailSettings.from_config(inbox.config())
    assert settings is not None
    with pytest.raises(MailError):
        send_mail(settings, "a@example.go.th", "hi\r\nBcc: evil@example.com", "x")
    with pytest.raises(MailError):
        send_mail(settings, "a@example.go.th\r\nBcc: evil@example.com", "hi", "x")
    assert inbox.messages == []
    closed = MailSettings.from_config({**inbox.config(), "PINMAP_SMTP_PORT": free_port()})
    assert closed is not None
    with pytest.raises(MailError):
        send_mail(closed, "a@example.go.th", "hi", "x")
