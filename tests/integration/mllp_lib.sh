# mllp_lib.sh — helpers shared by the MLLP integration tests (sourced).
#
# start_mllp_server NAME DATA_DIR [extra --key value ...]
#   Starts `causeway serve` on free loopback ports. When that binary has no
#   HL7 v2 ACK builder yet (it then prints "mllp  not started: ..."), the
#   test-only helper_mllp_server is used instead: the same server code with
#   the stub ACK builder of tests/server/ack_stub.h. Sets ${NAME}_PID,
#   ${NAME}_PORT and ${NAME}_KIND ("causeway" or "test-stub").
# stop_mllp_server NAME   SIGTERM, wait, and check a clean exit.
#
# it_begin NAME    a test's common start: $tmp (a fresh folder, removed on
#                  exit), pids=() (processes killed on exit), failures=0
# check WHAT CMD...  run CMD, print "ok   WHAT" or "FAIL WHAT" (counted)
# it_end NAME      the verdict line and exit status

: "${CW_BINARY:?CW_BINARY not set}"
CW_HELPER_SERVER="${CW_BUILD_DIR:-}/tests/helper_mllp_server"

_wait_for_line() { # file pattern timeout_s
    local i
    for ((i = 0; i < $3 * 10; i++)); do
        grep -q "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

start_mllp_server() {
    local name=$1 data=$2
    shift 2
    local out="$data.out" pid port kind=causeway
    mkdir -p "$data"
    "$CW_BINARY" serve --http 127.0.0.1:0 --mllp 127.0.0.1:0 --data "$data" --log-level warn "$@" \
        >"$out" 2>"$data.err" &
    pid=$!
    if ! _wait_for_line "$out" "^  mllp" 20; then
        echo "FAIL: causeway serve did not start"; cat "$out" "$data.err"; kill "$pid" 2>/dev/null; return 1
    fi
    if grep -q "^  mllp  not started" "$out"; then
        kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
        if [ ! -x "$CW_HELPER_SERVER" ]; then echo "FAIL: no ACK builder and no $CW_HELPER_SERVER"; return 1; fi
        kind=test-stub
        CW_STUB_CHECK_COMMITTED="$data/journal.db" "$CW_HELPER_SERVER" --http 127.0.0.1:0 \
            --mllp 127.0.0.1:0 --data "$data" --log-level warn "$@" >"$out" 2>"$data.err" &
        pid=$!
        if ! _wait_for_line "$out" "^  mllp" 20; then
            echo "FAIL: helper server did not start"; cat "$out" "$data.err"; kill "$pid" 2>/dev/null; return 1
        fi
    fi
    port=$(sed -n 's/^  mllp  [^ ]*:\([0-9][0-9]*\).*/\1/p' "$out" | head -1)
    if [ -z "$port" ]; then echo "FAIL: no MLLP port in: $(cat "$out")"; kill "$pid"; return 1; fi
    printf -v "${name}_PID" %s "$pid"
    printf -v "${name}_PORT" %s "$port"
    printf -v "${name}_KIND" %s "$kind"
    echo "server $name: $kind on 127.0.0.1:$port (pid $pid)"
}

stop_mllp_server() {
    local name=$1 pidvar="${1}_PID" rc=0
    local pid=${!pidvar}
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" || rc=$?
    if [ "$rc" != 0 ]; then echo "FAIL: server $name exited with $rc"; return 1; fi
}

# Count messages and ACK-type messages in files, with the splitting rules
# of net/mllp.h (= ../shared/bench/peers/README.md "Input rules"), and write
# the messages (\r-terminated segments) to OUT_DIR/NNNNN.msg.
split_messages_py() { # out_dir files...
    python3 - "$@" <<'PY'
import os, re, sys
out = sys.argv[1]; os.makedirs(out, exist_ok=True)
n = acks = 0
for path in sys.argv[2:]:
    data = open(path, 'rb').read()
    if data.startswith(b'\xef\xbb\xbf'): data = data[3:]
    cur = None
    msgs = []
    for line in re.split(rb'\r\n|\r|\n', data):
        line = line.lstrip(b' \t\n\r\f\v\x0b\x1c').rstrip(b'\x0b\x1c')
        if not line or re.match(rb'^(FHS|BHS|BTS|FTS)\|', line): continue
        if line.startswith(b'MSH'):
            if cur is not None: msgs.append(cur)
            cur = [line]
        elif cur is not None:
            cur.append(line)
    if cur is not None: msgs.append(cur)
    for m in msgs:
        body = b''.join(s + b'\r' for s in m)
        fs = body[3:4]
        f = body.split(b'\r')[0].split(fs)
        t = f[8] if len(f) > 8 else b''
        if t[:3] == b'ACK' and (len(t) == 3 or not t[3:4].isalnum()): acks += 1
        n += 1
        open(os.path.join(out, '%05d.msg' % n), 'wb').write(body)
print(n, acks)
PY
}

# Check the journal's raw messages equal, as a multiset, the *.msg files of
# the given folders (a folder named twice counts twice), and that it has
# ROWS rows. MODE "exact" compares bytes; "peer" ignores trailing whitespace on
# both sides and compares text decoded as UTF-8 with replacement, as the
# JavaScript peers read and write it (they drop the last segment's
# terminator and turn invalid UTF-8 into U+FFFD). SKIP names
# files (basenames, comma-separated) of the FIRST folder to leave out.
check_journal_py() { # journal.db rows mode skip dir...
    python3 - "$@" <<'PY'
import collections, os, sqlite3, sys
db, want, mode, skip = sys.argv[1], int(sys.argv[2]), sys.argv[3], set(filter(None, sys.argv[4].split(',')))
dirs = sys.argv[5:]
norm = (lambda b: b.decode('utf-8', 'replace').rstrip().encode()) if mode == 'peer' else (lambda b: b)
con = sqlite3.connect('file:%s?mode=ro' % db, uri=True)
ver = con.execute('PRAGMA user_version').fetchone()[0]
rows = con.execute('SELECT raw, status, channel, peer FROM message ORDER BY seq').fetchall()
got = collections.Counter(norm(bytes(r[0])) for r in rows)
exp = collections.Counter()
for i, d in enumerate(dirs):
    for name in os.listdir(d):
        if not name.endswith('.msg') or (i == 0 and name in skip): continue
        exp[norm(open(os.path.join(d, name), 'rb').read())] += 1
ok = True
if len(rows) != want: print('journal rows %d, expected %d' % (len(rows), want)); ok = False
if got != exp:
    miss, extra = list((exp - got).elements()), list((got - exp).elements())
    print('journal content differs: %d missing, %d unexpected' % (len(miss), len(extra))); ok = False
    for m in miss[:3]:
        best = min(extra, key=lambda e: abs(len(e) - len(m)), default=b'')
        i = next((k for k in range(min(len(m), len(best))) if m[k] != best[k]), min(len(m), len(best)))
        print('  missing %d bytes; nearest unexpected %d bytes; first difference at %d: %r vs %r' % (len(m), len(best), i, m[i:i+6], best[i:i+6]))
if any(r[2] != 'mllp' or not r[3].startswith('127.0.0.1:') for r in rows): print('bad channel/peer'); ok = False
print('journal: schema v%d, %d rows, statuses %s' % (ver, len(rows), dict(collections.Counter(r[1] for r in rows))))
sys.exit(0 if ok else 1)
PY
}

it_begin() {
    tmp=$(mktemp -d "/tmp/cw-it-$1-XXXXXX")
    pids=()
    failures=0
    trap '_it_cleanup' EXIT
}
_it_cleanup() {
    local p
    disown -a 2>/dev/null # no "Killed" notices for the servers stopped here
    for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
    rm -rf "$tmp"
}
check() {
    local what=$1
    shift
    if "$@"; then echo "ok   $what  [${SECONDS}s]"; else failures=$((failures + 1)); echo "FAIL $what  [${SECONDS}s]"; fi
}
it_end() {
    if [ "$failures" -gt 0 ]; then echo "$1: $failures check(s) failed"; exit 1; fi
    echo "$1: ok"
    exit 0
}
