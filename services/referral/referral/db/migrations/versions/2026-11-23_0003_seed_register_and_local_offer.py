"""seed the fictional schools register and local offer

Data only: the schools register (URN -> name, local authority) and a realistic, fictional local offer for two
local authorities (999 and 998), so that `tas migrate` / `make run` starts with something to refer to. Every
name, organisation and inbox is invented; inboxes are at example.org.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 11:00:00
"""
from datetime import UTC, datetime
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: Union[str, None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

_PRIMARY = ["Meadowbank", "Ashgrove", "Brookside", "Castle Hill", "Dovecote", "Elmfield", "Foxwood", "Greenacre",
            "Hollybush", "Ivy Lane", "Juniper", "Kingfisher", "Larkrise", "Millstream", "Northgate", "Orchard Vale"]
_SECONDARY = ["Riverside Academy", "St Aidan's High School", "Westfield Community School"]

# URN, name, LA, phase. URN 100000 (LA 999) is the dev token's school; tests rely on it.
SCHOOLS = (
    [(f"{100000 + i}", f"{name} Primary School", "999", "primary") for i, name in enumerate(_PRIMARY)]
    + [(f"{100016 + i}", name, "999", "secondary") for i, name in enumerate(_SECONDARY)]
    + [("100019", "Oakfield Special School", "999", "special")]
    + [(f"{200000 + i}", f"{name} Primary School", "998", "primary") for i, name in enumerate(_PRIMARY[:8])]
    + [("200008", "Hillcrest Academy", "998", "secondary"), ("200009", "Beacon Special School", "998", "special")]
)

C_I, C_L = "communication_and_interaction", "cognition_and_learning"
SEMH, S_P = "social_emotional_mental_health", "sensory_and_physical"

LA_999 = ("la-999", "Fictional Borough Council", "local_authority")
TRUST = ("nhs-trust-1", "Fictional Community Health NHS Trust", "health")
MH_TRUST = ("nhs-mh-trust-1", "Fictional Partnership NHS Foundation Trust", "health")
CSC_999 = ("la-999-csc", "Fictional Borough Children's Social Care", "social_care")

# id, name, organisation, LA, taxonomy, areas of need, min age, max age, target wait (days), current wait, inbox,
# description, how to refer, eligibility
SERVICES = [
    ("999-educational-psychology", "Educational Psychology Service", LA_999, "999", ["educational_psychology"],
     [C_L, C_I, SEMH], 0, 25, 84, 70, "edpsych.999@example.org",
     "Assessment, consultation and training for schools and families where a child's learning or wellbeing is "
     "not improving despite the school's graduated response.",
     "Referral by the school's SENCO after at least two assess-plan-do-review cycles; attach the SEN support plan.",
     "Children and young people 0-25 attending a school or setting in the borough."),
    ("999-salt", "Children's Speech and Language Therapy", TRUST, "999", ["speech_and_language_therapy"],
     [C_I], 0, 19, 126, 140, "salt.referrals@example.org",
     "Assessment and therapy for speech sound, language, fluency, voice and social communication needs.",
     "Schools, GPs and health visitors refer; parents may self-refer for children under 5.",
     "Registered with a borough GP or attending a borough school."),
    ("999-occupational-therapy", "Children's Occupational Therapy", TRUST, "999", ["occupational_therapy"],
     [S_P], 0, 19, 126, 98, "ot.children@example.org",
     "Support with fine and gross motor skills, sensory processing and independence in daily activities.",
     "Referral by a health professional or the SENCO with the school's motor-skills programme attached.", None),
    ("999-camhs", "CAMHS Getting Help", MH_TRUST, "999", ["camhs", "mental_health"],
     [SEMH], 0, 18, 28, 42, "camhs.spa@example.org",
     "Child and adolescent mental health service: assessment and brief interventions for anxiety, low mood, "
     "self-harm and trauma.",
     "Through the single point of access; schools include the child's and family's views.",
     "Children and young people up to their 18th birthday registered with a borough GP."),
    ("999-school-nursing", "School Nursing Service", TRUST, "999", ["school_nursing"],
     [SEMH, S_P], 5, 19, 28, 21, "school.nursing@example.org",
     "Health assessments, continence, sleep, emotional health drop-ins and health care plans in schools.",
     "Any school staff member, parent or young person can refer.", None),
    ("999-early-help", "Early Help Family Support", LA_999, "999", ["early_help", "family_support"],
     [SEMH], 0, 18, 14, 10, "earlyhelp.999@example.org",
     "Whole-family support with a lead practitioner and an early help assessment when needs are emerging.",
     "Complete the early help request with the family's consent.", None),
    ("999-front-door", "Children's Social Care Front Door (MASH)", CSC_999, "999",
     ["childrens_social_care_front_door", "safeguarding"], [SEMH, C_L, C_I, S_P], 0, 18, 1, 1,
     "frontdoor.999@example.org",
     "The multi-agency safeguarding hub: decides within one working day on every safeguarding referral.",
     "Call the front door first if a child is at immediate risk, then refer in writing; the school's DSL refers.",
     "Any child in the borough about whom there is a safeguarding concern."),
    ("999-sensory-support", "Sensory Support Service (Hearing and Vision)", LA_999, "999",
     ["sensory_support", "hearing_impairment", "visual_impairment"], [S_P], 0, 25, 28, 20,
     "sensory.support@example.org",
     "Qualified teachers of the deaf and of children with vision impairment; advice, equipment and teaching.",
     "Referral by audiology, ophthalmology or the SENCO with a diagnosed hearing or vision loss.", None),
    ("999-specialist-teaching", "Specialist Teaching and Learning Service", LA_999, "999",
     ["specialist_teaching"], [C_L, C_I], 4, 16, 42, 35, "specialist.teaching@example.org",
     "Specialist teachers for literacy difficulties, dyscalculia and complex learning needs; training for staff.",
     "The SENCO refers with the SEN support plan and recent assessments.", None),
    ("999-paediatrics", "Community Paediatrics", TRUST, "999", ["paediatrics", "neurodevelopmental_assessment"],
     [C_I, S_P], 0, 18, 126, 180, "community.paeds@example.org",
     "Neurodevelopmental assessment (autism, ADHD), developmental delay and medical advice for EHC assessments.",
     "GP or school referral with a completed school questionnaire.", None),
    ("999-ehc-assessment", "SEND Assessment and Review Team", LA_999, "999",
     ["ehc_needs_assessment", "send_casework"], [C_I, C_L, SEMH, S_P], 0, 25, 42, 38, "send.casework@example.org",
     "Education, health and care needs assessments (20-week statutory timescale) and annual reviews.",
     "Request an EHC needs assessment with evidence of the graduated response and the family's views.", None),
    ("999-young-carers", "Fictional Young Carers Trust", ("vol-young-carers", "Fictional Young Carers Trust",
                                                           "voluntary"), "999", ["young_carers", "family_support"],
     [SEMH], 5, 18, 28, 14, "hello.youngcarers@example.org",
     "Young carers' assessments, clubs and one-to-one support for children caring for a family member.",
     "Schools, families or the young person can refer.", None),
    ("999-autism-outreach", "Oakfield Autism Outreach", ("school-100019", "Oakfield Special School", "school"),
     "999", ["specialist_outreach", "autism_support"], [C_I, SEMH], 4, 19, 42, 30, "outreach.oakfield@example.org",
     "Outreach teachers from Oakfield Special School advising mainstream schools on autistic pupils' needs.",
     "The SENCO refers; a diagnosis is not needed.", None),
    ("998-front-door", "Children's Social Care Front Door", ("la-998-csc", "Fictional County Children's Services",
                                                             "social_care"), "998",
     ["childrens_social_care_front_door", "safeguarding"], [SEMH, C_L, C_I, S_P], 0, 18, 1, 1,
     "frontdoor.998@example.org", "The county's safeguarding front door.",
     "The school's DSL refers; call first if the child is at immediate risk.", None),
    ("998-educational-psychology", "County Educational Psychology", ("la-998", "Fictional County Council",
                                                                    "local_authority"), "998",
     ["educational_psychology"], [C_L, SEMH], 0, 25, 84, 90, "edpsych.998@example.org",
     "Educational psychology for county schools.", "The SENCO refers.", None),
]

school = sa.table("school", sa.column("urn", sa.String), sa.column("name", sa.String),
                  sa.column("la_code", sa.String), sa.column("phase", sa.String))
service = sa.table(
    "service", *(sa.column(n, sa.String) for n in (
        "id", "name", "description", "organisation_id", "organisation_name", "organisation_type", "la_code",
        "eligibility_description", "how_to_refer", "email", "status")),
    sa.column("taxonomy", sa.JSON), sa.column("areas_of_need", sa.JSON), sa.column("minimum_age", sa.Integer),
    sa.column("maximum_age", sa.Integer), sa.column("target_wait_days", sa.Integer),
    sa.column("current_wait_days", sa.Integer), sa.column("version", sa.Integer),
    sa.column("updated_at", sa.DateTime(timezone=True)))


def upgrade() -> None:
    op.bulk_insert(school, [{"urn": u, "name": n, "la_code": la, "phase": p} for u, n, la, p in SCHOOLS])
    now = datetime(2026, 11, 23, tzinfo=UTC)
    rows = []
    for (sid, name, (org_id, org_name, org_type), la, taxonomy, areas, lo, hi, target, current, email, description,
         how, eligibility) in SERVICES:
        rows.append({"id": sid, "name": name, "description": description, "organisation_id": org_id,
                     "organisation_name": org_name, "organisation_type": org_type, "la_code": la,
                     "eligibility_description": eligibility, "how_to_refer": how, "email": email,
                     "status": "active", "taxonomy": taxonomy, "areas_of_need": areas, "minimum_age": lo,
                     "maximum_age": hi, "target_wait_days": target, "current_wait_days": current, "version": 1,
                     "updated_at": now})
    op.bulk_insert(service, rows)


def downgrade() -> None:
    op.execute(service.delete().where(service.c.id.in_([s[0] for s in SERVICES])))
    op.execute(school.delete().where(school.c.urn.in_([s[0] for s in SCHOOLS])))
