"""`tas-mis-push`: push a CSV export of pupils with concerns to TAS, in batches, the way a school's data manager
would: a progress bar, then a summary of created / duplicate / updated / conflict / invalid, and a report with one
line per row of the CSV (its row number, record id, status, the concern's id, and the fields at fault).

    tas-mis-push pupils.csv --base-url https://tas.example.org --client-id $CLIENT_ID --key-file vendor.pem

The CSV has a header row; columns (empty cells are left out; `areas_of_need` separated by `;`):
mis_record_id, school_urn, upn, nhs_number, given_name, family_name, date_of_birth (YYYY-MM-DD), year_group,
areas_of_need, safeguarding (yes/no), summary, urgency, already_tried, consent_status, lawful_basis,
parent_name, parent_relationship, parent_responsibility (yes/no), parent_mobile, parent_email, parent_channel
(sms/email), parent_language (en/cy)."""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tqdm import tqdm

from .auth import ClientCredentials
from .pushing import PushError, PushSummary, push_all

CHILD = ("upn", "nhs_number", "given_name", "family_name", "date_of_birth", "year_group")
CONCERN = ("summary", "urgency", "already_tried", "consent_status", "lawful_basis")
PARENT = {
    "parent_name": "name",
    "parent_relationship": "relationship",
    "parent_responsibility": "parental_responsibility",
    "parent_mobile": "mobile",
    "parent_email": "email",
    "parent_channel": "preferred_channel",
    "parent_language": "language",
}
FIELD_COLUMNS = {f"child.{c}": c for c in CHILD} | {
    f"family_contacts.0.{field}": column for column, field in PARENT.items()
}
YES = {"yes", "y", "true", "1"}


def _flag(value: str) -> bool | str:
    low = value.strip().lower()
    return True if low in YES else False if low in {"no", "n", "false", "0"} else value


def item_of(row: dict[str, str]) -> dict[str, Any]:
    """A CSV row as an MIS push item (the API checks it; a bad cell comes back as an invalid field)."""
    cell = {k.strip(): (v or "").strip() for k, v in row.items() if k}
    item: dict[str, Any] = {"mis_record_id": cell.get("mis_record_id", ""), "school_urn": cell.get("school_urn", "")}
    item["child"] = {c: cell[c] for c in CHILD if cell.get(c)}
    if cell.get("areas_of_need"):
        item["areas_of_need"] = [a.strip() for a in cell["areas_of_need"].split(";") if a.strip()]
    if cell.get("safeguarding"):
        item["safeguarding"] = _flag(cell["safeguarding"])
    item |= {c: cell[c] for c in CONCERN if cell.get(c)}
    parent: dict[str, Any] = {field: cell[column] for column, field in PARENT.items() if cell.get(column)}
    if parent:
        if "parental_responsibility" in parent:
            parent["parental_responsibility"] = _flag(parent["parental_responsibility"])
        item["family_contacts"] = [parent]
    return item


def read_csv(path: Path) -> list[dict[str, Any]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return [item_of(row) for row in csv.DictReader(handle)]


def write_report(path: Path, summary: PushSummary) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["row", "mis_record_id", "status", "concern_id", "fields"])
        for result in sorted(summary.results, key=lambda r: r["index"]):
            fields = [FIELD_COLUMNS.get(e["field"], e["field"]) for e in result.get("errors") or []]
            fields += result.get("conflicts") or []
            fields += result.get("changed") or []
            writer.writerow(
                [
                    result["index"] + 2,
                    result.get("mis_record_id") or "",
                    result["status"],
                    result.get("concern_id") or "",
                    "; ".join(fields),
                ]
            )


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="tas-mis-push", description=__doc__.split("\n\n")[0])
    parser.add_argument("csv", type=Path, help="the export: one pupil with a concern per row")
    parser.add_argument("--base-url", default=os.environ.get("TAS_BASE_URL", "http://127.0.0.1:8001"))
    parser.add_argument("--token-url", help="default: <base-url>/v1/mis/oauth/token")
    parser.add_argument(
        "--client-id", default=os.environ.get("TAS_CLIENT_ID"), required="TAS_CLIENT_ID" not in os.environ
    )
    parser.add_argument("--key-file", type=Path, help="the client's private key (PEM): private_key_jwt")
    parser.add_argument(
        "--secret-env", default="TAS_CLIENT_SECRET", help="an environment variable with the client secret"
    )
    parser.add_argument("--batch-size", type=int, default=1000, choices=range(1, 1001), metavar="1..1000")
    parser.add_argument("--report", type=Path, help="default: <csv>.report.csv")
    parser.add_argument("--no-progress", action="store_true")
    return parser.parse_args(argv)


async def run(args: argparse.Namespace, *, transport: Any = None) -> PushSummary:
    token_url = args.token_url or args.base_url.rstrip("/") + "/v1/mis/oauth/token"
    if args.key_file:
        credentials = ClientCredentials.from_key_file(token_url, args.client_id, args.key_file, transport=transport)
    else:
        secret = os.environ.get(args.secret_env)
        if not secret:
            raise SystemExit(f"give --key-file, or the client secret in ${args.secret_env}")
        credentials = ClientCredentials(token_url, args.client_id, client_secret=secret, transport=transport)
    items = read_csv(args.csv)
    with tqdm(total=len(items), unit="pupil", disable=args.no_progress, file=sys.stderr) as bar:

        def progress(done: int, summary: PushSummary) -> None:
            bar.update(done - bar.n)
            bar.set_postfix(created=summary.created, duplicate=summary.duplicates, invalid=summary.invalid)

        return await push_all(
            args.base_url, credentials, items, max_items=args.batch_size, on_batch=progress, transport=transport
        )


def main(argv: Sequence[str] | None = None, *, transport: Any = None) -> int:
    args = parse(argv)
    try:
        summary = asyncio.run(run(args, transport=transport))
    except PushError as exc:
        print(f"tas-mis-push: {exc}", file=sys.stderr)
        return 2
    report = args.report or args.csv.with_suffix(".report.csv")
    write_report(report, summary)
    print(
        f"created {summary.created}, duplicate {summary.duplicates}, updated {summary.updated}, "
        f"conflict {summary.conflicts}, invalid {summary.invalid}; one line per row in {report}"
    )
    return 1 if summary.invalid or summary.conflicts else 0


if __name__ == "__main__":
    sys.exit(main())
