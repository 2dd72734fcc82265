"""Content minimisation: a message says that something happened and where to look. Templates are refused at
save when they use a placeholder outside the allow-list (nothing clinical can be merged in) or a
word from the clinical/safeguarding deny-list (English and Welsh). A family message may name the child by first
name (`child_name`), the service of the local offer (`service_name`) and how to contact the school
(`school_contact`): an SMS from an unknown sender with a bare link looks like phishing."""

from __future__ import annotations

import re

ALLOWED_PLACEHOLDERS = frozenset(
    {"link", "review_date", "urgent", "reference", "child_name", "service_name", "school_contact"}
    | {"alert", "due_date", "count", "alert_list"}  # insights' alerts to practitioners: fixed words, ids and dates
)

DENY_WORDS = (
    "diagnosis",
    "diagnosed",
    "diagnose",
    "autism",
    "autistic",
    "asd",
    "adhd",
    "camhs",
    "mental health",
    "self-harm",
    "self harm",
    "suicide",
    "abuse",
    "neglect",
    "medication",
    "medicine",
    "therapy",
    "therapist",
    "safeguarding",
    "child protection",
    "social worker",
    "psychiatr",
    "psycholog",
    "disorder",
    "condition",
    "dyslexia",
    "epilepsy",
    "eating disorder",
    "anxiety",
    "depression",
    # Welsh
    "diagnosis",
    "awtistiaeth",
    "iechyd meddwl",
    "hunan-niweidio",
    "hunanladdiad",
    "cam-drin",
    "esgeulustod",
    "meddyginiaeth",
    "therapi",
    "diogelu",
    "amddiffyn plant",
    "gorbryder",
    "iselder",
    "anhwylder",
    "cyflwr",
)


def denied_words(text: str) -> list[str]:
    lowered = text.lower()
    found = []
    for word in DENY_WORDS:
        pattern = rf"(?<![a-z]){re.escape(word)}" + ("" if word.endswith(("psychiatr", "psycholog")) else r"(?![a-z])")
        if re.search(pattern, lowered):
            found.append(word)
    return sorted(set(found))


def disallowed_placeholders(names: set[str]) -> list[str]:
    return sorted(names - ALLOWED_PLACEHOLDERS)
