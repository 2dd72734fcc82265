from enum import StrEnum

class MisConcernStatusStatus(StrEnum):
    LINKED = "linked"
    STORED = "stored"

    def __str__(self) -> str:
        return str(self.value)
