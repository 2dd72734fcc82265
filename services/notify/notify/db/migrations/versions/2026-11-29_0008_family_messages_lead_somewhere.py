"""family_messages_lead_somewhere: what each family message needs to say which child, which service and how to
contact the school (the child's first name and the school's office contact on the child scope, from caseload's
concern_linked), a new version of each family template that names them and links to the exact page, and new
templates for a referral withdrawn or completed.

Each family template gets the next version after its current one (an edit made through the admin API stays in the
history; the new text becomes current). The Welsh SMS texts use only GSM-7 letters so that a message with its link
fits in three fragments (a circumflex makes the whole SMS UCS-2: 67 characters a part).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 17:10:00
"""
from typing import Sequence, Union

import uuid
from datetime import datetime, timezone

import sqlalchemy as sa
import sqlmodel
from alembic import op

NAMESPACE = uuid.UUID("6f1c8a53-5d0e-4f57-9a53-2d8f3b0c7a11")  # as migration 0002: ids from name:channel:language
BY = "migration 0008"
ASK = {  # how to contact the school, after the link: on the same line in an SMS, a paragraph of its own in an email
    "en": "Questions? Contact ((school_contact)).",
    "cy": "Cwestiynau? Cysylltwch gyda ((school_contact)).",
}
FAMILY = {
    # name: (en sms, cy sms, en subject, cy subject)
    "concern_acknowledged": (
        "Team Around the School: the school has asked for support for ((child_name)). See what happens next: "
        "((link))",
        "Mae'r ysgol wedi gofyn am gymorth ar gyfer ((child_name)). Gwelwch beth sy'n digwydd nesaf: ((link))"
       ,
        "The school has asked for support for ((child_name))",
        "Mae'r ysgol wedi gofyn am gymorth ar gyfer ((child_name))"),
    "referral_accepted": (
        "Team Around the School: the request for support for ((child_name)) has been accepted by "
        "((service_name)), who will be in touch. See the details: ((link))",
        "Mae'r cais am gymorth ar gyfer ((child_name)) wedi'i dderbyn gan ((service_name)), a fydd yn cysylltu "
        "gyda chi. Gwelwch y manylion: ((link))",
        "Support for ((child_name)): the request has been accepted",
        "Cymorth ar gyfer ((child_name)): mae'r cais wedi'i dderbyn"),
    "referral_declined": (
        "Team Around the School: ((service_name)) cannot help ((child_name)) this time. The school will talk to "
        "you about what happens next. See the details: ((link))",
        "Ateb gan ((service_name)) am gymorth ar gyfer ((child_name)): ni allant helpu y tro hwn. Bydd yr ysgol "
        "yn siarad gyda chi am y camau nesaf. Gwelwch y manylion: ((link))",
        "Support for ((child_name)): an answer from ((service_name))",
        "Cymorth ar gyfer ((child_name)): ateb gan ((service_name))"),
    "referral_redirected": (
        "Team Around the School: the request for support for ((child_name)) has been passed by ((service_name)) "
        "to another service that may be better able to help. See the details: ((link))",
        "Mae'r cais am gymorth ar gyfer ((child_name)) wedi'i anfon gan ((service_name)) at wasanaeth arall a "
        "allai helpu'n well. Gwelwch y manylion: ((link))",
        "Support for ((child_name)): the request has moved to another service",
        "Cymorth ar gyfer ((child_name)): mae'r cais wedi symud i wasanaeth arall"),
    "referral_withdrawn": (
        "Team Around the School: the request to ((service_name)) for support for ((child_name)) has been "
        "withdrawn. See the details: ((link))",
        "Mae'r cais am gymorth gan ((service_name)) ar gyfer ((child_name)) wedi'i ganslo. Gwelwch y manylion: "
        "((link))",
        "Support for ((child_name)): a request has been withdrawn",
        "Cymorth ar gyfer ((child_name)): mae cais wedi'i ganslo"),
    "referral_completed": (
        "Team Around the School: ((service_name)) has finished working with ((child_name)). See the details: "
        "((link))",
        "Mae gwaith ((service_name)) gyda ((child_name)) wedi dod i ben. Gwelwch y manylion: ((link))",
        "Support for ((child_name)): ((service_name)) has finished",
        "Cymorth ar gyfer ((child_name)): mae gwaith ((service_name)) wedi dod i ben"),
    "plan_shared_for_comment": (
        "Team Around the School: a draft of ((child_name))'s support plan is ready for you to read and comment "
        "on: ((link))",
        "Mae drafft o gynllun cymorth ((child_name)) yn barod i chi ei ddarllen a rhoi sylwadau arno: ((link))"
       ,
        "The draft support plan for ((child_name)) is ready for your comments",
        "Mae drafft cynllun cymorth ((child_name)) yn barod am eich sylwadau"),
    "plan_agreed": (
        "Team Around the School: ((child_name))'s support plan has been agreed. You can read it at ((link))"
       ,
        "Mae cynllun cymorth ((child_name)) wedi'i gytuno. Gallwch ei ddarllen yn ((link))",
        "The support plan for ((child_name)) has been agreed",
        "Mae cynllun cymorth ((child_name)) wedi'i gytuno"),
    "review_scheduled": (
        "Team Around the School: a review of ((child_name))'s support plan has been arranged for "
        "((review_date)). See the details and tell us your views: ((link))",
        "Mae adolygiad o gynllun cymorth ((child_name)) wedi'i drefnu ar gyfer ((review_date)). Gwelwch y "
        "manylion a dywedwch wrthym beth yw eich barn: ((link))",
        "A review of the support plan for ((child_name)) has been arranged",
        "Mae adolygiad o gynllun cymorth ((child_name)) wedi'i drefnu"),
    "review_reminder": (
        "Team Around the School reminder: the review of ((child_name))'s support plan is on ((review_date)). "
        "See the details: ((link))",
        "Nodyn atgoffa: mae adolygiad cynllun cymorth ((child_name)) ar ((review_date)). Gwelwch y manylion: "
        "((link))",
        "Reminder: review of the support plan for ((child_name)) on ((review_date))",
        "Nodyn atgoffa: adolygiad cynllun cymorth ((child_name)) ar ((review_date))"),
}
GREETING = {"en": "Dear parent or carer,", "cy": "Annwyl riant neu ofalwr,"}
SIGN_OFF = {"en": "Team Around the School", "cy": "Tîm o Amgylch yr Ysgol"}
NEW = ("referral_withdrawn", "referral_completed")


revision: str = '0008'
down_revision: Union[str, None] = '0007'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

_template = sa.table("message_template", sa.column("id"), sa.column("name"), sa.column("channel"),
                     sa.column("language"), sa.column("current_version"),
                     sa.column("updated_at", sa.DateTime(timezone=True)))
_version = sa.table("template_version", sa.column("template_id"), sa.column("version"), sa.column("subject"),
                    sa.column("body"), sa.column("created_by"), sa.column("created_at", sa.DateTime(timezone=True)))


def _rows() -> list[dict]:
    rows = []
    for name, (sms_en, sms_cy, subject_en, subject_cy) in FAMILY.items():
        for language, sms, subject in (("en", sms_en, subject_en), ("cy", sms_cy, subject_cy)):
            ask = ASK[language]
            rows.append(dict(name=name, channel="sms", language=language, subject=None,
                             body=f"{sms}((school_contact?? {ask}))"))
            rows.append(dict(name=name, channel="email", language=language, subject=subject,
                             body=f"{GREETING[language]}\n\n{sms}\n\n((school_contact??{ask}\n\n)){SIGN_OFF[language]}"))
    return rows


def _id(row: dict) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{row['name']}:{row['channel']}:{row['language']}"))


def upgrade() -> None:
    with op.batch_alter_table('child_scope', schema=None) as batch_op:
        batch_op.add_column(sa.Column('child_given_name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True))
        batch_op.add_column(sa.Column('school_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True))
        batch_op.add_column(sa.Column('school_phone', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=True))
        batch_op.add_column(sa.Column('school_email', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=True))

    bind = op.get_bind()
    now = datetime.now(timezone.utc)
    current = {(name, channel, language): (template_id, number) for template_id, name, channel, language, number
               in bind.execute(sa.select(_template.c.id, _template.c.name, _template.c.channel,
                                         _template.c.language, _template.c.current_version)).all()}
    templates, versions = [], []
    for row in _rows():
        template_id, number = current.get((row["name"], row["channel"], row["language"]), (_id(row), 0))
        number += 1
        if number == 1:
            templates.append(dict(id=template_id, name=row["name"], channel=row["channel"],
                                  language=row["language"], current_version=number, updated_at=now))
        else:
            op.execute(_template.update().where(_template.c.id == template_id)
                       .values(current_version=number, updated_at=now))
        versions.append(dict(template_id=template_id, version=number, subject=row["subject"], body=row["body"],
                             created_by=BY, created_at=now))
    if templates:
        op.bulk_insert(_template, templates)
    op.bulk_insert(_version, versions)


def downgrade() -> None:
    bind = op.get_bind()
    names = {(row["name"], row["channel"], row["language"]) for row in _rows()}
    ids = [template_id for template_id, name, channel, language
           in bind.execute(sa.select(_template.c.id, _template.c.name, _template.c.channel, _template.c.language)).all()
           if (name, channel, language) in names]
    op.execute(_version.delete().where(_version.c.template_id.in_(ids), _version.c.created_by == BY))
    left = dict(bind.execute(sa.select(_version.c.template_id, sa.func.max(_version.c.version))
                             .where(_version.c.template_id.in_(ids)).group_by(_version.c.template_id)).all())
    for template_id in ids:
        if template_id in left:
            op.execute(_template.update().where(_template.c.id == template_id)
                       .values(current_version=left[template_id]))
        else:
            op.execute(_template.delete().where(_template.c.id == template_id))
    with op.batch_alter_table('child_scope', schema=None) as batch_op:
        batch_op.drop_column('school_email')
        batch_op.drop_column('school_phone')
        batch_op.drop_column('school_name')
        batch_op.drop_column('child_given_name')
