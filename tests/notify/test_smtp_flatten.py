"""The SMTP provider's header policy (OneLineHeaders) writes exactly the bytes compat32 writes."""

from __future__ import annotations

import io
import random
import string
from email.generator import BytesGenerator
from email.policy import compat32

import pytest

from notify.domain.models import Notification
from notify.providers.smtp import POLICY, SmtpProvider
from tas_common.db import utcnow


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
    now = utcnow()
    n = Notification(
        child_id="c",
        contact_id="x",
        trigger_event_id="t",
        dedupe_key="d",
        recipient_key="r",
        template="t",
        template_version=1,
        language=language,
        channel="email",
        recipient="parent@example.org",
        subject=subject,
        body="Dear parent or carer,\n\nSee https://tas.example.org/family\n\nTAS — ŵ",
        created_at=now,
        updated_at=now,
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
