#!/usr/bin/env bash
# it_ingest_e2e.sh — HL7 v2 in, FHIR out: the whole bridge on the real server.
#
# `causeway send` delivers an ADT^A01, an ADT^A08 (update) and two ORU^R01
# over MLLP; every ACK is AA (sent only after the store commit). Over REST
# the patient is then found by identifier (with the A08's new name: a lab
# result's short PID does not overwrite what the ADT feed says), her
# Observations by LOINC code and by code + date, the report and the
# Provenance of each message. Sending everything again changes no count:
# ids come from the business identifiers, so the resend updates. A message
# without PID is answered AE (with its HL7 error code and location: the
# order it carries cannot be stored without a patient) and waits in the error queue,
# visible over HTTP (GET /messages?status=error, GET /messages/{seq}) and
# with `causeway messages list`; POST /messages/{seq}/$reprocess and
# `causeway messages reprocess` run messages again (the bad one still
# fails, a good one stays processed with nothing duplicated).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/mllp_lib.sh"
command -v python3 >/dev/null || { echo "SKIPPED: python3 is needed"; exit 77; }
command -v curl >/dev/null || { echo "SKIPPED: curl is needed"; exit 77; }

it_begin e2e

# Our own fixtures: one patient (MRN 884422 of HOSP, OID 1.2.3.4.5).
m() { printf '%s\r' "$@"; }
{
m 'MSH|^~\&|ADT1|HOSP|CAUSEWAY|HIE|20240301083000||ADT^A01^ADT_A01|E2E-ADT-1|P|2.5.1' \
  'EVN|A01|20240301083000' \
  'PID|1||884422^^^HOSP&1.2.3.4.5&ISO^MR||Rivera^Ana^M||19750412|F|||12 Harbor Rd^^Bayport^ME^04101||^PRN^PH^^^207^5550101' \
  'PV1|1|I|MED^201^A^HOSP||||1234^Grey^Meredith^^^Dr|||MED||||1|||1234^Grey^Meredith^^^Dr|IN|V7788^^^HOSP^VN|||||||||||||||||||||||||20240301083000'
} >"$tmp/adt.hl7"
{
m 'MSH|^~\&|ADT1|HOSP|CAUSEWAY|HIE|20240302090000||ADT^A08^ADT_A01|E2E-ADT-2|P|2.5.1' \
  'EVN|A08|20240302090000' \
  'PID|1||884422^^^HOSP&1.2.3.4.5&ISO^MR||Rivera-Lopez^Ana^M||19750412|F|||14 Harbor Rd^^Bayport^ME^04101' \
  'PV1|1|I|MED^201^A^HOSP|||||||MED|||||||||V7788^^^HOSP^VN'
} >"$tmp/a08.hl7"
{
m 'MSH|^~\&|LAB|HOSP|CAUSEWAY|HIE|20240301120000||ORU^R01^ORU_R01|E2E-ORU-1|P|2.5.1' \
  'PID|1||884422^^^HOSP&1.2.3.4.5&ISO^MR||Rivera^Ana' \
  'ORC|RE|PL100^HOSP|FL100^LAB' \
  'OBR|1|PL100^HOSP|FL100^LAB|24323-8^Comprehensive metabolic panel^LN|||20240301110000|||||||||||||||20240301115500||CH|F' \
  'OBX|1|NM|2345-7^Glucose^LN||182|mg/dL^mg/dL^UCUM|70-99|H|||F|||20240301110000' \
  'OBX|2|NM|2160-0^Creatinine^LN||1.10|mg/dL^mg/dL^UCUM|0.6-1.3|N|||F|||20240301110000' \
  'OBX|3|ST|8251-1^Service comment^LN||fasting sample||||||F|||20240301110000'
m 'MSH|^~\&|LAB|HOSP|CAUSEWAY|HIE|20240501120000||ORU^R01^ORU_R01|E2E-ORU-2|P|2.5.1' \
  'PID|1||884422^^^HOSP&1.2.3.4.5&ISO^MR||Rivera^Ana' \
  'ORC|RE|PL200^HOSP|FL200^LAB' \
  'OBR|1|PL200^HOSP|FL200^LAB|2345-7^Glucose^LN|||20240501100000|||||||||||||||20240501110000||CH|F' \
  'OBX|1|NM|2345-7^Glucose^LN||131|mg/dL^mg/dL^UCUM|70-99|H|||F|||20240501100000'
} >"$tmp/oru.hl7"
m 'MSH|^~\&|LAB|HOSP|CAUSEWAY|HIE|20240601120000||ORU^R01^ORU_R01|E2E-NOPID|P|2.5.1' \
  'OBR|1|PL300^HOSP|FL300^LAB|2345-7^Glucose^LN|||20240601100000' \
  'OBX|1|NM|2345-7^Glucose^LN||99|mg/dL|||||F' >"$tmp/nopid.hl7"

start_mllp_server A "$tmp/a" || exit 1
pids+=("$A_PID")
hport=$(sed -n 's|^  http  http://[^:]*:\([0-9][0-9]*\)/.*|\1|p' "$tmp/a.out" | head -1)
base="http://127.0.0.1:$hport"
echo "server: MLLP $A_PORT, HTTP $hport"

send() { "$CW_BINARY" send --quiet 127.0.0.1:"$A_PORT" "$@"; }
out=$(send "$tmp/adt.hl7" "$tmp/a08.hl7" "$tmp/oru.hl7")
check "ADT^A01, ADT^A08, 2 ORU^R01: all AA ($out)" grep -q ': AA 4$' <<<"$out"

# Everything over REST is checked by one python script (counts and fields).
verify() { # label
    PYTHONPATH="$here" python3 - "$base" "$1" <<'PY'
import sys
from fhir_expect import expect, finish, get, start
start(sys.argv[1], sys.argv[2])
pb = get("Patient", identifier="urn:oid:1.2.3.4.5|884422")
expect("patients with MRN 884422", pb.get("total"), 1)
pat = pb["entry"][0]["resource"] if pb.get("entry") else {}
expect("family name after A08", [n.get("family") for n in pat.get("name", [])][:1], ["Rivera-Lopez"])
expect("birthDate", pat.get("birthDate"), "1975-04-12")
pid = "Patient/" + pat.get("id", "?")
expect("all patients", get("Patient", _summary="count").get("total"), 1)
glu = get("Observation", subject=pid, code="http://loinc.org|2345-7")
expect("her glucose results", glu.get("total"), 2)
vals = sorted(e["resource"].get("valueQuantity", {}).get("value") for e in glu.get("entry", []))
expect("glucose values", vals, [131, 182])
expect("her glucose since April", get("Observation", subject=pid, code="http://loinc.org|2345-7", date="ge2024-04-01").get("total"), 1)
expect("her Observations", get("Observation", subject=pid, _summary="count").get("total"), 4)
expect("creatinine unit", [e["resource"]["valueQuantity"].get("code") for e in get("Observation", code="http://loinc.org|2160-0").get("entry", [])], ["mg/dL"])
expect("her DiagnosticReports", get("DiagnosticReport", subject=pid, _summary="count").get("total"), 2)
expect("Provenance (one per message)", get("Provenance", _summary="count").get("total"), 4)
expect("MessageHeaders", get("MessageHeader", _summary="count").get("total"), 4)
expect("Encounters (visit V7788)", get("Encounter", subject=pid, _summary="count").get("total"), 1)
# a resend or reprocessing changes no content: no new versions (no-op updates)
expect("patient version (A01, then A08)", pat.get("meta", {}).get("versionId"), "2")
expect("Observation versions", sorted({e["resource"]["meta"]["versionId"] for e in get("Observation", subject=pid).get("entry", [])}), ["1"])
expect("DiagnosticReport versions", sorted({e["resource"]["meta"]["versionId"] for e in get("DiagnosticReport", subject=pid).get("entry", [])}), ["1"])
finish()
PY
}
check "REST after the first delivery: patient by identifier, Observations by code and date" verify first

out=$(send "$tmp/adt.hl7" "$tmp/a08.hl7" "$tmp/oru.hl7")
check "resend: all AA again ($out)" grep -q ': AA 4$' <<<"$out"
check "REST after the resend: nothing duplicated" verify resend

# The error queue.
out=$(send "$tmp/nopid.hl7"); rc=$?
check "ORU without PID: AE, exit 1 ($out)" bash -c "[ $rc = 1 ] && grep -q ': AE 1$' <<<\"\$1\"" _ "$out"
errs=$(curl -sf "$base/messages?status=error")
check "GET /messages?status=error: the one message, AE with its HL7 error code and location, no text" python3 -c '
import json, sys
m = json.loads(sys.argv[1])["messages"]
print("  ", m)
sys.exit(0 if len(m) == 1 and m[0]["ack"] == "AE" and m[0]["error"]["code"] in (101, 207) and m[0]["error"]["location"] and "message" not in m[0] else 1)' "$errs"
code=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["messages"][0]["error"]["code"])' "$errs")
seq=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["messages"][0]["seq"])' "$errs")
check "GET /messages/$seq: the message text" bash -c "curl -sf '$base/messages/$seq' | grep -q 'E2E-NOPID'"
check "GET /messages/999999: 404" bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' '$base/messages/999999')\" = 404 ]"
check "GET /messages?status=bogus: 400" bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' '$base/messages?status=bogus')\" = 400 ]"
rp=$(curl -sf -X POST "$base/messages/$seq/\$reprocess")
check "POST /messages/$seq/\$reprocess: still an error ($code)" python3 -c '
import json, sys; r = json.loads(sys.argv[1]); sys.exit(0 if r["status"] == "error" and r["error"]["code"] == int(sys.argv[2]) else 1)' "$rp" "$code"
rp=$(curl -sf -X POST "$base/messages/3/\$reprocess")
check "POST /messages/3/\$reprocess (the first ORU): processed" python3 -c '
import json, sys; r = json.loads(sys.argv[1]); sys.exit(0 if r["status"] == "processed" and r["resources"] > 0 else 1)' "$rp"
check "REST after reprocessing: nothing duplicated" verify reprocess
out=$("$CW_BINARY" messages list --status error --data "$tmp/a")
check "causeway messages list --status error: the same row" grep -q "^$seq .* error .*AE *$code " <<<"$out"
check "server stops cleanly" stop_mllp_server A
pids=()
out=$("$CW_BINARY" messages reprocess --status error --data "$tmp/a"); rc=$?
check "causeway messages reprocess --status error (offline): 1 error, exit 1 ($out)" bash -c "[ $rc = 1 ] && grep -q '1 processed\|0 processed, 1 error' <<<\"\$1\"" _ "$out"
out=$("$CW_BINARY" messages reprocess 1 2 3 4 --data "$tmp/a"); rc=$?
check "causeway messages reprocess 1 2 3 4 (offline): 4 processed ($out)" bash -c "[ $rc = 0 ] && grep -q '4 processed, 0 errors' <<<\"\$1\"" _ "$out"
start_mllp_server B "$tmp/a" || exit 1
pids+=("$B_PID")
hport=$(sed -n 's|^  http  http://[^:]*:\([0-9][0-9]*\)/.*|\1|p' "$tmp/a.out" | head -1)
base="http://127.0.0.1:$hport"
check "REST after offline reprocessing: nothing duplicated" verify offline

it_end it_ingest_e2e
