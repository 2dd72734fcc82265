"""The SMTP provider's header policy (OneLineHeaders) writes exactly the bytes compat32 writes."""

from __future__ import annotations

import io
import random
import string
from email.generator import BytesGenerator
from email.policy import compat32

import pytest

from notify.domain.models import Notification
from notify.providers.smtp import POLICY, SmtpProvider, new_boundary
from tas_common.db import utcnow

from .helpers import EMAIL


def email_notification(**values) -> Notification:
    """A family email as notify queues one; `values` override the defaults."""
    now = utcnow()
    return Notification(**EMAIL | {"created_at": now, "updated_at": now} | values)


def flatten(message, policy) -> bytes:
    out = io.BytesIO()
    BytesGenerator(out, policy=policy).flatten(message, linesep="\r\n")
    return out.getvalue()


@pytest.mark.parametrize(
    ("subject", "language"),
    [
        ("The school has asked for support", "en"),
        ("Mae'r ysgol wedi gofyn am gymorth — ŵ ŷ â", "cy"),  # non-ASCII: RFC 2047 through compat32's Header
        ("A subject long enough that compat32 has to fold it onto a second line of the header block " * 2, "en"),
        ("  spaces   inside and around  ", "en"),
    ],
)
def test_a_message_flattens_to_the_same_bytes_as_with_compat32(subject, language):
    n = email_notification(
        language=language,
        subject=subject,
        body="Dear parent or carer,\n\nSee https://tas.example.org/family\n\nTAS — ŵ",
    )
    message = SmtpProvider(host="127.0.0.1", port=1, sender="TAS <no-reply@tas.example.org>").build(n)
    message.set_boundary("boundary-for-the-test")
    assert flatten(message, POLICY) == flatten(message, compat32)


def test_one_line_headers_fold_as_compat32_does():
    rng = random.Random(8)
    alphabet = string.ascii_letters + string.digits + "  \t<>@.,;:\"'()-_=?/é\n"
    for _ in range(5000):
        name = rng.choice(["Subject", "To", "Message-ID", "X-TAS-Notification-Id", "Content-Language"])
        value = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 90)))
        for method in ("fold", "fold_binary"):
            assert outcome(getattr(POLICY, method), name, value) == outcome(getattr(compat32, method), name, value)


def outcome(fold, name: str, value: str) -> object:
    try:
        return fold(name, value)
    except Exception as exc:  # compat32 refuses e.g. a value that looks like an embedded header: so must we
        return type(exc)


def test_the_message_written_directly_is_what_the_email_package_writes(monkeypatch):
    """`SmtpProvider.content` writes the message itself when its headers are plain: byte for byte what building it
    with the compat32 classes and flattening it gives, for bodies with any characters, line breaks, long lines,
    `=`, dots and trailing spaces, and for subjects that need encoding or folding (the email package writes those)."""
    monkeypatch.setattr("notify.providers.smtp.formatdate", lambda localtime: "Mon, 30 Nov 2026 04:00:00 -0000")
    provider = SmtpProvider(host="127.0.0.1", port=1, sender="TAS <no-reply@tas.example.org>")
    rng = random.Random(18)
    pieces = ["Dear parent or carer", "ŵ ŷ â — é", "=", "==", ".", "..", " ", "\t", "\n", "\r\n", "\r", "\n\n", "😀"]
    pieces += ["https://tas.example.org/family/children/abc?x=1&y=2", "x" * 90, "<b>&amp;</b>", "=3D", "--"]
    subjects = ["The school has asked for support", "Cymorth — ŵ", "word " * 20, "", "a\tb"]
    for i in range(600):
        body = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 40)))
        n = email_notification(id=f"n{i}", language=rng.choice(["en", "cy"]), subject=rng.choice(subjects), body=body)
        boundary = new_boundary()
        assert provider.content(n, boundary=boundary) == flatten(provider.build(n, boundary=boundary), POLICY), body
