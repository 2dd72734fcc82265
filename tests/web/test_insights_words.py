"""The insights pages' words in Welsh (insights answers in English; the pages translate through the catalogue), and
the period picker's reading of its form (a year, a range of months, or a message per field)."""

from __future__ import annotations

import pytest
from web import i18n
from web.domain import insights_period
from web.domain.insights_words import translated, word


@pytest.fixture
def welsh():
    i18n.install(i18n.Catalogues())
    token = i18n.current_language.set("cy")
    yield
    i18n.current_language.reset(token)


def test_an_answer_in_welsh_keeps_its_figures_and_codes(welsh):
    answer = {
        "period": {"label": "the 12 months to November 2026", "from_month": "2025-12", "to_month": "2026-11"},
        "tables": [
            {
                "name": "waiting_now",
                "title": "Waiting now for first contact (as of 29 November 2026), by days waited so far",
                "columns": [{"key": "band", "label": "Days waited so far"}, {"key": "waiting", "label": "Waiting"}],
                "rows": [{"band": "0 to 7 days", "waiting": 24}, {"band": "All", "waiting": "fewer than 5"}],
                "notes": ["Still waiting for a decision: fewer than 5."],
            },
            {
                "name": "schools",
                "title": "Schools compared: concerns, referrals on, first help and EHC needs assessments",
                "columns": [
                    {"key": "school_urn", "label": "School"},
                    {"key": "cognition_and_learning_per_100", "label": "Cognition and learning: per 100 pupils"},
                ],
                "rows": [
                    {"school_urn": "School B", "cognition_and_learning_per_100": "withheld"},
                    {"school_urn": "100012", "cognition_and_learning_per_100": 2.5},
                    {"school_urn": "999-salt", "cognition_and_learning_per_100": None},
                ],
                "notes": [],
            },
        ],
    }
    cy = translated(answer)
    assert cy["period"] == {"label": "y 12 mis hyd at Tachwedd 2026", "from_month": "2025-12", "to_month": "2026-11"}
    now, compared = cy["tables"]
    assert now["title"] == "Yn aros nawr am y cyswllt cyntaf (ar 29 Tachwedd 2026), yn ôl y diwrnodau o aros hyd yma"
    assert [c["label"] for c in now["columns"]] == ["Diwrnodau o aros hyd yma", "Yn aros"]
    assert now["rows"] == [{"band": "0 i 7 diwrnod", "waiting": 24}, {"band": "Y cyfan", "waiting": "llai na 5"}]
    assert now["notes"] == ["Yn dal i aros am benderfyniad: llai na 5."]
    assert compared["columns"][1] == {
        "key": "cognition_and_learning_per_100",
        "label": "Gwybyddiaeth a dysgu: fesul 100 disgybl",
    }
    assert [r["school_urn"] for r in compared["rows"]] == ["Ysgol B", "100012", "999-salt"]
    assert compared["rows"][0]["cognition_and_learning_per_100"] == "wedi’i atal"
    assert answer["tables"][0]["rows"][1]["waiting"] == "fewer than 5"  # a copy: the answer itself unchanged


def test_english_stays_english():
    assert word("fewer than 5") == "fewer than 5"
    assert word("calendar year 2026") == "calendar year 2026"
    assert word("plans_issued_den") == "plans_issued_den"


@pytest.mark.parametrize(
    ("form", "period", "errors"),
    [
        ({}, None, {}),
        ({"year": "2026"}, "2026", {}),
        ({"from_month": "1", "from_year": "2026", "to_month": "6", "to_year": "2026"}, "2026-01..2026-06", {}),
        ({"from_month": "9", "from_year": "2025", "to_month": "8", "to_year": "2026"}, "2025-09..2026-08", {}),
        ({"year": "20x6"}, None, {"period-year": "Enter a year as 4 numbers, like 2026"}),
        ({"year": "2026", "from_month": "1"}, None, {"period-year": "Enter a year or a range of months, not both"}),
        (
            {"from_month": "13", "from_year": "2026", "to_month": "", "to_year": "2026"},
            None,
            {
                "period-from-month": "Enter a month as a number from 1 to 12",
                "period-to-month": "Enter a month as a number from 1 to 12",
            },
        ),
        (
            {"from_month": "6", "from_year": "2026", "to_month": "1", "to_year": "2026"},
            None,
            {"period-to-month": "The end of the range must be the same as or after its start"},
        ),
        (
            {"from_month": "1", "from_year": "2010", "to_month": "1", "to_year": "2020"},
            None,
            {"period-to-month": "The range can be at most 10 years"},
        ),
    ],
)
def test_the_period_picker(form, period, errors):
    chosen = insights_period.choose(period=None, form=form)
    assert chosen.period == period
    assert chosen.errors.by_field == errors


def test_a_period_from_a_link_is_kept_when_the_form_is_empty():
    assert insights_period.choose(period="2025/26", form={"year": ""}).period == "2025/26"
