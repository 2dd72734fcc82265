"""The GOV.UK error summary from a form's own checks and from an API's problem+json `errors[]`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass
class FormErrors:
    """Messages by form field id, in the order they go in the summary (each links to its field)."""

    by_field: dict[str, str] = field(default_factory=dict)

    def add(self, field_id: str, message: str) -> None:
        self.by_field.setdefault(field_id, message)

    def __bool__(self) -> bool:
        return bool(self.by_field)

    def summary(self) -> list[dict[str, str]]:
        return [{"text": text, "href": f"#{field_id}"} for field_id, text in self.by_field.items()]

    def message(self, field_id: str) -> dict[str, str] | None:
        text = self.by_field.get(field_id)
        return {"text": text} if text else None

    def from_api(self, errors: list[dict[str, str]], fields: Mapping[str, tuple[str, str]], *, fallback: str) -> None:
        """Map each API error to a field: `fields` maps the API field's last name (e.g. `text`) to the form
        field's id and the message a person reads; an error on a field not in the map goes to `fallback`."""
        for error in errors:
            name = str(error.get("field", "")).rsplit(".", 1)[-1]
            field_id, text = fields.get(name, (fallback, fields.get("*", (fallback, error.get("message", "")))[1]))
            self.add(field_id, text)
        if not self.by_field:
            self.add(fallback, fields.get("*", (fallback, "Check what you entered"))[1])
