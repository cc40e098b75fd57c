"""Cleaning user-supplied rich text against an allowlist before it is stored or shown."""

from __future__ import annotations

import nh3

ALLOWED_TAGS = {"p", "br", "strong", "b", "em", "i", "u", "ul", "ol", "li", "a", "blockquote"}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}
ALLOWED_SCHEMES = {"http", "https", "mailto"}


def clean_html(text: str, *, max_length: int = 10_000) -> str:
    """Keep only simple formatting; links get rel=noopener noreferrer nofollow."""
    cleaned = nh3.clean(
        text[: max_length * 2],
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=ALLOWED_SCHEMES,
        link_rel="noopener noreferrer nofollow",
    )
    return cleaned.strip()


def clean_text(text: str, *, max_length: int = 1_000) -> str:
    """Plain text: control characters dropped, whitespace trimmed. Escaping happens on output."""
    kept = "".join(ch for ch in text if ch in "\n\t" or ch.isprintable())
    return kept.strip()[:max_length]
