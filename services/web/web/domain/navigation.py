"""Return URLs after sign-in: same-site paths only (never another host, scheme or protocol-relative URL)."""

from __future__ import annotations

from urllib.parse import urlsplit

FAMILY_HOME = "/family"


def safe_return_path(candidate: str | None, *, default: str = FAMILY_HOME) -> str:
    """`candidate` if it is a path on this site under /family (with its query), else `default`."""
    if not candidate or len(candidate) > 500:
        return default
    if not candidate.startswith("/") or candidate.startswith(("//", "/\\")) or "\\" in candidate:
        return default
    if any(ord(ch) < 0x20 or ch == "\x7f" for ch in candidate):
        return default
    parts = urlsplit(candidate)
    if parts.scheme or parts.netloc:
        return default
    if parts.path != FAMILY_HOME and not parts.path.startswith(FAMILY_HOME + "/"):
        return default
    if parts.path.startswith("/family/sign-in") or parts.path.startswith("/family/sign-out"):
        return default
    return parts.path + (f"?{parts.query}" if parts.query else "")


def safe_language_return(candidate: str | None) -> str:
    """After switching language: back to the same page on this site, whatever it was."""
    if not candidate or not candidate.startswith("/") or candidate.startswith(("//", "/\\")) or "\\" in candidate:
        return "/"
    parts = urlsplit(candidate)
    if parts.scheme or parts.netloc or any(ord(ch) < 0x20 for ch in candidate):
        return "/"
    return parts.path + (f"?{parts.query}" if parts.query else "")
