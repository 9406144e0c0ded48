#!/usr/bin/env bash
# it_rest_search.sh — the search features of issue 5 that it_rest_api.sh and
# the Synthea check do not reach, end to end on SQLite and (with CW_TEST_PG)
# PostgreSQL, each against a small hand-made data set whose answers are
# known: token |code, system|, :text; date on Period and Timing; number;
# quantity with |unit and system|code; reference as Type/id, bare id,
# absolute URL, :identifier and typed modifiers; uri :below/:above; _tag,
# _profile, _security, _source; chains of depth 2 and 3; _include:iterate
# and _revinclude:iterate; _sort on several keys; type history with _since
# and _count; compartment search with a parameter.
. "$(dirname "$0")/rest_lib.sh"
rest_init it_rest_search

# ids PATH: the ids of the "match" entries of one page, sorted, comma-joined
ids() {
  req GET "$1"
  [ "$st" = 200 ] || { echo "HTTP $st"; return; }
  j '",".join(sorted(e["resource"]["id"] for e in d.get("entry", []) if e["search"]["mode"] == "match"))'
}
# want PATH IDS: the match ids must be exactly IDS
want() {
  local got
  got=$(ids "$1")
  [ "$got" = "$2" ] || fail "$1: got [$got], wanted [$2]"
}
# put TYPE/ID JSON
put() {
  jreq PUT "/$1" "$2"
  [ "$st" = 201 ] || [ "$st" = 200 ] || fail "PUT $1: HTTP $st $(head -c 300 "$tmp/body")"
}

run_suite() {
  rest_start "$1" || return
  echo "backend $1"
  # /metadata states what works: the meta parameters, the modifiers per type,
  # and what is not implemented
  req GET /metadata
  check '[ "$(j "sorted(p[\"name\"] for r in d[\"rest\"][0][\"resource\"] if r[\"type\"]==\"Patient\" for p in r[\"searchParam\"] if p[\"name\"].startswith(\"_\"))")" = "[\"_id\", \"_lastUpdated\", \"_profile\", \"_security\", \"_source\", \"_tag\"]" ]' "Patient meta search parameters listed"
  check '[ "$(j "[\"no UCUM conversion\" in p[\"documentation\"] for r in d[\"rest\"][0][\"resource\"] if r[\"type\"]==\"Observation\" for p in r[\"searchParam\"] if p[\"name\"]==\"value-quantity\"]")" = "[true]" ]' "quantity documentation states the unit limitation"
  check '[ "$(j "\"_filter\" in d[\"rest\"][0][\"documentation\"]")" = True ]' "rest.documentation lists what is not implemented"
  put Organization/org1 '{"resourceType":"Organization","id":"org1","name":"Harbour Clinic","identifier":[{"system":"urn:org","value":"H1"}]}'
  put Practitioner/dr1 '{"resourceType":"Practitioner","id":"dr1","name":[{"family":"Quill","given":["Ada"]}]}'
  put Practitioner/dr2 '{"resourceType":"Practitioner","id":"dr2","name":[{"family":"Lark"}]}'
  put PractitionerRole/role1 '{"resourceType":"PractitionerRole","id":"role1","practitioner":{"reference":"Practitioner/dr1"},"organization":{"reference":"Organization/org1"}}'
  put Patient/p1 '{"resourceType":"Patient","id":"p1","meta":{"tag":[{"system":"urn:tags","code":"vip"}],"profile":["http://example.org/fhir/StructureDefinition/my-patient"],"security":[{"system":"http://terminology.hl7.org/CodeSystem/v3-Confidentiality","code":"R"}],"source":"urn:source:ehr-a"},"identifier":[{"system":"urn:mrn","value":"M1"}],"name":[{"family":"Brook","given":["Ann"]}],"gender":"female","birthDate":"1980-05-01","generalPractitioner":[{"reference":"Practitioner/dr1"}],"managingOrganization":{"reference":"Organization/org1"}}'
  put Patient/p2 '{"resourceType":"Patient","id":"p2","meta":{"tag":[{"system":"urn:tags","code":"test"}],"source":"urn:source:ehr-b"},"identifier":[{"system":"urn:mrn","value":"M2"}],"name":[{"family":"Brook","given":["Ben"]}],"gender":"male","birthDate":"1990-01-01","generalPractitioner":[{"reference":"Practitioner/dr2"}]}'
  put Patient/p3 '{"resourceType":"Patient","id":"p3","name":[{"family":"Abbot"}],"gender":"male","birthDate":"1985-07-07","generalPractitioner":[{"reference":"PractitionerRole/role1"}]}'
  put Observation/o1 '{"resourceType":"Observation","id":"o1","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"29463-7","display":"Body weight"}],"text":"Weight"},"subject":{"reference":"Patient/p1"},"effectiveDateTime":"2021-03-04T10:00:00Z","valueQuantity":{"value":5400,"unit":"g","system":"http://unitsofmeasure.org","code":"g"}}'
  put Observation/o2 '{"resourceType":"Observation","id":"o2","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}],"text":"Heart rate"},"subject":{"reference":"Patient/p2"},"effectiveDateTime":"2021-03-05","valueQuantity":{"value":72,"unit":"/min","system":"http://unitsofmeasure.org","code":"/min"}}'
  put Observation/o3 '{"resourceType":"Observation","id":"o3","status":"final","code":{"coding":[{"system":"urn:local","code":"8867-4"}]},"subject":{"reference":"http://elsewhere.example/fhir/Patient/p1"},"effectivePeriod":{"start":"2020-01-01","end":"2020-12-31"},"valueQuantity":{"value":5.4,"unit":"kilogram","system":"http://unitsofmeasure.org","code":"kg"}}'
  put Observation/o4 '{"resourceType":"Observation","id":"o4","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"29463-7"}]},"subject":{"identifier":{"system":"urn:mrn","value":"M2"}},"effectiveDateTime":"2019"}'
  put Encounter/e1 '{"resourceType":"Encounter","id":"e1","status":"finished","class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"AMB"},"subject":{"reference":"Patient/p1"},"period":{"start":"2021-03-01T08:00:00Z","end":"2021-03-03T17:00:00Z"}}'
  put Encounter/e2 '{"resourceType":"Encounter","id":"e2","status":"in-progress","class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"IMP"},"subject":{"reference":"Patient/p2"},"period":{"start":"2021-03-02T00:00:00Z"}}'
  put ServiceRequest/s1 '{"resourceType":"ServiceRequest","id":"s1","status":"active","intent":"order","subject":{"reference":"Patient/p1"},"occurrenceTiming":{"event":["2022-02-01T09:00:00Z","2022-02-08T09:00:00Z"]}}'
  put RiskAssessment/r1 '{"resourceType":"RiskAssessment","id":"r1","status":"final","subject":{"reference":"Patient/p1"},"prediction":[{"probabilityDecimal":0.25}]}'
  put RiskAssessment/r2 '{"resourceType":"RiskAssessment","id":"r2","status":"final","subject":{"reference":"Patient/p2"},"prediction":[{"probabilityDecimal":0.8}]}'
  put ValueSet/v1 '{"resourceType":"ValueSet","id":"v1","status":"active","url":"http://example.org/fhir/ValueSet/colours/warm"}'
  put ValueSet/v2 '{"resourceType":"ValueSet","id":"v2","status":"active","url":"http://example.org/fhir/ValueSet"}'
  put ValueSet/v3 '{"resourceType":"ValueSet","id":"v3","status":"active","url":"http://example.org/other/ValueSet/x"}'

  # tokens
  want "/Observation?code=|8867-4" ""
  want "/Observation?code=8867-4" "o2,o3"
  want "/Observation?code=http://loinc.org|" "o1,o2,o4"
  want "/Observation?code=urn:local|8867-4" "o3"
  want "/Observation?code:text=heart" "o2"
  want "/Observation?code:text=body%20weight" "o1"
  want "/Observation?code:not=http://loinc.org|29463-7" "o2,o3"
  want "/Patient?identifier=urn:mrn|M2" "p2"
  # dates (search.html#prefix): eq = the resource's range lies inside the
  # parameter's range; Periods are ranges (an open end is unbounded); Timing
  # counts by its outer limits; partial dates are ranges
  want "/Encounter?date=2021-03-02" ""
  want "/Encounter?date=2021-03" "e1"
  want "/Encounter?date=gt2021-03-04" "e2"
  want "/Encounter?date=lt2021-03-01T09:00:00Z" "e1"
  want "/Encounter?date=ge2021-03-03T18:00:00Z" "e2"
  want "/Encounter?date=ap2021-03-03" "e1,e2"
  want "/Observation?date=2020-06" ""
  want "/Observation?date=2020" "o3"
  want "/Observation?date=eq2019" "o4"
  want "/Observation?date=le2020-01-01" "o4"
  want "/Observation?date=le2020-01-02" "o3,o4"
  want "/Observation?date=ne2021-03-04T10:00:00Z" "o2,o3,o4"
  want "/Observation?date=sa2020-12-31" "o1,o2"
  want "/Observation?date=eb2021-01-01" "o3,o4"
  want "/ServiceRequest?occurrence=2022-02" "s1"
  want "/ServiceRequest?occurrence=2022-02-08" ""
  want "/ServiceRequest?occurrence=ge2022-02-05" "s1"
  want "/ServiceRequest?occurrence=lt2022-02-01" ""
  # numbers (precision as a range: 0.8 means [0.75, 0.85))
  want "/RiskAssessment?probability=gt0.5" "r2"
  want "/RiskAssessment?probability=0.25" "r1"
  want "/RiskAssessment?probability=0.8" "r2"
  want "/RiskAssessment?probability=lt0.8" "r1"
  # quantities
  want "/Observation?value-quantity=5400||g" "o1"
  want "/Observation?value-quantity=5.4|http://unitsofmeasure.org|kg" "o3"
  want "/Observation?value-quantity=gt70|http://unitsofmeasure.org|/min" "o2"
  want "/Observation?value-quantity=le72" "o2,o3"
  # references: Type/id, bare id, absolute URL, :identifier, typed modifier
  want "/Observation?subject=Patient/p1" "o1"
  want "/Observation?subject:Patient=p2" "o2"
  want "/Observation?patient=p1" "o1"
  want "/Observation?subject=http://elsewhere.example/fhir/Patient/p1" "o3"
  want "/Observation?subject:identifier=urn:mrn|M2" "o4"
  want "/Patient?general-practitioner:PractitionerRole=role1" "p3"
  want "/Patient?general-practitioner:Practitioner=role1" ""
  # uri :below / :above
  want "/ValueSet?url=http://example.org/fhir/ValueSet" "v2"
  want "/ValueSet?url:below=http://example.org/fhir/ValueSet" "v1,v2"
  want "/ValueSet?url:above=http://example.org/fhir/ValueSet/colours/warm/extra" "v1,v2"
  # meta parameters
  want "/Patient?_tag=urn:tags|vip" "p1"
  want "/Patient?_tag=test" "p2"
  want "/Patient?_profile=http://example.org/fhir/StructureDefinition/my-patient" "p1"
  want "/Patient?_security=http://terminology.hl7.org/CodeSystem/v3-Confidentiality|R" "p1"
  want "/Patient?_source=urn:source:ehr-b" "p2"
  # chains of depth 2 and 3, _has
  want "/Observation?subject:Patient.general-practitioner:Practitioner.name=quill" "o1"
  want "/Observation?patient.general-practitioner:PractitionerRole.organization.name=harbour" ""
  want "/Patient?general-practitioner:PractitionerRole.organization.name=harbour" "p3"
  want "/Observation?patient.organization.identifier=urn:org|H1" "o1"
  want "/Patient?_has:Observation:subject:code=8867-4" "p2"
  # _include:iterate / _revinclude:iterate
  req GET "/Observation?_id=o1&_include=Observation:patient&_include:iterate=Patient:general-practitioner"
  check '[ "$(j "sorted(e[\"resource\"][\"resourceType\"]+\"/\"+e[\"resource\"][\"id\"] for e in d[\"entry\"] if e[\"search\"][\"mode\"]==\"include\")")" = "[\"Patient/p1\", \"Practitioner/dr1\"]" ]' "_include:iterate ($(j '[e["resource"]["id"] for e in d["entry"]]'))"
  req GET "/Observation?_id=o1&_include=Observation:patient"
  check '[ "$(j "sorted(e[\"resource\"][\"id\"] for e in d[\"entry\"] if e[\"search\"][\"mode\"]==\"include\")")" = "[\"p1\"]" ]' "_include without :iterate stops at one level"
  req GET "/Practitioner?_id=dr2&_revinclude=Patient:general-practitioner&_revinclude:iterate=Observation:subject"
  check '[ "$(j "sorted(e[\"resource\"][\"id\"] for e in d[\"entry\"] if e[\"search\"][\"mode\"]==\"include\")")" = "[\"o2\", \"p2\"]" ]' "_revinclude:iterate ($(j '[e["resource"]["id"] for e in d["entry"]]'))"
  # _sort on several keys
  req GET "/Patient?_sort=family,-birthdate"
  check '[ "$(j "[e[\"resource\"][\"id\"] for e in d[\"entry\"]]")" = "[\"p3\", \"p2\", \"p1\"]" ]' "_sort=family,-birthdate ($(j '[e["resource"]["id"] for e in d["entry"]]'))"
  req GET "/Patient?_sort=-family,birthdate"
  check '[ "$(j "[e[\"resource\"][\"id\"] for e in d[\"entry\"]]")" = "[\"p1\", \"p2\", \"p3\"]" ]' "_sort=-family,birthdate ($(j '[e["resource"]["id"] for e in d["entry"]]'))"
  req GET "/Patient?_sort=gender,family,birthdate&_count=1"
  seen=$(j 'd["entry"][0]["resource"]["id"]')
  next=$(j '[l["url"] for l in d["link"] if l["relation"]=="next"][0]')
  while [ -n "$next" ] && [ "$next" != "<error: IndexError>" ]; do
    req GET "$next"
    seen="$seen,$(j 'd["entry"][0]["resource"]["id"]')"
    next=$(j '[l["url"] for l in d["link"] if l["relation"]=="next"][0]')
  done
  check '[ "$seen" = "p1,p3,p2" ]' "three sort keys across pages ($seen)"
  # compartment search with a parameter
  want "/Patient/p1/Observation?code=29463-7" "o1"
  want "/Patient/p2/Encounter?status=in-progress" "e2"
  # type history: _since and _count
  sleep 1
  since=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  sleep 1
  put Patient/p3 '{"resourceType":"Patient","id":"p3","name":[{"family":"Abbot"}],"gender":"male","birthDate":"1985-07-08"}'
  req GET "/Patient/_history?_since=$since"
  check '[ "$(j "[(e[\"resource\"][\"id\"], e[\"resource\"][\"meta\"][\"versionId\"]) for e in d[\"entry\"]]")" = "[[\"p3\", \"2\"]]" ]' "type history _since ($(j '[e["fullUrl"] for e in d["entry"]]'))"
  req GET "/Patient/_history?_count=2"
  check '[ "$(j "len(d[\"entry\"])")" = 2 ] && [ "$(j "any(l[\"relation\"]==\"next\" for l in d[\"link\"])")" = True ]' "type history _count=2 pages"
  want "/Patient?birthdate=1985-07-07" ""
  want "/Patient?birthdate=1985-07-08" "p3"
  rest_stop
}

for be in $(rest_backends); do run_suite "$be"; done
rest_done it_rest_search
