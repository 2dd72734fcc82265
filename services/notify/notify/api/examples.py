"""An example request body per operation (operationId → body), shown in the OpenAPI document. Fictional data only;
tests/common/test_openapi.py checks that each one is valid for its operation."""

from __future__ import annotations

from typing import Any

EXAMPLES: dict[str, Any] = {
    "update_contact_preferences": {"preferred_channel": "email", "language": "cy"},
    "create_template": {
        "name": "referral_accepted",
        "channel": "sms",
        "language": "en",
        "body": "((service_name)) has accepted the referral for ((child_first_name)). They will contact you soon.",
    },
    "update_template": {
        "subject": "An update about ((child_first_name))",
        "body": "((service_name)) has accepted the referral for ((child_first_name)).",
    },
}
