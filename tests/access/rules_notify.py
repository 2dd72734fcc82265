"""Who may call each of notify's routes (the matrix: rules.py)."""

from __future__ import annotations

from .rule_base import CASE_FAM, OPEN_ROUTES, Rule, S

NOTIFY: dict[str, Rule] = {
    **OPEN_ROUTES,
    "GET /v1/notifications": Rule(
        "as the child's record; a family member sees the messages sent to them",
        ok=S(200, CASE_FAM),
        params=lambda i, a: {"child_id": i["child_id"]},
    ),
    "GET /v1/notifications/{notification_id}": Rule("as the list", ok=S(200, CASE_FAM)),
    "GET /v1/contacts/{contact_id}/preferences": Rule("the contact, the child's practitioners", ok=S(200, CASE_FAM)),
    "PATCH /v1/contacts/{contact_id}/preferences": Rule(
        "the contact themselves", ok=S(200, "family"), body=lambda i, a: {"language": "en"}
    ),
    "GET /v1/templates": Rule("the LA's notify administrators", ok=S(200, "notify_admin"), child=False),
    "GET /v1/templates/{template_id}": Rule("the LA's notify administrators", ok=S(200, "notify_admin"), child=False),
    "POST /v1/templates": Rule(
        "the LA's notify administrators (the matrix posts an existing one: 409)",
        ok=S(409, "notify_admin"),
        child=False,
        body=lambda i, a: {
            "name": i["template_name"],
            "channel": i["template_channel"],
            "language": i["template_language"],
            "subject": "Hello",
            "body": "Hello",
        },
    ),
    "PUT /v1/templates/{template_id}": Rule(
        "the LA's notify administrators (no If-Match: 428)",
        ok=S(428, "notify_admin"),
        child=False,
        body=lambda i, a: {"body": "Hi"},
    ),
    "POST /v1/receipts/{provider}": Rule(
        "providers, proving themselves (signature or bearer secret)",
        public=403,
        child=False,
        body=lambda i, a: {"notification_id": "x", "status": "bounced"},
    ),
}
