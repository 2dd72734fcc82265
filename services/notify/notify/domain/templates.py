"""Message templates per trigger, channel and language. `((name))` is a placeholder; a missing value is an error.
Messages say that something happened and where to look, never a diagnosis or clinical detail."""
from __future__ import annotations

import re
from dataclasses import dataclass

_PLACEHOLDER = re.compile(r"\(\(([a-z_]+)\)\)")


class MissingPersonalisation(ValueError):
    pass


@dataclass(frozen=True)
class Template:
    name: str
    version: int
    language: str
    channel: str
    body: str
    subject: str | None = None

    def render(self, values: dict[str, str]) -> tuple[str | None, str]:
        def fill(text: str) -> str:
            def one(match: re.Match[str]) -> str:
                key = match.group(1)
                if key not in values:
                    raise MissingPersonalisation(f"template {self.name} needs ({key})")
                return values[key]
            return _PLACEHOLDER.sub(one, text)
        return (fill(self.subject) if self.subject else None), fill(self.body)


TEMPLATES: dict[tuple[str, str, str], Template] = {}


def _add(*templates: Template) -> None:
    for t in templates:
        TEMPLATES[(t.name, t.channel, t.language)] = t


_add(
    Template("concern_acknowledged", 1, "en", "sms",
             "Your child's school has asked for support for your child through Team Around the School. "
             "See what happens next: ((link))"),
    Template("concern_acknowledged", 1, "cy", "sms",
             "Mae ysgol eich plentyn wedi gofyn am gymorth i'ch plentyn drwy Dîm o Amgylch yr Ysgol. "
             "Gwelwch beth sy'n digwydd nesaf: ((link))"),
    Template("concern_acknowledged", 1, "en", "email",
             "Dear parent or carer,\n\nYour child's school has asked for support for your child through Team "
             "Around the School. You can see what happens next, and tell us what you think, at ((link)).\n\n"
             "Team Around the School",
             subject="Your child's school has asked for support"),
    Template("concern_acknowledged", 1, "cy", "email",
             "Annwyl riant neu ofalwr,\n\nMae ysgol eich plentyn wedi gofyn am gymorth i'ch plentyn drwy Dîm o "
             "Amgylch yr Ysgol. Gallwch weld beth sy'n digwydd nesaf, a dweud beth yw eich barn, yn ((link)).\n\n"
             "Tîm o Amgylch yr Ysgol",
             subject="Mae ysgol eich plentyn wedi gofyn am gymorth"),
)


def template_for(name: str, channel: str, language: str) -> Template:
    return TEMPLATES.get((name, channel, language)) or TEMPLATES[(name, channel, "en")]
