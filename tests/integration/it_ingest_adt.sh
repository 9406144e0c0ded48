#!/usr/bin/env bash
# it_ingest_adt.sh — ADT rules of the ingest processor on the real server:
# merges (ADT^A40) and the out-of-order guard.
#
# Two patients are registered (A04); an A40 merges the prior one (MRN
# 5001) into the survivor (MRN 5002). The retired patient keeps the
# demographics the ADT feed gave it (MRG carries only identifiers), turns
# inactive and links to the survivor (replaced-by); the survivor links back
# (replaces) and keeps that link through later A08 updates, whose PID has
# no links. An A08 older (MSH-7) than the one that wrote the current
# version is acknowledged but does not overwrite it — neither when it
# arrives late nor when an older message is reprocessed. A merge whose
# prior patient was never registered creates it retired, from MRG. Resending
# everything changes nothing.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/mllp_lib.sh"
command -v python3 >/dev/null || { echo "SKIPPED: python3 is needed"; exit 77; }
command -v curl >/dev/null || { echo "SKIPPED: curl is needed"; exit 77; }

it_begin adt

# Our own fixtures (assigning authority HOSP, OID 1.2.3.4.5).
m() { printf '%s\r' "$@"; }
msh() { # time control-id trigger
    echo "MSH|^~\\&|ADT1|HOSP|CAUSEWAY|HIE|$1||ADT^$3^ADT_A01|$2|P|2.5.1"
}
pid_seg() { # mrn family given street
    echo "PID|1||$1^^^HOSP&1.2.3.4.5&ISO^MR||$2^$3||19600101|F|||$4^^Bayport^ME^04101"
}
m "$(msh 20240301080000 ADT-1 A04)" 'EVN|A04|20240301080000' "$(pid_seg 5001 Older Olga '1 Old Lane')" \
  'PV1|1|O' >"$tmp/reg1.hl7"
m "$(msh 20240301081000 ADT-2 A04)" 'EVN|A04|20240301081000' "$(pid_seg 5002 Newer Nora '2 New Lane')" \
  'PV1|1|O' >"$tmp/reg2.hl7"
m 'MSH|^~\&|ADT1|HOSP|CAUSEWAY|HIE|20240302090000||ADT^A40^ADT_A39|ADT-3|P|2.5.1' \
  'EVN|A40|20240302090000' "$(pid_seg 5002 Newer Nora '2 New Lane')" \
  'MRG|5001^^^HOSP&1.2.3.4.5&ISO^MR' >"$tmp/merge.hl7"
m "$(msh 20240303100000 ADT-4 A08)" 'EVN|A08|20240303100000' "$(pid_seg 5002 Newest Nora '3 Bay Road')" \
  'PV1|1|O' >"$tmp/a08new.hl7"
m "$(msh 20240302120000 ADT-5 A08)" 'EVN|A08|20240302120000' "$(pid_seg 5002 Stale Nora '9 Stale St')" \
  'PV1|1|O' >"$tmp/a08old.hl7"
m 'MSH|^~\&|ADT1|HOSP|CAUSEWAY|HIE|20240304090000||ADT^A40^ADT_A39|ADT-6|P|2.5.1' \
  'EVN|A40|20240304090000' "$(pid_seg 5002 Newest Nora '3 Bay Road')" \
  'MRG|5009^^^HOSP&1.2.3.4.5&ISO^MR' >"$tmp/merge2.hl7"

start_mllp_server A "$tmp/a" || exit 1
pids+=("$A_PID")
hport=$(sed -n 's|^  http  http://[^:]*:\([0-9][0-9]*\)/.*|\1|p' "$tmp/a.out" | head -1)
base="http://127.0.0.1:$hport"

send() { "$CW_BINARY" send --quiet 127.0.0.1:"$A_PORT" "$@"; }
out=$(send "$tmp/reg1.hl7" "$tmp/reg2.hl7" "$tmp/merge.hl7" "$tmp/a08new.hl7" "$tmp/a08old.hl7" "$tmp/merge2.hl7")
check "A04, A04, A40, A08, late older A08, A40 of an unknown patient: all AA ($out)" grep -q ': AA 6$' <<<"$out"

verify() { # label
    PYTHONPATH="$here" python3 - "$base" "$1" <<'PY'
import sys
from fhir_expect import expect, finish, get, start
start(sys.argv[1], sys.argv[2])
def patient(mrn):
    b = get("Patient", identifier="urn:oid:1.2.3.4.5|" + mrn)
    expect("patients with MRN " + mrn, b.get("total"), 1)
    return b["entry"][0]["resource"] if b.get("entry") else {}
old, new, ghost = patient("5001"), patient("5002"), patient("5009")
expect("all patients", get("Patient", _summary="count").get("total"), 3)
expect("retired patient: inactive", old.get("active"), False)
expect("retired patient: keeps its name", [n.get("family") for n in old.get("name", [])], ["Older"])
expect("retired patient: keeps its address", [a.get("line") for a in old.get("address", [])], [["1 Old Lane"]])
expect("retired patient: replaced-by the survivor",
       [(l["type"], l["other"]["reference"]) for l in old.get("link", [])],
       [("replaced-by", "Patient/" + new.get("id", "?"))])
expect("survivor: the newest A08's name (the older A08 came late)", [n.get("family") for n in new.get("name", [])], ["Newest"])
expect("survivor: the newest A08's address", [a.get("line") for a in new.get("address", [])], [["3 Bay Road"]])
expect("survivor: links to both merged patients, kept through the A08",
       sorted((l["type"], l["other"]["reference"]) for l in new.get("link", [])),
       sorted([("replaces", "Patient/" + old.get("id", "?")), ("replaces", "Patient/" + ghost.get("id", "?"))]))
expect("survivor: active", new.get("active", True), True)
exts = [x for x in new.get("meta", {}).get("extension", []) if x["url"].endswith("/v2-message-time")]
expect("survivor: message time is the second A40's", bool(exts) and exts[0]["valueDateTime"].startswith("2024-03-04T09:00:00"), True)
expect("unregistered prior patient: created retired from MRG", (ghost.get("active"), [l["type"] for l in ghost.get("link", [])]), (False, ["replaced-by"]))
expect("survivor history: A04, A40, A08, A40 (the stale A08 wrote no version)", get("Patient/%s/_history" % new.get("id", "?"), _summary="count").get("total"), 4)
finish()
PY
}
check "REST: merge kept the retired patient's data, linked both ways; the late A08 did not overwrite" verify first

out=$(send "$tmp/reg1.hl7" "$tmp/reg2.hl7" "$tmp/merge.hl7" "$tmp/a08new.hl7" "$tmp/a08old.hl7" "$tmp/merge2.hl7")
check "resend: all AA ($out)" grep -q ': AA 6$' <<<"$out"
rp=$(curl -sf -X POST "$base/messages/2/\$reprocess")
check "POST /messages/2/\$reprocess (the survivor's A04): processed" python3 -c '
import json, sys; r = json.loads(sys.argv[1]); sys.exit(0 if r["status"] == "processed" else 1)' "$rp"
# The resend rewrote versions of equal time (idempotent content); the reprocessed
# A04 (older than the current version) wrote none. Content is what counts:
check "REST after the resend and the reprocess: same state" bash -c "
    python3 - '$base' <<'PY'
import json, sys, urllib.request
b = json.load(urllib.request.urlopen(sys.argv[1] + '/fhir/Patient?identifier=urn:oid:1.2.3.4.5|5002'))
r = b['entry'][0]['resource']
ok = [n.get('family') for n in r.get('name', [])] == ['Newest'] and len(r.get('link', [])) == 2
print('  survivor after resend/reprocess:', [n.get('family') for n in r.get('name', [])], len(r.get('link', [])), 'links')
sys.exit(0 if ok else 1)
PY"
check "server stops cleanly" stop_mllp_server A
pids=()

it_end it_ingest_adt
