from enum import StrEnum

class MisItemResultStatus(StrEnum):
    CONFLICT = "conflict"
    CREATED = "created"
    DUPLICATE = "duplicate"
    INVALID = "invalid"
    UPDATED = "updated"

    def __str__(self) -> str:
        return str(self.value)
