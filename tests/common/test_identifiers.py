from __future__ import annotations

import pytest

from tas_common.events import CloudEvent, new_event
from tas_common.events.schemas import ChildRegisteredV1
from tas_common.identifiers import (
    is_valid_email,
    is_valid_nhs_number,
    is_valid_upn,
    normalise_email,
    normalise_uk_mobile,
    upn_check_letter,
)
from tas_dev.testing import fictional_nhs_number, fictional_upn

from ..databases import with_tables


def test_upn_check_letter():
    assert upn_check_letter("201234567890") == "L"
    assert is_valid_upn("L201234567890")
    assert not is_valid_upn("A201234567890")  # wrong check letter
    assert not is_valid_upn("L20123456789")  # too short
    assert not is_valid_upn("I201234567890")  # I is never a check letter
    assert all(is_valid_upn(fictional_upn(n)) for n in range(200))


def test_nhs_number_modulus_11():
    assert is_valid_nhs_number("9434765919")
    assert is_valid_nhs_number("943 476 5919")
    assert not is_valid_nhs_number("9434765918")
    assert not is_valid_nhs_number("943476591")
    assert all(is_valid_nhs_number(fictional_nhs_number(n)) for n in range(200))


@pytest.mark.parametrize("raw", ["07700 900123", "+44 7700 900123", "00447700900123", "(07700) 900-123"])
def test_uk_mobiles_normalise_to_e164(raw):
    assert normalise_uk_mobile(raw) == "+447700900123"


@pytest.mark.parametrize(
    "raw", ["01632 960000", "020 7946 0000", "09098 790000", "0700 900 1234", "0770090012", "+33 6 12 34 56 78"]
)
def test_landlines_premium_personal_and_foreign_numbers_are_refused(raw):
    with pytest.raises(ValueError, match="not a UK"):
        normalise_uk_mobile(raw)


def test_email_validation():
    assert is_valid_email("parent1@example.org")
    assert not is_valid_email("parent1@")
    assert not is_valid_email("no spaces@example.org")


def test_envelope_round_trip_and_type_naming():
    event = new_event(
        ChildRegisteredV1(child_id="c1", school_urn="100000"),
        source="tas/caseload",
        subject="c1",
        traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    )
    assert event.type == "tas.caseload.child.registered.v1"
    assert event.nats_subject == "tas.caseload.child.registered"
    again = CloudEvent.from_bytes(event.to_bytes())
    assert again == event and again.specversion == "1.0" and again.model_extra["traceparent"].startswith("00-")
    assert again.payload() == ChildRegisteredV1(child_id="c1", school_urn="100000")
    with pytest.raises(ValueError, match="unknown event type"):
        CloudEvent(source="x", type="tas.unknown.thing.v1", data={}).payload()


async def test_timestamps_read_back_from_sqlite_are_utc_aware(tmp_path):
    from datetime import date

    from referral.domain.models import Concern, metadata
    from tas_common.db import utcnow

    db = await with_tables(f"sqlite+aiosqlite:///{tmp_path / 'tz.db'}", metadata)
    async with db.transaction() as session:
        session.add(
            Concern(
                id="c1",
                school_urn="100000",
                raised_by_sub="s",
                raised_by_org="o",
                upn="L201234567890",
                given_name="A",
                family_name="B",
                date_of_birth=date(2016, 1, 1),
                summary="x",
            )
        )
    async with db.reader() as session:
        loaded = await session.get(Concern, "c1")
        assert loaded.created_at.tzinfo is not None
        assert abs((utcnow() - loaded.created_at).total_seconds()) < 60
        assert not session.dirty  # setting the zone did not mark the row changed
    await db.dispose()


@pytest.mark.parametrize(
    ("raw", "e164"),
    [("+44 7797 123456", "+447797123456"), ("07624 123456", "+447624123456"), ("447700900123", "+447700900123")],
)
def test_mobiles_of_the_whole_uk_numbering_plan_normalise(raw, e164):
    assert normalise_uk_mobile(raw) == e164  # Jersey and the Isle of Man too (libphonenumber's metadata)


@pytest.mark.parametrize("raw", ["07700 900ABC", "07797 123456 ext. 12", "07600 123456", "+44"])
def test_letters_extensions_pagers_and_fragments_are_refused(raw):
    with pytest.raises(ValueError, match="not a UK"):
        normalise_uk_mobile(raw)


def test_email_addresses_on_special_use_domains_or_beyond_ascii_are_refused():
    assert normalise_email("Parent2@Example.ORG") == "Parent2@example.org"
    for bad in ("kit@localhost", "kit@school.test", "zoë@example.org", "a" * 250 + "@example.org"):
        assert not is_valid_email(bad)


def test_the_year_group_by_age_follows_the_english_school_year():
    from datetime import date

    from tas_common.identifiers import year_group_fits, year_group_of

    autumn, summer = date(2026, 11, 29), date(2027, 7, 1)  # one school year, two dates in it
    for when in (autumn, summer):
        assert year_group_of(date(2021, 9, 1), when) == "R"  # turns five during the year: reception
        assert year_group_of(date(2021, 8, 31), when) == "Y1"  # a day older: the year above
        assert year_group_of(date(2016, 2, 2), when) == "Y6"
        assert year_group_of(date(2023, 1, 1), when) == "N2"
        assert year_group_of(date(2008, 1, 1), when) == "Y14"
        assert year_group_of(date(2005, 1, 1), when) is None  # past Y14 by age
    assert year_group_of(date(2016, 2, 2), date(2027, 9, 1)) == "Y7"  # the next school year
    assert year_group_fits("Y5", date(2016, 2, 2), autumn) and year_group_fits("Y7", date(2016, 2, 2), autumn)
    assert not year_group_fits("Y4", date(2016, 2, 2), autumn)
    assert year_group_fits("Y13", date(2005, 1, 1), autumn) and not year_group_fits("Y9", date(2005, 1, 1), autumn)
