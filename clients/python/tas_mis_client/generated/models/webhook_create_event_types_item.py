from enum import StrEnum

class WebhookCreateEventTypesItem(StrEnum):
    CONCERN_LINKED = "concern.linked"
    REFERRAL_DECIDED = "referral.decided"
    REVIEW_SCHEDULED = "review.scheduled"

    def __str__(self) -> str:
        return str(self.value)
