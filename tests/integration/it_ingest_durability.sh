#!/usr/bin/env bash
# it_ingest_durability.sh — nothing ACKed is lost, nothing is applied twice.
#
# Streams 10,000 generated ORU^R01 messages (1-3 OBX each: the volume of
# resources is not the point here, bench/ingest_e2e.sh measures 5-20) to the
# real server (tests/integration/mllp_stream.py records every control id
# that came back AA), kills the server with SIGKILL mid-stream, restarts it
# on the same data folder, and checks:
#   - every message acknowledged AA is in the journal exactly once (the AA
#     went out only after the journal's fsync'ed commit);
#   - after the restart nothing is left unprocessed: rows the killed run
#     journaled but never processed are processed at start-up (status
#     processed or error, none received);
#   - the sender then resends everything that was not acknowledged, and all
#     10,000 end up acknowledged.
#   - the FHIR store (read over REST) holds each acknowledged message exactly
#     once: one Provenance per message control id (it names MSH-10), and as
#     many Observations as the stored messages have OBX segments — none
#     lost, none duplicated by the replay at start-up or by the resend.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/mllp_lib.sh"
command -v python3 >/dev/null || { echo "SKIPPED: python3 is needed"; exit 77; }

N=${CW_DURABILITY_MESSAGES:-10000}
it_begin dur

start_mllp_server A "$tmp/a" || exit 1
pids+=("$A_PID")
: >"$tmp/acked"
python3 "$here/mllp_stream.py" 127.0.0.1 "$A_PORT" "$N" "$tmp/acked" --window 32 --tag DUR --obx-min 1 --obx-max 3 \
    >"$tmp/stream1.out" 2>&1 &
spid=$!
# Kill when about a third has been acknowledged (or the stream ended).
target=$((N / 3))
for _ in $(seq 1 600); do
    [ "$(wc -l <"$tmp/acked")" -ge "$target" ] && break
    kill -0 "$spid" 2>/dev/null || break
    sleep 0.1
done
kill -KILL "$A_PID"
wait "$A_PID" 2>/dev/null
wait "$spid"
src=$?
n1=$(wc -l <"$tmp/acked")
echo "  killed the server after $n1 AA of $N (stream exit $src: $(tail -1 "$tmp/stream1.out"))"
check "the stream was cut mid-way" test "$n1" -gt 0 -a "$n1" -lt "$N"

# Journal check: each AA'd control id exactly once (read-only, as the
# killed server left it: the WAL is replayed by SQLite on open).
journal_ids_py() { # db acked_file mode(exact|atleast)
    python3 - "$@" <<'PY'
import sqlite3, sys, collections
db, acked, mode = sys.argv[1], sys.argv[2], sys.argv[3]
con = sqlite3.connect(db)
cnt = collections.Counter()
status = collections.Counter()
for raw, st in con.execute("SELECT raw, status FROM message"):
    msh = raw.split(b"\r", 1)[0].decode("latin-1").split("|")
    cnt[msh[9]] += 1
    status[st] += 1
ids = [l.strip() for l in open(acked) if l.strip()]
missing = [i for i in ids if cnt[i] == 0]
twice = [i for i in ids if cnt[i] > 1]
print("  journal: %d rows, %s; acknowledged %d, missing %d, more than once %d"
      % (sum(cnt.values()), dict(status), len(ids), len(missing), len(twice)))
if mode == "exact" and len(set(ids)) != len(ids): print("  an id was acknowledged twice"); sys.exit(1)
if mode != "exact" and status.get("received", 0): print("  rows left unprocessed"); sys.exit(1)
sys.exit(1 if missing or (mode == "exact" and twice) else 0)
PY
}
check "every AA'd message is in the journal exactly once" journal_ids_py "$tmp/a/journal.db" "$tmp/acked" exact

# Restart on the same data: unprocessed rows are processed before the
# listener opens.
start_mllp_server B "$tmp/a" || exit 1
pids+=("$B_PID")
check "after the restart no journal row is left unprocessed" \
    python3 -c "
import sqlite3, sys, time
for _ in range(100):
    n = sqlite3.connect(sys.argv[1]).execute(\"SELECT count(*) FROM message WHERE status = 'received'\").fetchone()[0]
    if n == 0: sys.exit(0)
    time.sleep(0.1)
print('  still received:', n); sys.exit(1)" "$tmp/a/journal.db"

# The sender resends what was not acknowledged.
python3 - "$tmp/acked" "$N" >"$tmp/resend.txt" <<'PY'
import sys
acked = {l.strip() for l in open(sys.argv[1]) if l.strip()}
print(" ".join(str(k) for k in range(int(sys.argv[2])) if "DUR-%d" % k not in acked))
PY
read -r -a todo <"$tmp/resend.txt"
echo "  resending ${#todo[@]} unacknowledged messages"
# mllp_stream sends a contiguous range: resend from the first unacknowledged one.
first=${todo[0]:-$N}
python3 "$here/mllp_stream.py" 127.0.0.1 "$B_PORT" "$((N - first))" "$tmp/acked" --start "$first" \
    --window 32 --tag DUR --obx-min 1 --obx-max 3 >"$tmp/stream2.out" 2>&1
check "resend: every message acknowledged AA ($(tail -1 "$tmp/stream2.out"))" test $? = 0
check "all $N control ids acknowledged" \
    python3 -c "import sys; s={l.strip() for l in open(sys.argv[1]) if l.strip()}; sys.exit(0 if all('DUR-%d' % k in s for k in range(int(sys.argv[2]))) else 1)" "$tmp/acked" "$N"
check "server stops cleanly" stop_mllp_server B
pids=()
check "journal: every message at least once, none left unprocessed" journal_ids_py "$tmp/a/journal.db" "$tmp/acked" atleast

# The store, over REST, on a server started once more (HTTP only).
"$CW_BINARY" serve --http 127.0.0.1:0 --mllp off --data "$tmp/a" --log-level warn >"$tmp/c.out" 2>"$tmp/c.err" &
pids+=($!)
_wait_for_line "$tmp/c.out" "^  http" 20 || { cat "$tmp/c.out" "$tmp/c.err"; exit 1; }
hport=$(sed -n 's|^  http  http://[^:]*:\([0-9][0-9]*\)/.*|\1|p' "$tmp/c.out" | head -1)
check "store: every message once (one Provenance per control id, every OBX one Observation)" \
    python3 - "$hport" "$N" "$here" <<'PY'
import collections, json, sys, urllib.request
port, n, here = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
sys.path.insert(0, here)
from mllp_stream import obx_count
def fetch(url):
    with urllib.request.urlopen(url, timeout=120) as r:
        return json.load(r)
base = "http://127.0.0.1:%d/fhir" % port
ids = collections.Counter()
url = base + "/Provenance?_count=1000"
while url:
    b = fetch(url)
    for e in b.get("entry", []):
        for ent in e["resource"].get("entity", []):
            v = ent.get("what", {}).get("identifier", {}).get("value")
            if v: ids[v] += 1
    url = next((l["url"] for l in b.get("link", []) if l["relation"] == "next"), None)
obs = fetch(base + "/Observation?_summary=count")["total"]
want = sum(obx_count(k, 1, 3) for k in range(n))
missing = [k for k in range(n) if ids["DUR-%d" % k] == 0]
twice = [i for i, c in ids.items() if c > 1]
print("  store: %d Provenance for %d control ids (missing %d, twice %d); Observations %d, expected %d"
      % (sum(ids.values()), len(ids), len(missing), len(twice), obs, want))
sys.exit(0 if not missing and not twice and len(ids) == n and obs == want else 1)
PY

it_end it_ingest_durability
