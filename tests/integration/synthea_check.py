#!/usr/bin/env python3
"""synthea_check.py — load every Synthea bundle of the shared corpus into a
running Causeway server as FHIR transactions, then check search results
against counts computed here, independently, from the bundles themselves.

usage: synthea_check.py BASE_URL SYNTHEA_DIR

What is compared (each server answer against a count made in Python from the
bundle JSON, never from the server):
  - per patient: Observations whose subject is the patient (subject=, patient=,
    compartment Patient/id/Observation, paging through every page);
  - per LOINC code: Observations with that code (code=system|code, code=code);
  - per date range: Observations whose effectiveDateTime, as a UTC instant,
    lies in the range (date=ge..&date=lt..);
  - _include=Observation:patient (distinct patients of the matches) and
    _revinclude=Encounter:patient;
  - chains (subject:Patient.name=) and _has (_has:Observation:patient:code=);
  - Patient birthdate ranges, Condition codes.
Prints the numbers it compared; exits 1 on any mismatch.
"""
import collections
import datetime as dt
import glob
import json
import os
import sys
import time
import unicodedata
import urllib.parse
import urllib.request

BASE = sys.argv[1].rstrip("/")
DIR = sys.argv[2]
fails = 0


def fail(msg):
    global fails
    fails += 1
    print("FAIL: " + msg)


def http(method, path, body=None, headers=None):
    url = path if path.startswith("http") else BASE + path
    data = json.dumps(body).encode() if isinstance(body, (dict, list)) else body
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Content-Type", "application/fhir+json")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=600) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def count(path):
    st, b = http("GET", path + ("&" if "?" in path else "?") + "_summary=count")
    if st != 200:
        fail("%s: HTTP %d %s" % (path, st, json.dumps(b)[:300]))
        return -1
    return b.get("total", -1)


def all_pages(path):
    """Follow next links; return the entries of every page."""
    out, url, pages = [], path, 0
    while url and pages < 10000:
        st, b = http("GET", url)
        if st != 200:
            fail("%s: HTTP %d" % (url, st))
            return out
        out.extend(b.get("entry", []))
        url = next((l["url"] for l in b.get("link", []) if l["relation"] == "next"), None)
        pages += 1
    return out


def utc(s):
    # FHIR dateTime with seconds and an offset (all Synthea effective values)
    return dt.datetime.fromisoformat(s.replace("Z", "+00:00")).astimezone(dt.timezone.utc)


def fold(s):
    return "".join(c for c in unicodedata.normalize("NFD", s.lower()) if unicodedata.category(c) != "Mn")


# ---- load ----
files = sorted(glob.glob(os.path.join(DIR, "*.json")))
# the shared Practitioner/Organization bundles first (references go both ways by
# conditional references in some Synthea versions; here they are self-contained)
files.sort(key=lambda f: 0 if "Information" in f else 1)
bundles = []
n_resources = 0
t0 = time.time()
for f in files:
    b = json.load(open(f))
    st, resp = http("POST", "", b)
    if st != 200:
        fail("%s: transaction HTTP %d %s" % (os.path.basename(f), st, json.dumps(resp)[:400]))
        continue
    if len(resp.get("entry", [])) != len(b["entry"]):
        fail("%s: %d response entries for %d" % (os.path.basename(f), len(resp.get("entry", [])), len(b["entry"])))
        continue
    ids = {}
    for e, r in zip(b["entry"], resp["entry"]):
        loc = r["response"].get("location", "")
        if not r["response"]["status"].startswith("201"):
            fail("%s: entry status %s" % (os.path.basename(f), r["response"]["status"]))
        parts = loc.split("/")
        ids[e["fullUrl"]] = (parts[0], parts[1]) if len(parts) >= 2 else None
    n_resources += len(b["entry"])
    bundles.append((b, ids))
elapsed = time.time() - t0
print("loaded %d bundles, %d resources in %.1f s (%.0f resources/s over HTTP, one transaction per bundle)"
      % (len(bundles), n_resources, elapsed, n_resources / elapsed if elapsed else 0))

# ---- independent facts from the bundles ----
patients = []            # (server id, family, birthDate)
obs_by_patient = collections.Counter()
enc_by_patient = collections.Counter()
obs_by_code = collections.Counter()
obs_patients_by_code = collections.defaultdict(set)
obs_instants = []
cond_by_code = collections.Counter()
names_by_patient = {}
for b, ids in bundles:
    for e in b["entry"]:
        r = e["resource"]
        rt = r["resourceType"]
        if rt == "Patient":
            pid = ids[e["fullUrl"]][1]
            fam = r["name"][0]["family"]
            patients.append((pid, fam, r.get("birthDate")))
            strs = []
            for n in r.get("name", []):
                strs += [n.get("family", "")] + n.get("given", []) + n.get("prefix", []) + n.get("suffix", []) + [n.get("text", "")]
            names_by_patient[pid] = [fold(s) for s in strs if s]
        elif rt == "Observation":
            subj = ids.get(r["subject"]["reference"])
            pid = subj[1] if subj else None
            obs_by_patient[pid] += 1
            for c in r["code"].get("coding", []):
                if c.get("system") == "http://loinc.org":
                    obs_by_code[c["code"]] += 1
                    obs_patients_by_code[c["code"]].add(pid)
            if "effectiveDateTime" in r:
                obs_instants.append((utc(r["effectiveDateTime"]), pid))
        elif rt == "Encounter":
            subj = ids.get(r["subject"]["reference"])
            enc_by_patient[subj[1] if subj else None] += 1
        elif rt == "Condition":
            for c in r["code"].get("coding", []):
                cond_by_code[(c.get("system"), c["code"])] += 1

checked = 0


def same(what, got, want):
    global checked
    checked += 1
    if got != want:
        fail("%s: server %s, bundles %s" % (what, got, want))


# per patient (every patient)
for pid, fam, _ in patients:
    same("Observation?subject=Patient/%s" % pid, count("/Observation?subject=Patient/" + pid), obs_by_patient[pid])
# a few with the other spellings and paging
for pid, fam, _ in patients[:5]:
    same("Observation?patient=%s" % pid, count("/Observation?patient=" + pid), obs_by_patient[pid])
    same("Patient/%s/Observation" % pid, count("/Patient/%s/Observation?" % pid), obs_by_patient[pid])
    entries = all_pages("/Observation?patient=%s&_count=7" % pid)
    same("paging Observation?patient=%s&_count=7" % pid, len(entries), obs_by_patient[pid])
    same("paging without duplicates", len({e["fullUrl"] for e in entries}), obs_by_patient[pid])
    entries = all_pages("/Observation?patient=%s&_count=9&_sort=-date,code" % pid)
    same("sorted paging Observation?patient=%s" % pid, len({e["fullUrl"] for e in entries}), obs_by_patient[pid])
    dates = [e["resource"].get("effectiveDateTime") for e in entries]
    insts = [utc(d) for d in dates if d]
    same("sorted by -date", insts == sorted(insts, reverse=True), True)
    same("Patient?_id=%s&_revinclude=Encounter:patient" % pid,
         len(all_pages("/Patient?_id=%s&_revinclude=Encounter:patient" % pid)), 1 + enc_by_patient[pid])

# per LOINC code (the 12 most frequent and a rare one)
codes = [c for c, _ in obs_by_code.most_common(12)] + [obs_by_code.most_common()[-1][0]]
for c in codes:
    same("Observation?code=http://loinc.org|%s" % c, count("/Observation?code=http://loinc.org|" + c), obs_by_code[c])
    same("Observation?code=%s" % c, count("/Observation?code=" + c), obs_by_code[c])
    # _include: distinct patients of the matches
    st, b = http("GET", "/Observation?code=http://loinc.org|%s&_count=1000&_include=Observation:patient" % c)
    if st == 200 and not any(l["relation"] == "next" for l in b.get("link", [])):
        inc = {e["resource"]["id"] for e in b.get("entry", []) if e["search"]["mode"] == "include"}
        same("_include=Observation:patient for %s" % c, inc, obs_patients_by_code[c])
    same("Patient?_has:Observation:patient:code=%s" % c, count("/Patient?_has:Observation:patient:code=" + c),
         len(obs_patients_by_code[c]))

# date ranges (UTC)
for lo, hi in [("2010-01-01", "2011-01-01"), ("2015-06-01", "2015-07-01"), ("2019-01-01", "2020-01-01"),
               ("1990-01-01", "2000-01-01")]:
    a = dt.datetime.fromisoformat(lo).replace(tzinfo=dt.timezone.utc)
    z = dt.datetime.fromisoformat(hi).replace(tzinfo=dt.timezone.utc)
    want = sum(1 for t, _ in obs_instants if a <= t < z)
    same("Observation?date=ge%s&date=lt%s" % (lo, hi), count("/Observation?date=ge%s&date=lt%s" % (lo, hi)), want)
    pid = patients[0][0]
    want_p = sum(1 for t, p in obs_instants if a <= t < z and p == pid)
    same("patient + date range", count("/Observation?patient=%s&date=ge%s&date=lt%s" % (pid, lo, hi)), want_p)

# chains: Observations of patients having a name part starting with a prefix
for pid, fam, _ in patients[:6]:
    prefix = fold(fam[:5])
    want = sum(obs_by_patient[p] for p, names in names_by_patient.items() if any(n.startswith(prefix) for n in names))
    same("Observation?subject:Patient.name=%s" % prefix,
         count("/Observation?subject:Patient.name=" + urllib.parse.quote(prefix)), want)

# patients by birth date, conditions by code
for y in ["1950", "1980", "2000"]:
    want = sum(1 for _, _, b in patients if b and b < y)
    same("Patient?birthdate=lt%s" % y, count("/Patient?birthdate=lt" + y), want)
for (sys_, code), n in cond_by_code.most_common(5):
    same("Condition?code=%s|%s" % (sys_, code), count("/Condition?code=%s|%s" % (sys_, code)), n)

print("compared %d search results with counts from the bundles (%d patients, %d observations)"
      % (checked, len(patients), sum(obs_by_patient.values())))
sys.exit(1 if fails else 0)
