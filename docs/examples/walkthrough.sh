#!/usr/bin/env bash
# The whole TAS flow with curl, against `make run` (run it from the project root in a second terminal):
#   concern -> child in caseload -> referral to speech and language therapy -> the therapist accepts and joins the
#   team -> the school, the therapist and the family contribute to the plan -> it is shared, agreed and versioned
#   -> the FHIR export validates -> the family's messages; then an MIS batch push, sent twice.
# Every person, UPN and number is fictional. Re-runnable: each run uses a new pupil.
set -euo pipefail
R=${REFERRAL_URL:-http://127.0.0.1:8001}; C=${CASELOAD_URL:-http://127.0.0.1:8002}; N=${NOTIFY_URL:-http://127.0.0.1:8003}
TAS=.venv/bin/tas; PY=.venv/bin/python
json() { $PY -c "import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1], {}, {'d': d}))" "$1"; }
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
wait_for() {  # wait_for DESCRIPTION COMMAND...: retry for up to 15 s until COMMAND prints something
  local what=$1; shift
  for _ in $(seq 1 75); do out=$("$@" 2>/dev/null || true); [ -n "$out" ] && { echo "$out"; return 0; }; sleep 0.2; done
  echo "timed out waiting for $what" >&2; return 1
}

SENCO=$($TAS token --role senco --org-type school --org-id school-100000 --school-urn 100000 --name "Sam Senco" 2>/dev/null)
SLT=$($TAS token --role slt --org-type health --org-id nhs-trust-1 --sub slt-1 --name "Sam Therapist" 2>/dev/null)
MIS=$($TAS token --role mis_client --org-type mis --org-id mis-vendor-1 --sub mis-client-1 --school-urn 100000 2>/dev/null)
auth() { echo "Authorization: Bearer $1"; }

SERIAL=$($PY -c 'import random; print(random.randrange(100, 999))'); SCHOOL=$($PY -c 'import random; print(random.randrange(1000, 9999))')
read -r UPN NHS <<<"$($PY -c "from tas_dev.testing import *; import sys; n, s=int(sys.argv[1]), int(sys.argv[2]); print(fictional_upn(n, school=s), fictional_nhs_number(n * 10000 + s))" "$SERIAL" "$SCHOOL")"

say "1. The SENCO raises a concern about pupil $UPN (referral)"
CONCERN=$(curl -sf -X POST $R/v1/concerns -H "$(auth $SENCO)" -H 'Content-Type: application/json' \
  -H "Idempotency-Key: walkthrough-$UPN" -d "{
  \"school_urn\": \"100000\",
  \"child\": {\"upn\": \"$UPN\", \"nhs_number\": \"$NHS\", \"given_name\": \"Maya\", \"family_name\": \"Fairweather\",
            \"date_of_birth\": \"2017-03-14\", \"year_group\": \"Y4\"},
  \"areas_of_need\": [\"communication_and_interaction\"],
  \"summary\": \"Finds it hard to follow spoken instructions; speech often unclear to peers.\",
  \"already_tried\": \"Small-group language support for a term; visual timetable.\",
  \"family_contacts\": [{\"name\": \"Alex Fairweather\", \"relationship\": \"parent\", \"parental_responsibility\": true,
                        \"mobile\": \"07700 900$SERIAL\", \"email\": \"alex.fairweather$SERIAL@example.org\",
                        \"preferred_channel\": \"email\", \"language\": \"en\"}],
  \"consent_status\": \"given\"}" | json 'd["id"]')
echo "concern $CONCERN"

say "2. Caseload created the child from tas.referral.concern.raised"
CHILD=$(wait_for "the child" sh -c "curl -sf '$C/v1/children?upn=$UPN' -H '$(auth $SENCO)' | $PY -c 'import json,sys; i=json.load(sys.stdin)[\"items\"]; print(i[0][\"id\"] if i else \"\")'")
echo "child $CHILD"
# A parent's token names the child and, as `sub`, their own family-member id in caseload (their login maps to it).
MEMBER=$(curl -sf $C/v1/children/$CHILD/family -H "$(auth $SENCO)" | json '(d["items"] if isinstance(d, dict) else d)[0]["id"]')
FAMILY=$($TAS token --role parent --org-type family --org-id family-$SERIAL --sub $MEMBER --child-id $CHILD --name "Alex Fairweather" 2>/dev/null)

say "3. The SENCO refers the concern to speech and language therapy; the therapist accepts"
REFERRAL=$(curl -sf -X POST $R/v1/referrals -H "$(auth $SENCO)" -H 'Content-Type: application/json' \
  -d "{\"concern_id\": \"$CONCERN\", \"service_ids\": [\"999-salt\"], \"note\": \"Please assess expressive language\"}" \
  | json '(d["items"] if isinstance(d, dict) and "items" in d else d)[0]["id"]')
echo "referral $REFERRAL"
curl -sf -X POST $R/v1/referrals/$REFERRAL/accept -H "$(auth $SLT)" | json '"status: " + d["status"]'

say "4. The therapist joined the child's team (caseload consumed tas.referral.referral.accepted)"
wait_for "the therapist on the team" sh -c "curl -sf $C/v1/children/$CHILD/team -H '$(auth $SENCO)' | grep -o '\"sub\": *\"slt-1\"\\|\"member_sub\": *\"slt-1\"'"
curl -sf $C/v1/children/$CHILD -H "$(auth $SLT)" | json '"the therapist can read the record: " + d["upn"]'

say "5. Two agencies and the family write the plan (If-Match on the ETag)"
etag() { curl -sfi $C/v1/children/$CHILD/plan -H "$(auth $1)" | tr -d '\r' | awk -F': ' 'tolower($1)=="etag"{print $2}'; }
curl -sf -X PUT $C/v1/children/$CHILD/plan -H "$(auth $SENCO)" -H "If-Match: $(etag $SENCO)" -H 'Content-Type: application/json' \
  -d '{"needs": [{"area": "communication_and_interaction", "description": "Expressive language below age expectations"}]}' >/dev/null && echo "school: needs written"
curl -sf -X PUT $C/v1/children/$CHILD/plan -H "$(auth $SLT)" -H "If-Match: $(etag $SLT)" -H 'Content-Type: application/json' \
  -d '{"outcomes": [{"area": "communication_and_interaction", "description": "Follows two-step instructions in class",
       "measure": "8 of 10 observed instructions", "lifecycle_status": "active"}],
       "provision": [{"what": "Speech and language therapy sessions", "agency": "NHS trust", "person": "Sam Therapist",
       "frequency": "weekly, 30 minutes", "start": "2026-12-01", "end": "2027-03-31", "funded_by": "NHS"}]}' >/dev/null && echo "health: outcome and provision written"
STALE=$(etag $SENCO)
curl -sf -X PUT $C/v1/children/$CHILD/plan -H "$(auth $FAMILY)" -H "If-Match: $STALE" -H 'Content-Type: application/json' \
  -d '{"about_me": [{"voice": "family", "text": "Maya loves drawing and animals; she wants to make friends at lunch."}]}' >/dev/null && echo "family: about me written"
CODE=$(curl -s -o /dev/null -w '%{http_code}' -X PUT $C/v1/children/$CHILD/plan -H "$(auth $SENCO)" -H "If-Match: $STALE" \
  -H 'Content-Type: application/json' -d '{"needs": []}')
echo "a second edit on the same (now stale) version: HTTP $CODE (412 expected; nothing lost)"

say "6. Share the plan with the family for comment, then agree it; versions and diff"
curl -sf -X POST $C/v1/children/$CHILD/plan/publish -H "$(auth $SENCO)" -H 'Content-Type: application/json' -d '{"status": "shared_for_comment"}' | json '"published version %s: %s, changed %s" % (d["number"], d["status"], d["changed_sections"])'
curl -sf -X POST $C/v1/children/$CHILD/plan/publish -H "$(auth $SENCO)" -H 'Content-Type: application/json' -d '{"status": "agreed"}' | json '"published version %s: %s, changed %s" % (d["number"], d["status"], d["changed_sections"])'
curl -sf $C/v1/children/$CHILD/plan/versions -H "$(auth $SENCO)" | json '"versions: " + str([(v["number"], v["status"]) for v in d["items"]])'
curl -sf "$C/v1/children/$CHILD/plan/diff?from=1&to=2" -H "$(auth $SENCO)" | head -c 300; echo

say "7. FHIR R4 export validates"
curl -sf $C/v1/children/$CHILD/plan/fhir -H "$(auth $SLT)" | $PY -c '
import json, sys
from fhir.resources.R4B.bundle import Bundle
bundle = Bundle.model_validate(json.load(sys.stdin))
print("valid FHIR Bundle:", ", ".join(sorted(e.resource.__resource_type__ for e in bundle.entry)))'

say "8. The family was told, by email, in English, once per event (notify)"
sleep 2
curl -sf "$N/v1/notifications?child_id=$CHILD" -H "$(auth $FAMILY)" | json '"\n".join("%-28s %-5s %s %s" % (n["template"], n["channel"], n["language"], n["status"]) for n in d["items"])'
echo "(the emails are in var/mail/*.eml)"

say "9. The school's MIS pushes a batch (one bad item); re-sending creates nothing twice"
MIS_UPN=$($PY -c "from tas_dev.testing import fictional_upn; print(fictional_upn($SERIAL, school=($SCHOOL + 1) % 10000))")
BATCH="{\"items\": [
  {\"mis_record_id\": \"SIMS-$UPN-1\", \"school_urn\": \"100000\", \"child\": {\"upn\": \"$MIS_UPN\",
   \"given_name\": \"Ben\", \"family_name\": \"Khan\", \"date_of_birth\": \"2016-09-02\"}, \"summary\": \"Reading age two years behind.\", \"consent_status\": \"given\"},
  {\"mis_record_id\": \"SIMS-$UPN-2\", \"school_urn\": \"100000\", \"child\": {\"upn\": \"A123\",
   \"given_name\": \"Efa\", \"family_name\": \"Owen\", \"date_of_birth\": \"2016-05-20\"}, \"summary\": \"Hearing checks needed.\"}]}"
curl -sf -X POST $R/v1/mis/concerns -H "$(auth $MIS)" -H 'Content-Type: application/json' -d "$BATCH" | json '"first push:  created=%s duplicates=%s invalid=%s" % (d["created"], d["duplicates"], d["invalid"])'
curl -sf -X POST $R/v1/mis/concerns -H "$(auth $MIS)" -H 'Content-Type: application/json' -d "$BATCH" | json '"second push: created=%s duplicates=%s invalid=%s" % (d["created"], d["duplicates"], d["invalid"])'
wait_for "the MIS pupil in caseload" sh -c "curl -sf '$C/v1/children?upn=$MIS_UPN' -H '$(auth $SENCO)' | $PY -c 'import json,sys; i=json.load(sys.stdin)[\"items\"]; print(\"caseload has the MIS pupil: \" + i[0][\"id\"] if i else \"\")'"
say "done"
