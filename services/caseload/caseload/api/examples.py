"""An example request body per operation (operationId → body), shown in the OpenAPI document. Fictional data only;
tests/common/test_openapi.py checks that each one is valid for its operation."""

from __future__ import annotations

from typing import Any

_ID = "6f1c2b0e-3d4a-4e5f-9a8b-7c6d5e4f3a21"

EXAMPLES: dict[str, Any] = {
    "set_family_contact_restriction": {
        "restricted": False,
        "reason": "Strategy meeting on 3 February agreed the family can be told about the plan again.",
    },
    "request_sign_in_code": {"contact": "parent2@example.org"},
    "share_team_member_contact": {"shared_phone": "01632 960123", "shared_email": None},
    "add_plan_comment": {
        "section": "outcomes",
        "item_id": _ID,
        "text": "At home he follows two-step instructions when we show him pictures too.",
    },
    "exchange_sign_in_code": {"contact": "parent2@example.org", "code": "493817"},
    "merge_child": {"duplicate_id": _ID},
    "add_family_member": {
        "name": "Sam Fairweather",
        "relationship": "father",
        "parental_responsibility": True,
        "mobile": "07700 900002",
        "email": "parent2@example.org",
        "preferred_channel": "sms",
        "language": "en",
    },
    "update_family_member": {"mobile": "07700 900003"},
    "add_team_member": {
        "sub": "slt-1",
        "name": "Priya Example",
        "org_id": "nhs-trust-1",
        "org_type": "health",
        "role": "speech and language therapist",
    },
    "set_lead_professional": {"member_id": _ID},
    "update_plan": {
        "about_me": [{"voice": "child", "text": "I like drawing and football. I don't like it when it's noisy."}],
        "needs": [
            {
                "area": "communication_and_interaction",
                "description": "Finds it hard to follow spoken instructions of more than two steps.",
            }
        ],
        "outcomes": [
            {
                "area": "communication_and_interaction",
                "description": "Follows three-step classroom instructions.",
                "measure": "Observed in 4 of 5 lessons by the class teacher",
                "target_date": "2025-07-18",
            }
        ],
        "provision": [
            {
                "what": "Small-group language support",
                "agency": "school",
                "frequency": "3 x 20 minutes weekly",
                "start": "2025-01-06",
                "funded_by": "school's notional SEN budget",
            }
        ],
    },
    "publish_plan": {"status": "shared_for_comment"},
    "schedule_review": {
        "scheduled_for": "2025-04-01T15:30:00Z",
        "place": "School meeting room 2",
        "attendees": [{"name": "Ms Example", "role": "SENCO", "organisation": "Example Primary School"}],
    },
    "record_review_progress": {
        "progress": [{"outcome_id": _ID, "achievement_status": "improving", "note": "Follows two-step instructions."}]
    },
    "request_ehc_assessment": {"requested_on": "2025-02-03"},
    "record_ehc_milestones": {"decision": "assess", "decision_on": "2025-03-10"},
    "record_child_consent": {
        "agency_type": "health",
        "status": "given",
        "note": "Agreed with the parent at a meeting.",
    },
    "open_break_glass": {"reason": "Presented at A&E tonight; the safety plan and the allocated worker are needed."},
    "review_break_glass_grant": {"note": "Appropriate: an out-of-hours safeguarding need."},
}
