"""The taxonomies of the Open Referral UK feed. The UK profile has no fields of its own for what TAS adds to the
local offer, and its `attribute` carries no value: an attribute links a service to a taxonomy term. So TAS's own
fields are terms of three taxonomies, each linked to the services it describes:

- the local offer's service types (the `taxonomy` codes of each service: `speech_and_language_therapy`, ...);
- the SEND Code of Practice's four broad areas of need (`areas_of_need`);
- the current wait: a band (up to 2 weeks ... more than 18 weeks) and what it rests on (measured from 5 or more
  referrals, fewer than 5 referrals so no figure from them, or the service's own estimate) — see current_wait.py.

Ids are UUIDs derived from the term's code (uuid5), so they are the same in every copy of TAS and stable across
releases.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from .directory_schemas import CurrentWait
from .oruk_schemas import Taxonomy, TaxonomyTerm

NAMESPACE = uuid.UUID("0c6a3f4e-8d55-5b7e-a1c2-5e9f7b3d2a10")
"""uuid5 namespace of the feed's derived ids (taxonomies, terms, attributes, addresses)."""


def derived_id(*parts: str) -> str:
    return str(uuid.uuid5(NAMESPACE, ":".join(parts)))


@dataclass(frozen=True)
class Vocabulary:
    key: str
    name: str
    description: str
    uri: str | None
    link_type: str
    """The attribute's `link_type`: what the term says about the service."""

    @property
    def id(self) -> str:
        return derived_id("taxonomy", self.key)

    def taxonomy(self, terms: list[TaxonomyTerm] | None = None) -> Taxonomy:
        return Taxonomy(
            id=self.id, name=self.name, description=self.description, uri=self.uri, version="1", taxonomy_terms=terms
        )

    def term(self, code: str, name: str, description: str) -> TaxonomyTerm:
        return TaxonomyTerm(
            id=derived_id("taxonomy_term", self.key, code),
            name=name,
            description=description,
            taxonomy=self.name,
            taxonomy_id=self.id,
            term=code,
        )


SERVICE_TYPES = Vocabulary(
    "tas-service-type",
    "TAS local offer service types",
    "What kind of service it is, as the local offer classifies its services (the codes TAS refers by).",
    None,
    "service_type",
)
AREAS_OF_NEED = Vocabulary(
    "send-areas-of-need",
    "SEND Code of Practice broad areas of need",
    "The four broad areas of special educational need of the SEND Code of Practice: 0 to 25 years (2015), "
    "paragraphs 6.28 to 6.35: the needs a service helps with.",
    "https://www.gov.uk/government/publications/send-code-of-practice-0-to-25",
    "area_of_need",
)
WAITING = Vocabulary(
    "tas-current-wait",
    "TAS current waiting time",
    "How long families wait from referral to first contact with the service now, in bands, and what the figure "
    "rests on. A wait is measured only from 5 or more referrals first contacted in the last 12 months: a figure "
    "from fewer could identify the children behind it.",
    None,
    "waiting_time",
)
VOCABULARIES = (SERVICE_TYPES, AREAS_OF_NEED, WAITING)

_LABELS = {
    "camhs": "CAMHS",
    "childrens_social_care_front_door": "Children's social care front door",
    "ehc_needs_assessment": "EHC needs assessment",
    "send_casework": "SEND casework",
}
_NEEDS = {
    "communication_and_interaction": (
        "Communication and interaction",
        "Speech, language and communication needs, including autistic children's social communication.",
    ),
    "cognition_and_learning": (
        "Cognition and learning",
        "Learning at a slower pace than peers, and specific learning difficulties such as dyslexia.",
    ),
    "social_emotional_mental_health": (
        "Social, emotional and mental health",
        "Anxiety, low mood, withdrawn or challenging behaviour, attention difficulties and attachment needs.",
    ),
    "sensory_and_physical": (
        "Sensory and/or physical needs",
        "Hearing or vision impairment, multi-sensory impairment and physical disability.",
    ),
}
# code, name, description, upper bound in days (inclusive)
_BANDS = (
    ("wait_up_to_2_weeks", "Up to 2 weeks", "Families wait up to 2 weeks for first contact.", 14),
    ("wait_2_to_6_weeks", "2 to 6 weeks", "Families wait 2 to 6 weeks for first contact.", 42),
    ("wait_6_to_13_weeks", "6 to 13 weeks", "Families wait 6 to 13 weeks for first contact.", 91),
    ("wait_13_to_18_weeks", "13 to 18 weeks", "Families wait 13 to 18 weeks for first contact.", 126),
    ("wait_over_18_weeks", "More than 18 weeks", "Families wait more than 18 weeks for first contact.", None),
)
_BASES = {
    "measured": (
        "wait_measured",
        "Measured from referrals",
        "The median wait of 5 or more referrals first contacted in the last 12 months.",
    ),
    "fewer_than_5_referrals": (
        "wait_fewer_than_5_referrals",
        "Fewer than 5 referrals",
        "Fewer than 5 referrals were first contacted in the last 12 months: no figure is published from them. "
        "A band, if given, is the service's own estimate.",
    ),
    "service_estimate": (
        "wait_service_estimate",
        "The service's estimate",
        "No referrals were measured: the band is the service's own published estimate.",
    ),
}


def service_type_term(code: str) -> TaxonomyTerm:
    name = _LABELS.get(code, code.replace("_", " ").capitalize())
    return SERVICE_TYPES.term(code, name, f"Services of the local offer of the type '{name.lower()}'.")


def need_terms() -> list[TaxonomyTerm]:
    return [AREAS_OF_NEED.term(code, name, words) for code, (name, words) in _NEEDS.items()]


def need_term(code: str) -> TaxonomyTerm | None:
    found = _NEEDS.get(code)
    return AREAS_OF_NEED.term(code, *found) if found else None


def waiting_terms() -> list[TaxonomyTerm]:
    return [WAITING.term(code, name, words) for code, name, words, _ in _BANDS] + [
        WAITING.term(*basis) for basis in _BASES.values()
    ]


def wait_terms(wait: CurrentWait) -> list[TaxonomyTerm]:
    """The terms describing a service's current wait: what it rests on, and its band when there is a figure."""
    terms = []
    if wait.basis in _BASES:
        terms.append(WAITING.term(*_BASES[wait.basis]))
    if wait.days is not None:
        code, name, words, _ = next(b for b in _BANDS if b[3] is None or wait.days <= b[3])
        terms.append(WAITING.term(code, name, words))
    return terms


def all_terms(service_type_codes: list[str]) -> list[TaxonomyTerm]:
    """Every term of the feed: the service types in use, then the areas of need and the waiting terms."""
    return [service_type_term(c) for c in sorted(set(service_type_codes))] + need_terms() + waiting_terms()


def vocabulary(taxonomy_id: str) -> Vocabulary | None:
    return next((v for v in VOCABULARIES if v.id == taxonomy_id), None)
