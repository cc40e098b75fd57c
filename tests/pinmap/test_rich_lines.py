"""Rich text typed as plain lines keeps its line breaks on every page that shows it."""

from __future__ import annotations

from pinmap.i18n import rich_lines
from pinmap.services.sanitize import clean_html


def test_plain_lines_keep_their_breaks_and_stay_clean() -> None:
    stored = clean_html("บรรทัดแรก\nบรรทัดที่สอง <script>x</script>\r\nบรรทัดที่สาม")
    shown = str(rich_lines(stored))
    assert shown == "บรรทัดแรก<br>\nบรรทัดที่สอง <br>\nบรรทัดที่สาม"
    assert "<script" not in shown


def test_marked_up_text_keeps_its_own_blocks() -> None:
    stored = clean_html("<p>หนึ่ง</p>\n<p>สอง</p>")
    assert str(rich_lines(stored)) == "<p>หนึ่ง</p>\n<p>สอง</p>"
    assert str(rich_lines(None)) == "" and str(rich_lines("")) == ""
