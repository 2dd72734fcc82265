"""Who may call each route, as data: the authorisation matrix (tests/access/test_matrix.py) asks every route of every
service × every kind of caller × the child in scope and a child out of scope, and docs/access.md is generated from
this table (`python -m tests.access.rules > docs/access.md`).

For each route, `ok` maps a caller to the status it gets about the child in scope — a 2xx, or a 409/412/422/428
that a request only reaches once access is granted (the matrix sends such requests so that it changes nothing that
matters); `out` the same for the child out of scope. Every other caller gets:
- 401 without a token (unless the route is public);
- 403 when the route's guard refuses its organisation type or role, or when it is in `deny` (it may see the
  child but not do this);
- otherwise `other`: 404 for a route about a child (its existence is not revealed), 403 for a route whose body
  names a school outside the caller's scope.

A route about no particular child (`child=False`) is asked once. A list (`sees_in`/`sees_out`) must not mention
a child (its id, UPN or concern id) to callers outside those sets.
"""

from __future__ import annotations

from .rule_base import Rule
from .rules_caseload import CASELOAD
from .rules_insights import INSIGHTS
from .rules_notify import NOTIFY
from .rules_referral import REFERRAL

RULES: dict[str, dict[str, Rule]] = {
    "referral": REFERRAL,
    "caseload": CASELOAD,
    "notify": NOTIFY,
    "insights": INSIGHTS,
}


def markdown() -> str:
    lines = [
        "# Who may call what",
        "",
        "Generated from `tests/access/rules.py` (`python -m tests.access.rules > docs/access.md`), the table the",
        "authorisation matrix (`tests/access/test_matrix.py`) checks against every route of every service, for",
        "every kind of caller, about a child in scope and a child out of scope. Without a token: 401. A caller",
        "whose organisation type or role the route does not take: 403. A caller with no relationship to the",
        "child: 404 (the child's existence is not revealed). A caller who may see the child but not do this:",
        '403. See README.md "Roles and tokens" for the roles and how to mint tokens.',
        "",
    ]
    for service, rules in RULES.items():
        lines += [f"## {service}", "", "| route | who may call it |", "| --- | --- |"]
        lines += [f"| `{route}` | {rule.who} |" for route, rule in rules.items()]
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown(), end="")
