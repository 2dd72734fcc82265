"""open_referral_directory: the local offer's organisations, locations, contacts, schedules, cost options and
service areas, and UUIDs for the Open Referral UK feed

Schema: `organisation` (one row per organisation that runs a service: its description, inbox and website),
`location` and `service_at_location` (places shared by services), `service_contact`, `service_schedule`,
`service_cost_option`, `service_area` (with the postcode districts it covers), `postcode_district` (a fictional
gazetteer: each district's centre, for postcode and distance searches), and `service.oruk_id` / `service.url`.

Data: every existing service gets a UUID (uuid5 of its id, so the seeded ones are the same everywhere) and every
organisation named by a service a row; the seeded local offer (0003) gets fictional details. Addresses are in two
invented places (Brackenford, LA 999; Wyndham Marsh, LA 998) with postcodes in areas that do not exist (ZX, ZY);
phone numbers are in Ofcom's drama range 0113 496 0000-0999; inboxes are at example.org.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 15:01:36
"""
import uuid
from datetime import UTC, datetime
from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0006'
down_revision: Union[str, None] = '0005'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

NAMESPACE = uuid.UUID("6f0d3c2e-3b1a-5c8e-9f4d-2a7b1e0c9d55")
"""uuid5 namespace of the seeded ids (fixed: the feed's ids of the seeded directory are the same in every copy)."""


def _uuid(kind: str, key: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{kind}:{key}"))


BOROUGH = [f"ZX{n}" for n in range(1, 7)]
COUNTY = [f"ZY{n}" for n in range(1, 5)]
DISTRICTS = [
    ("ZX1", "999", "Brackenford town centre", 53.7990, -1.5490),
    ("ZX2", "999", "Brackenford north", 53.8180, -1.5520),
    ("ZX3", "999", "Brackenford east", 53.8010, -1.5200),
    ("ZX4", "999", "Brackenford south", 53.7800, -1.5450),
    ("ZX5", "999", "Brackenford west", 53.8000, -1.5800),
    ("ZX6", "999", "Millbrook", 53.8400, -1.6100),
    ("ZY1", "998", "Wyndham Marsh", 54.0000, -1.3000),
    ("ZY2", "998", "Wyndham Marsh north", 54.0200, -1.2900),
    ("ZY3", "998", "Coldwater", 54.0500, -1.2300),
    ("ZY4", "998", "Fenby", 53.9700, -1.3500),
]

ORGANISATIONS = {
    "la-999": ("The local authority for Brackenford: education, SEND and early help services for the borough.",
               "enquiries.999@example.org", "https://brackenford.example.org"),
    "nhs-trust-1": ("The community health trust for Brackenford: therapies, school nursing and community "
                    "paediatrics for children and young people.", "childrens.services@example.org",
                    "https://community-health.example.org"),
    "nhs-mh-trust-1": ("The mental health trust for Brackenford, running the child and adolescent mental health "
                       "service (CAMHS).", "camhs.enquiries@example.org", "https://partnership-nhs.example.org"),
    "la-999-csc": ("Brackenford's children's social care: the front door (MASH), assessment and family support "
                   "where a child may be at risk.", "csc.999@example.org", "https://brackenford.example.org/csc"),
    "vol-young-carers": ("A charity supporting young carers in Brackenford with clubs, breaks and one-to-one "
                         "support.", "hello.youngcarers@example.org", "https://youngcarers.example.org"),
    "school-100019": ("A special school for pupils aged 4 to 19 with autism and complex needs; its outreach team "
                      "advises the borough's mainstream schools.", "office.oakfield@example.org",
                      "https://oakfield-school.example.org"),
    "la-998-csc": ("Wyndham Marsh county's children's services front door.", "csc.998@example.org",
                   "https://wyndham.example.org/csc"),
    "la-998": ("The county council for Wyndham Marsh: education and SEND services for county schools.",
               "enquiries.998@example.org", "https://wyndham.example.org"),
}

# key, LA, name, description, address_1, city, county, postcode, latitude, longitude, accessibility
LOCATIONS = [
    ("cdc", "999", "Brackenford Child Development Centre",
     "The borough's centre for children's therapies and community paediatrics.",
     "12 Larch Road", "Brackenford", "", "ZX2 4AB", 53.8172, -1.5531,
     "Step-free entrance, lift to all floors, accessible toilets and a changing places room; quiet waiting room."),
    ("civic", "999", "Brackenford Civic Centre", "Council offices on the market square.",
     "Market Square", "Brackenford", "", "ZX1 1AA", 53.7991, -1.5486,
     "Step-free entrance from Market Square; hearing loop at reception."),
    ("eastgate", "999", "Eastgate Family Hub", "A family hub with drop-ins, groups and meeting rooms.",
     "3 Eastgate", "Brackenford", "", "ZX3 7DF", 53.8012, -1.5204,
     "Step-free access; baby changing; sensory room on request."),
    ("alder", "999", "Alder House", "Child and adolescent mental health clinic.",
     "40 Station Road", "Brackenford", "", "ZX4 2HQ", 53.7806, -1.5449,
     "Step-free access; appointments can be at the family's school instead."),
    ("oakfield", "999", "Oakfield Special School", "The outreach team's base.",
     "Oak Lane", "Brackenford", "", "ZX5 9RT", 53.8004, -1.5795, "Step-free access; visitors sign in at reception."),
    ("millbrook", "999", "Millbrook Young Carers Hub", "Clubs and one-to-one support for young carers.",
     "7 Mill Lane", "Millbrook", "", "ZX6 3LP", 53.8398, -1.6103, "Ground floor, step-free; minibus pick-up."),
    ("county-hall", "998", "Wyndham Marsh County Hall", "The county council's offices.",
     "1 Marsh Road", "Wyndham Marsh", "Wyndham", "ZY1 2BD", 54.0003, -1.2996,
     "Step-free access via the Marsh Road entrance."),
]

WEEKDAYS = "MO,TU,WE,TH,FR"
FREE_NHS = [("Free to families", 0.0, "An NHS service: there is no charge")]
FREE_LA = [("Free to families", 0.0, "A council service: there is no charge")]

# service id → (locations, contacts [(name, title, phone, email)], schedules [(location key or None, freq, byday,
# bymonthday, opens, closes, description, attending type, notes)], cost options, service areas [(name, description,
# districts)])
DETAILS = {
    "999-educational-psychology": (
        ["civic"],
        [("Educational Psychology Service", "Duty psychologist (consultation line)", "0113 496 0100",
          "edpsych.999@example.org")],
        [("civic", "WEEKLY", WEEKDAYS, None, "09:00", "17:00", "Monday to Friday, 9am to 5pm", "in_person", None),
         (None, "WEEKLY", "WE", None, "13:30", "16:00", "Consultation line for SENCOs and parents, Wednesday "
          "afternoons", "phone", "Book a 30-minute call with the duty psychologist")],
        FREE_LA,
        [("Brackenford", "Children and young people attending a school or setting in Brackenford", BOROUGH)],
    ),
    "999-salt": (
        ["cdc"],
        [("Speech and Language Therapy referrals", "Referral coordinator", "0113 496 0101",
          "salt.referrals@example.org"),
         ("Speech and language advice line", "Duty therapist", "0113 496 0102", None)],
        [("cdc", "WEEKLY", WEEKDAYS, None, "08:30", "17:00", "Clinics Monday to Friday, 8:30am to 5pm", "in_person",
          None),
         (None, "WEEKLY", "TU,TH", None, "13:00", "16:00", "Advice line for parents and schools, Tuesday and "
          "Thursday afternoons", "phone", None)],
        FREE_NHS,
        [("Brackenford", "Registered with a Brackenford GP or attending a Brackenford school", BOROUGH)],
    ),
    "999-occupational-therapy": (
        ["cdc"],
        [("Children's Occupational Therapy", "Referral coordinator", "0113 496 0103", "ot.children@example.org")],
        [("cdc", "WEEKLY", WEEKDAYS, None, "09:00", "17:00", "Clinics Monday to Friday, 9am to 5pm", "in_person",
          None)],
        FREE_NHS,
        [("Brackenford", "Registered with a Brackenford GP or attending a Brackenford school", BOROUGH)],
    ),
    "999-camhs": (
        ["alder"],
        [("CAMHS single point of access", "Duty clinician", "0113 496 0104", "camhs.spa@example.org")],
        [("alder", "WEEKLY", WEEKDAYS, None, "09:00", "17:00", "Monday to Friday, 9am to 5pm", "in_person",
          "In a crisis out of hours, call NHS 111 and choose the mental health option"),
         (None, "WEEKLY", WEEKDAYS, None, "09:00", "17:00", "Single point of access by phone", "phone", None)],
        FREE_NHS,
        [("Brackenford", "Children and young people registered with a Brackenford GP", BOROUGH)],
    ),
    "999-school-nursing": (
        ["eastgate"],
        [("School Nursing Service", "School nurse team", "0113 496 0105", "school.nursing@example.org")],
        [("eastgate", "WEEKLY", "WE", None, "12:00", "13:30", "Drop-in at Eastgate Family Hub, Wednesday lunchtime",
          "in_person", "No appointment needed"),
         (None, "WEEKLY", WEEKDAYS, None, "08:30", "16:30", "By phone Monday to Friday", "phone", None)],
        FREE_NHS,
        [("Brackenford schools", "Pupils of Brackenford's schools", BOROUGH)],
    ),
    "999-early-help": (
        ["eastgate"],
        [("Early Help hub", "Early help coordinator", "0113 496 0106", "earlyhelp.999@example.org")],
        [("eastgate", "WEEKLY", WEEKDAYS, None, "09:00", "17:00", "Monday to Friday, 9am to 5pm", "in_person",
          None)],
        FREE_LA,
        [("Brackenford", "Families living in Brackenford", BOROUGH)],
    ),
    "999-front-door": (
        ["civic"],
        [("Children's Social Care Front Door (MASH)", "Duty social worker", "0113 496 0107",
          "frontdoor.999@example.org"),
         ("Emergency Duty Team", "Out of hours social worker", "0113 496 0108", None)],
        [(None, "WEEKLY", WEEKDAYS, None, "08:30", "17:00", "Front door, Monday to Friday", "phone",
          "If a child is in immediate danger, call 999"),
         (None, "WEEKLY", "MO,TU,WE,TH,FR,SA,SU", None, "17:00", "23:59", "Emergency duty team, evenings, weekends "
          "and bank holidays", "phone", None)],
        FREE_LA,
        [("Brackenford", "Any child in Brackenford", BOROUGH)],
    ),
    "999-sensory-support": (
        ["civic"],
        [("Sensory Support Service", "Team administrator", "0113 496 0109", "sensory.support@example.org")],
        [("civic", "WEEKLY", WEEKDAYS, None, "09:00", "16:30", "Monday to Friday; teachers visit homes and schools",
          "in_person", None)],
        FREE_LA,
        [("Brackenford", "Children and young people living or at school in Brackenford", BOROUGH)],
    ),
    "999-specialist-teaching": (
        ["civic"],
        [("Specialist Teaching and Learning Service", "Team leader", "0113 496 0110",
          "specialist.teaching@example.org")],
        [(None, "WEEKLY", WEEKDAYS, None, "08:30", "16:00", "In schools, term time", "in_person", None)],
        [("Free to schools in Brackenford", 0.0, "Funded by the council for maintained schools and academies"),
         ("Whole-staff training", 150.0, "per twilight session")],
        [("Brackenford schools", "Schools in Brackenford", BOROUGH)],
    ),
    "999-paediatrics": (
        ["cdc"],
        [("Community Paediatrics", "Medical secretaries", "0113 496 0111", "community.paeds@example.org")],
        [("cdc", "WEEKLY", WEEKDAYS, None, "09:00", "17:00", "Clinics Monday to Friday", "in_person", None)],
        FREE_NHS,
        [("Brackenford", "Registered with a Brackenford GP", BOROUGH)],
    ),
    "999-ehc-assessment": (
        ["civic"],
        [("SEND Assessment and Review Team", "SEND casework officer (duty)", "0113 496 0112",
          "send.casework@example.org")],
        [("civic", "WEEKLY", WEEKDAYS, None, "09:00", "17:00", "Monday to Friday, 9am to 5pm", "in_person", None)],
        FREE_LA,
        [("Brackenford", "Children and young people 0 to 25 living in Brackenford", BOROUGH)],
    ),
    "999-young-carers": (
        ["millbrook"],
        [("Young Carers Trust", "Young carers worker", "0113 496 0113", "hello.youngcarers@example.org")],
        [("millbrook", "WEEKLY", "TU", None, "16:00", "18:00", "Young carers club, Tuesdays after school",
          "in_person", "Minibus pick-up from schools"),
         ("millbrook", "MONTHLY", "2SA", None, "10:00", "14:00", "Family day, second Saturday of the month",
          "in_person", None)],
        [("Clubs and one-to-one support", 0.0, "Free"),
         ("Holiday trips", 2.0, "per trip, waived on request")],
        [("Brackenford", "Young carers living or at school in Brackenford", BOROUGH)],
    ),
    "999-autism-outreach": (
        ["oakfield"],
        [("Oakfield Autism Outreach", "Outreach coordinator", "0113 496 0114", "outreach.oakfield@example.org")],
        [(None, "WEEKLY", WEEKDAYS, None, "08:45", "15:30", "School visits, term time", "in_person", None)],
        [("Free to Brackenford schools", 0.0, "Funded by the council's high needs block")],
        [("Brackenford schools", "Mainstream schools in Brackenford", BOROUGH)],
    ),
    "998-front-door": (
        ["county-hall"],
        [("County Children's Services Front Door", "Duty social worker", "0113 496 0120",
          "frontdoor.998@example.org")],
        [(None, "WEEKLY", WEEKDAYS, None, "08:30", "17:00", "Front door, Monday to Friday", "phone",
          "If a child is in immediate danger, call 999")],
        FREE_LA,
        [("Wyndham Marsh", "Any child in Wyndham Marsh county", COUNTY)],
    ),
    "998-educational-psychology": (
        ["county-hall"],
        [("County Educational Psychology", "Duty psychologist", "0113 496 0121", "edpsych.998@example.org")],
        [("county-hall", "WEEKLY", WEEKDAYS, None, "09:00", "17:00", "Monday to Friday, 9am to 5pm", "in_person",
          None)],
        FREE_LA,
        [("Wyndham Marsh", "Schools in Wyndham Marsh county", COUNTY)],
    ),
}

def upgrade() -> None:
    op.create_table('location',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('la_code', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('address_1', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('city', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('county', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('postcode', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('country', sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False),
    sa.Column('latitude', sa.Float(), nullable=True),
    sa.Column('longitude', sa.Float(), nullable=True),
    sa.Column('accessibility', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_location'))
    )
    with op.batch_alter_table('location', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_location_la_code'), ['la_code'], unique=False)

    op.create_table('organisation',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('oruk_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('organisation_type', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=True),
    sa.Column('website', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_organisation')),
    sa.UniqueConstraint('oruk_id', name=op.f('uq_organisation_oruk_id'))
    )
    op.create_table('postcode_district',
    sa.Column('district', sqlmodel.sql.sqltypes.AutoString(length=4), nullable=False),
    sa.Column('la_code', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('latitude', sa.Float(), nullable=False),
    sa.Column('longitude', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('district', name=op.f('pk_postcode_district'))
    )
    with op.batch_alter_table('postcode_district', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_postcode_district_la_code'), ['la_code'], unique=False)

    op.create_table('service_area',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('service_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('postcode_districts', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['service_id'], ['service.id'], name=op.f('fk_service_area_service_id_service')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_area'))
    )
    with op.batch_alter_table('service_area', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_area_service_id'), ['service_id'], unique=False)

    op.create_table('service_at_location',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('service_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('location_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.ForeignKeyConstraint(['location_id'], ['location.id'], name=op.f('fk_service_at_location_location_id_location')),
    sa.ForeignKeyConstraint(['service_id'], ['service.id'], name=op.f('fk_service_at_location_service_id_service')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_at_location')),
    sa.UniqueConstraint('service_id', 'location_id', name=op.f('uq_service_at_location_service_id'))
    )
    with op.batch_alter_table('service_at_location', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_at_location_location_id'), ['location_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_at_location_service_id'), ['service_id'], unique=False)

    op.create_table('service_contact',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('service_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('phone', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=True),
    sa.ForeignKeyConstraint(['service_id'], ['service.id'], name=op.f('fk_service_contact_service_id_service')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_contact'))
    )
    with op.batch_alter_table('service_contact', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_contact_service_id'), ['service_id'], unique=False)

    op.create_table('service_cost_option',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('service_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('option', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('amount', sa.Float(), nullable=False),
    sa.Column('amount_description', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.ForeignKeyConstraint(['service_id'], ['service.id'], name=op.f('fk_service_cost_option_service_id_service')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_cost_option'))
    )
    with op.batch_alter_table('service_cost_option', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_cost_option_service_id'), ['service_id'], unique=False)

    op.create_table('service_schedule',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('service_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('service_at_location_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('freq', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('interval', sa.Integer(), nullable=True),
    sa.Column('byday', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('bymonthday', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('opens_at', sqlmodel.sql.sqltypes.AutoString(length=5), nullable=False),
    sa.Column('closes_at', sqlmodel.sql.sqltypes.AutoString(length=5), nullable=False),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('attending_type', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('notes', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.ForeignKeyConstraint(['service_at_location_id'], ['service_at_location.id'], name=op.f('fk_service_schedule_service_at_location_id_service_at_location')),
    sa.ForeignKeyConstraint(['service_id'], ['service.id'], name=op.f('fk_service_schedule_service_id_service')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_schedule'))
    )
    with op.batch_alter_table('service_schedule', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_schedule_service_id'), ['service_id'], unique=False)

    with op.batch_alter_table('service', schema=None) as batch_op:
        batch_op.add_column(sa.Column('oruk_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True))
        batch_op.add_column(sa.Column('url', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True))
    _seed()
    with op.batch_alter_table('service', schema=None) as batch_op:
        batch_op.alter_column('oruk_id', existing_type=sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_service_oruk_id'), ['oruk_id'])


def _seed() -> None:
    bind = op.get_bind()
    now = datetime(2026, 11, 29, tzinfo=UTC)
    service = sa.table("service", sa.column("id", sa.String), sa.column("oruk_id", sa.String),
                       sa.column("organisation_id", sa.String), sa.column("organisation_name", sa.String),
                       sa.column("organisation_type", sa.String))
    services = bind.execute(sa.select(service.c.id, service.c.organisation_id, service.c.organisation_name,
                                      service.c.organisation_type).order_by(service.c.id)).all()
    for sid, *_ in services:
        bind.execute(service.update().where(service.c.id == sid).values(oruk_id=_uuid("service", sid)))
    organisations = {}
    for _, org_id, org_name, org_type in services:
        description, email, website = ORGANISATIONS.get(org_id, ("", None, None))
        organisations[org_id] = {"id": org_id, "oruk_id": _uuid("organisation", org_id), "name": org_name,
                                 "description": description, "organisation_type": org_type, "email": email,
                                 "website": website, "updated_at": now}
    if organisations:
        op.bulk_insert(_table("organisation"), list(organisations.values()))
    op.bulk_insert(_table("postcode_district"), [
        {"district": d, "la_code": la, "name": n, "latitude": lat, "longitude": lon}
        for d, la, n, lat, lon in DISTRICTS])
    present = {sid for sid, *_ in services}
    seeded = {sid: d for sid, d in DETAILS.items() if sid in present}
    if not seeded:
        return
    op.bulk_insert(_table("location"), [
        {"id": _uuid("location", key), "la_code": la, "name": name, "description": description,
         "address_1": address, "city": city, "county": county, "postcode": postcode, "country": "GB",
         "latitude": lat, "longitude": lon, "accessibility": access, "updated_at": now}
        for key, la, name, description, address, city, county, postcode, lat, lon, access in LOCATIONS])
    links, contacts, schedules, costs, areas = [], [], [], [], []
    for sid, (places, people, times, prices, covered) in seeded.items():
        link_of = {key: _uuid("service_at_location", f"{sid}/{key}") for key in places}
        links += [{"id": link_of[key], "service_id": sid, "location_id": _uuid("location", key)} for key in places]
        contacts += [{"id": _uuid("contact", f"{sid}/{i}"), "service_id": sid, "position": i, "name": name,
                      "title": title, "phone": phone, "email": email}
                     for i, (name, title, phone, email) in enumerate(people)]
        schedules += [{"id": _uuid("schedule", f"{sid}/{i}"), "service_id": sid,
                       "service_at_location_id": link_of[key] if key else None, "position": i, "freq": freq,
                       "interval": None, "byday": byday, "bymonthday": bymonthday, "opens_at": opens,
                       "closes_at": closes, "description": description, "attending_type": attending, "notes": notes}
                      for i, (key, freq, byday, bymonthday, opens, closes, description, attending, notes)
                      in enumerate(times)]
        costs += [{"id": _uuid("cost_option", f"{sid}/{i}"), "service_id": sid, "position": i, "option": option,
                   "amount": amount, "amount_description": words} for i, (option, amount, words) in enumerate(prices)]
        areas += [{"id": _uuid("service_area", f"{sid}/{i}"), "service_id": sid, "name": name,
                   "description": description, "postcode_districts": districts}
                  for i, (name, description, districts) in enumerate(covered)]
    op.bulk_insert(_table("service_at_location"), links)
    op.bulk_insert(_table("service_contact"), contacts)
    op.bulk_insert(_table("service_schedule"), schedules)
    op.bulk_insert(_table("service_cost_option"), costs)
    op.bulk_insert(_table("service_area"), areas)
    # their details changed: the feed's last_modified says so
    op.execute(sa.table("service", sa.column("id", sa.String), sa.column("updated_at", sa.DateTime(timezone=True)))
               .update().where(sa.column("id").in_(list(seeded))).values(updated_at=now))


def _table(name: str) -> sa.Table:
    """A table as it is at this revision (reflected), for bulk inserts of its rows."""
    return sa.Table(name, sa.MetaData(), autoload_with=op.get_bind())


def downgrade() -> None:
    with op.batch_alter_table('service', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_service_oruk_id'), type_='unique')
        batch_op.drop_column('url')
        batch_op.drop_column('oruk_id')

    with op.batch_alter_table('service_schedule', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_service_schedule_service_id'))

    op.drop_table('service_schedule')
    with op.batch_alter_table('service_cost_option', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_service_cost_option_service_id'))

    op.drop_table('service_cost_option')
    with op.batch_alter_table('service_contact', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_service_contact_service_id'))

    op.drop_table('service_contact')
    with op.batch_alter_table('service_at_location', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_service_at_location_service_id'))
        batch_op.drop_index(batch_op.f('ix_service_at_location_location_id'))

    op.drop_table('service_at_location')
    with op.batch_alter_table('service_area', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_service_area_service_id'))

    op.drop_table('service_area')
    with op.batch_alter_table('postcode_district', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_postcode_district_la_code'))

    op.drop_table('postcode_district')
    op.drop_table('organisation')
    with op.batch_alter_table('location', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_location_la_code'))

    op.drop_table('location')
