"""`tas token`: mint a dev JWT from the local dev issuer (the key `tas up` made, found from any directory)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from ..auth import DevIssuer, OrgType
from .base import DEV_AUDIENCE, DEV_ISSUER, Layout, find_instance, find_root


def cmd_token(args: argparse.Namespace) -> int:
    key_dir, issuer, audience = _issuer_settings(args.key_dir)
    if not (key_dir / "private.pem").exists():
        print(
            f"tas token: created a new dev issuer key in {key_dir}; services only accept its tokens if "
            "they use the same TAS_DEV_KEY_DIR",
            file=sys.stderr,
        )
    _warn_missing_scope(args)
    token = (
        DevIssuer(key_dir)
        .ensure()
        .mint(
            issuer=issuer,
            audience=audience,
            sub=args.sub or f"{args.role[0]}-dev",
            org_id=args.org_id,
            org_type=args.org_type,
            roles=args.role,
            name=args.name if args.name is not None else f"{args.role[0]} (dev)",
            school_urns=args.school_urn,
            la_code=args.la_code,
            child_ids=args.child_id,
            ttl_seconds=int(args.ttl_hours * 3600),
        )
    )
    print(token)
    return 0


def _issuer_settings(key_dir_flag: str | None) -> tuple[Path, str, str]:
    """Key directory, issuer and audience: the flag, else the environment, else what the running `tas up`
    recorded, else the defaults under the root's var/."""
    instance = find_instance()
    if key_dir_flag:
        key_dir = Path(key_dir_flag)
    elif os.environ.get("TAS_DEV_KEY_DIR"):
        key_dir = Path(os.environ["TAS_DEV_KEY_DIR"])
    elif instance is not None:
        key_dir = instance.key_dir
    else:
        key_dir = Layout.at(find_root()).key_dir
    issuer = os.environ.get("TAS_JWT_ISSUER") or (instance.issuer if instance else DEV_ISSUER)
    audience = os.environ.get("TAS_JWT_AUDIENCE") or (instance.audience if instance else DEV_AUDIENCE)
    return key_dir, issuer, audience


def _warn_missing_scope(args: argparse.Namespace) -> None:
    needs = {
        OrgType.school: ("school_urn", "--school-urn"),
        OrgType.mis: ("school_urn", "--school-urn"),
        OrgType.local_authority: ("la_code", "--la-code"),
        OrgType.family: ("child_id", "--child-id"),
    }
    if args.org_type in needs:
        attribute, flag = needs[OrgType(args.org_type)]
        if not getattr(args, attribute):
            print(f"tas token: warning: a {args.org_type} token without {flag} is in scope of nothing", file=sys.stderr)


def add_parser(commands: Any) -> None:
    token = commands.add_parser("token", help="print a dev JWT signed by the local dev issuer")
    token.add_argument("--role", action="append", required=True, help="repeat for several roles")
    token.add_argument("--org-type", required=True, choices=[t.value for t in OrgType])
    token.add_argument("--org-id", required=True)
    token.add_argument("--sub", help="subject (default: <first role>-dev)")
    token.add_argument("--name", help="display name (default: '<first role> (dev)')")
    token.add_argument("--school-urn", action="append", default=[], help="repeatable")
    token.add_argument("--la-code")
    token.add_argument("--child-id", action="append", default=[], help="repeatable")
    token.add_argument("--ttl-hours", type=float, default=8.0)
    token.add_argument(
        "--key-dir",
        help="dev issuer key directory (default: $TAS_DEV_KEY_DIR, else the one the running `tas up` uses, "
        "else var/dev-issuer)",
    )
    token.set_defaults(func=cmd_token)
