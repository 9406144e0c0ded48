"""fhir_expect.py — the REST side of the ingest integration tests.

    import fhir_expect as fx
    fx.start(base, label)            # base: http://host:port (the server root)
    b = fx.get("Patient", identifier="urn:oid:1.2.3|42")   # GET /fhir/...
    fx.expect("patients with MRN 42", b.get("total"), 1)
    fx.finish()                      # prints the differences; exit 1 if any
"""
import json
import sys
import urllib.parse
import urllib.request

_base, _label, _bad = "", "", []


def start(base, label):
    global _base, _label
    _base, _label = base, label


def get(path, **q):
    url = _base + "/fhir/" + path + ("?" + urllib.parse.urlencode(q) if q else "")
    with urllib.request.urlopen(url, timeout=60) as r:
        return json.load(r)


def expect(what, got, want):
    if got != want:
        _bad.append("%s: got %r, want %r" % (what, got, want))


def finish():
    for b in _bad:
        print("  " + _label + ": " + b)
    print("  %s: %s" % (_label, "as expected" if not _bad else "%d difference(s)" % len(_bad)))
    sys.exit(1 if _bad else 0)
