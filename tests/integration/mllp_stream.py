#!/usr/bin/env python3
"""mllp_stream.py — stream generated ORU^R01 messages over MLLP and record
which ones were acknowledged AA, for the durability test (it_ingest_durability.sh).

usage: mllp_stream.py HOST PORT COUNT OUT_ACKED [--window N] [--start K]
                      [--obx-min A] [--obx-max B] [--tag T]
       mllp_stream.py --write FILE COUNT [--start K] [--obx-min A] [--obx-max B] [--tag T]
         (writes the messages to FILE instead, for `causeway send` and bench/)

Message k (k = start .. start+count-1) has MSH-10 "<tag>-<k>", patient
"<tag>P<k % 500>" and between obx-min and obx-max OBX segments. Every AA's
MSA-2 is appended to OUT_ACKED (one control id per line, flushed at once),
so the file holds exactly what the server confirmed even when the server is
killed mid-stream. Exits 0 when all were AA, 3 when the connection dropped
(expected when the test kills the server), 1 on any other ACK code.
"""
import random
import socket
import sys

VT, FS, CR = b"\x0b", b"\x1c", b"\x0d"


def obx_count(k, obx_min, obx_max):
    """OBX segments of message k: fixed per k, so a resent message is the same."""
    return random.Random(k).randint(obx_min, obx_max)


def message(tag, k, obx_min, obx_max, rnd):
    pid = k % 500
    t = k % 86400
    hhmmss = "%02d%02d%02d" % (t // 3600, t // 60 % 60, t % 60)
    segs = [
        "MSH|^~\\&|LABSYS|%s-LAB|CAUSEWAY|HIE|20240301%s||ORU^R01^ORU_R01|%s-%d|P|2.5.1"
        % (tag, hhmmss, tag, k),
        "PID|1||%sP%d^^^%s-LAB&2.16.840.1.113883.3.999&ISO^MR||Tester^Pat%d||19700101|F"
        % (tag, pid, tag, pid),
        "ORC|RE|ORD%d^%s-LAB|FIL%d^%s-LAB" % (k, tag, k, tag),
        "OBR|1|ORD%d^%s-LAB|FIL%d^%s-LAB|24323-8^Comprehensive metabolic panel^LN|||20240301080000"
        % (k, tag, k, tag),
    ]
    codes = [("2345-7", "Glucose", "mg/dL"), ("2160-0", "Creatinine", "mg/dL"),
             ("17861-6", "Calcium", "mg/dL"), ("2951-2", "Sodium", "mmol/L"),
             ("2823-3", "Potassium", "mmol/L")]
    n = obx_count(k, obx_min, obx_max)
    for i in range(n):
        code, name, unit = codes[i % len(codes)]
        segs.append("OBX|%d|NM|%s^%s^LN||%d.%d|%s|||||F|||20240301080000"
                    % (i + 1, code, name, 50 + (k + i) % 100, i % 10, unit))
    return ("\r".join(segs) + "\r").encode()


def main():
    a = sys.argv[1:]
    if len(a) < 3 or (a[0] != "--write" and len(a) < 4):
        print(__doc__, file=sys.stderr)
        return 2
    write = a[0] == "--write"
    if write:
        host, port, count, out_path = None, 0, int(a[2]), a[1]
        i = 3
    else:
        host, port, count, out_path = a[0], int(a[1]), int(a[2]), a[3]
        i = 4
    opts = {"--window": 16, "--start": 0, "--obx-min": 5, "--obx-max": 20, "--tag": "DUR"}
    while i + 1 < len(a):
        opts[a[i]] = a[i + 1] if a[i] == "--tag" else int(a[i + 1])
        i += 2
    rnd = random.Random(42)
    start, window, tag = opts["--start"], opts["--window"], opts["--tag"]
    msgs = [message(tag, k, opts["--obx-min"], opts["--obx-max"], rnd) for k in range(start, start + count)]
    if write:
        with open(out_path, "wb") as f:
            for m in msgs:
                f.write(m)
        return 0
    s = socket.create_connection((host, port), timeout=60)
    out = open(out_path, "a")
    buf = b""
    sent = acked = 0
    bad = 0
    try:
        while acked < count:
            while sent < count and sent - acked < window:
                s.sendall(VT + msgs[sent] + FS + CR)
                sent += 1
            chunk = s.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            buf += chunk
            while True:
                end = buf.find(FS + CR)
                if end < 0:
                    break
                frame = buf[buf.find(VT) + 1:end]
                buf = buf[end + 2:]
                acked += 1
                for seg in frame.split(b"\r"):
                    if seg.startswith(b"MSA|"):
                        f = seg.decode("latin-1").split("|")
                        if f[1] == "AA":
                            out.write(f[2] + "\n")
                            out.flush()
                        else:
                            bad += 1
    except (ConnectionError, OSError) as e:
        print("mllp_stream: connection lost after %d ACKs (%s)" % (acked, e), file=sys.stderr)
        out.close()
        return 3
    out.close()
    print("mllp_stream: %d sent, %d acknowledged, %d not AA" % (sent, acked, bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
