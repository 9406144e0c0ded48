#!/usr/bin/env bash
# it_rest_api.sh — the FHIR REST API end to end with raw HTTP requests, on
# SQLite and (when CW_TEST_PG is set) PostgreSQL: metadata, CRUD, versions,
# ETag/If-Match/If-None-Match/If-Modified-Since, conditional create/update/
# delete, history, search (types, modifiers, paging, sort, include, chains,
# _has, compartments, strict/lenient), patch, transaction and batch, Prefer,
# _format/_pretty/_summary/_elements, and the error paths (400, 404, 405,
# 406/415, 409/412, 410, 413, 422), with SQL-looking values in every
# parameter type.
. "$(dirname "$0")/rest_lib.sh"
rest_init it_rest_api

run_suite() {
  rest_start "$1" --max-body 256k || return

  # ---- metadata ----
  req GET /metadata
  expect_status 200 "metadata"
  echo "backend $1"
  check '[ "$(j "d[\"resourceType\"]")" = CapabilityStatement ]' "metadata is a CapabilityStatement"
  check '[ "$(j "d[\"fhirVersion\"]")" = 4.0.1 ]' "fhirVersion"
  check '[ "$(j "[r for r in d[\"rest\"][0][\"resource\"] if r[\"type\"]==\"Patient\"][0][\"conditionalDelete\"]")" = single ]' "Patient conditionalDelete"
  check '[ "$(j "any(p[\"name\"]==\"birthdate\" for r in d[\"rest\"][0][\"resource\"] if r[\"type\"]==\"Patient\" for p in r[\"searchParam\"])")" = True ]' "Patient birthdate search parameter listed"
  check '[ "$(j "sorted(i[\"code\"] for i in d[\"rest\"][0][\"interaction\"])")" = "[\"batch\", \"history-system\", \"transaction\"]" ]' "system interactions"

  # ---- create / read ----
  jreq POST /Patient '{"resourceType":"Patient","identifier":[{"system":"urn:oid:1.2.36.146.595.217.0.1","value":"12345","type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0203","code":"MR"}]}}],"active":true,"name":[{"use":"official","family":"Chalmers","given":["Peter","James"]}],"gender":"male","birthDate":"1974-12-25","address":[{"city":"PleasantVille","postalCode":"3999"}],"telecom":[{"system":"phone","value":"(03) 5555 6473"}]}'
  expect_status 201 "create Patient"
  pid=$(j 'd["id"]')
  check '[ "$(hdr ETag)" = "W/\"1\"" ]' "create ETag"
  check '[[ "$(hdr Location)" == "$B/Patient/$pid/_history/1" ]]' "create Location $(hdr Location)"
  check '[ "$(j "d[\"meta\"][\"versionId\"]")" = 1 ]' "meta.versionId"
  check '[ -n "$(hdr Last-Modified)" ]' "Last-Modified"
  req GET "/Patient/$pid"
  expect_status 200 "read"
  check '[ "$(j "d[\"name\"][0][\"family\"]")" = Chalmers ]' "read content"
  check '[ "$(hdr Content-Type)" = "application/fhir+json; charset=utf-8" ]' "content type"
  lm=$(hdr Last-Modified)
  req GET "/Patient/$pid" "" 'If-None-Match: W/"1"'
  expect_status 304 "If-None-Match current version"
  req GET "/Patient/$pid" "" 'If-None-Match: W/"7"'
  expect_status 200 "If-None-Match other version"
  req GET "/Patient/$pid" "" "If-Modified-Since: $lm"
  expect_status 304 "If-Modified-Since = Last-Modified"
  req GET "/Patient/$pid" "" "If-Modified-Since: Sat, 01 Jan 2000 00:00:00 GMT"
  expect_status 200 "If-Modified-Since long ago"
  req GET "/Patient/$pid?_format=json&_pretty=true"
  expect_status 200 "_pretty"
  check 'grep -q "^  \"resourceType\": \"Patient\"," "$tmp/body"' "_pretty output is indented"
  req GET "/Patient/$pid?_elements=gender"
  check '[ "$(j "sorted(d.keys())")" = "[\"gender\", \"id\", \"meta\", \"resourceType\"]" ]' "_elements=gender: $(j 'sorted(d.keys())')"
  check '[ "$(j "d[\"meta\"][\"tag\"][0][\"code\"]")" = SUBSETTED ]' "_elements marks SUBSETTED"
  req GET "/Patient/$pid?_summary=true"
  check '[ "$(j "\"address\" in d and \"name\" in d and \"telecom\" in d")" = True ]' "_summary=true keeps summary elements"
  req GET "/Patient/$pid?_summary=text"
  check '[ "$(j "\"name\" in d")" = False ]' "_summary=text drops data"
  req GET "/Patient/does-not-exist"
  expect_status 404 "read unknown id"
  check '[ "$(j "d[\"resourceType\"]")" = OperationOutcome ]' "404 is an OperationOutcome"
  req GET "/Bogus/1"
  expect_status 404 "unknown type"

  # ---- update, versions, If-Match ----
  req GET "/Patient/$pid"
  "$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); d["gender"]="other"; json.dump(d,open(sys.argv[2],"w"))' "$tmp/body" "$tmp/up.json"
  req PUT "/Patient/$pid" "$tmp/up.json" "Content-Type: application/fhir+json" 'If-Match: W/"1"'
  expect_status 200 "update with If-Match"
  check '[ "$(hdr ETag)" = "W/\"2\"" ]' "update ETag"
  req PUT "/Patient/$pid" "$tmp/up.json" "Content-Type: application/fhir+json" 'If-Match: W/"1"'
  expect_status 412 "stale If-Match"
  # the same content again (meta as read) is a no-op: no version 3 (history below has 2)
  req PUT "/Patient/$pid" "$tmp/up.json" "Content-Type: application/fhir+json" 'If-Match: W/"2"'
  expect_status 200 "unchanged update"
  check '[ "$(hdr ETag)" = "W/\"2\"" ] && [ "$(j "d[\"meta\"][\"versionId\"]")" = 2 ] && [ "$(j "d[\"gender\"]")" = other ]' "unchanged update answers version 2"
  req PUT "/Patient/other-id" "$tmp/up.json" "Content-Type: application/fhir+json"
  expect_status 400 "id mismatch on update"
  jreq PUT "/Patient/$pid" '{"resourceType":"Observation","id":"x","status":"final","code":{"text":"x"}}'
  expect_status 400 "wrong resourceType on update"
  jreq PUT "/Patient/client-id-1" '{"resourceType":"Patient","id":"client-id-1","active":false}'
  expect_status 201 "update as create"
  req GET "/Patient/$pid/_history/1"
  expect_status 200 "vread 1"
  check '[ "$(j "d[\"gender\"]")" = male ]' "vread 1 content"
  req GET "/Patient/$pid/_history/9"
  expect_status 404 "vread unknown version"
  req GET "/Patient/$pid/_history"
  expect_status 200 "instance history"
  check '[ "$(j "d[\"type\"]")" = history ]' "history bundle"
  check '[ "$(j "[e[\"request\"][\"method\"] for e in d[\"entry\"]]")" = "[\"PUT\", \"POST\"]" ]' "history methods newest first"

  # ---- Prefer ----
  jreq POST /Patient '{"resourceType":"Patient","active":true}' "Prefer: return=minimal"
  expect_status 201 "Prefer minimal"
  check '[ ! -s "$tmp/body" ]' "return=minimal has no body"
  jreq POST /Patient '{"resourceType":"Patient","active":true}' "Prefer: return=OperationOutcome"
  check '[ "$(j "d[\"resourceType\"]")" = OperationOutcome ]' "return=OperationOutcome"

  # ---- delete ----
  jreq POST /Patient '{"resourceType":"Patient","name":[{"family":"Deleteme"}]}'
  did=$(j 'd["id"]')
  req DELETE "/Patient/$did"
  expect_status 204 "delete"
  req GET "/Patient/$did"
  expect_status 410 "read deleted"
  req DELETE "/Patient/$did"
  expect_status 204 "delete again"
  req GET "/Patient/$did/_history"
  check '[ "$(j "d[\"entry\"][0][\"request\"][\"method\"]")" = DELETE ]' "history shows the deletion"
  req GET "/Patient?name=Deleteme"
  check '[ "$(j "d[\"total\"]")" = 0 ]' "deleted resources are not found"

  # ---- conditional create / update / delete ----
  body='{"resourceType":"Patient","identifier":[{"system":"urn:test","value":"cond-1"}],"name":[{"family":"Cond"}]}'
  jreq POST /Patient "$body" "If-None-Exist: identifier=urn:test|cond-1"
  expect_status 201 "conditional create (new)"
  cid=$(j 'd["id"]')
  jreq POST /Patient "$body" "If-None-Exist: identifier=urn:test|cond-1"
  expect_status 200 "conditional create (exists)"
  check '[ "$(j "d[\"id\"]")" = "$cid" ]' "conditional create returns the existing resource"
  jreq POST /Patient '{"resourceType":"Patient","identifier":[{"system":"urn:test","value":"cond-1"}]}'
  jreq POST /Patient "$body" "If-None-Exist: identifier=urn:test|cond-1"
  expect_status 412 "conditional create with two matches"
  jreq PUT "/Patient?identifier=urn:test|cond-2" '{"resourceType":"Patient","identifier":[{"system":"urn:test","value":"cond-2"}],"gender":"female"}'
  expect_status 201 "conditional update creates"
  c2=$(j 'd["id"]')
  jreq PUT "/Patient?identifier=urn:test|cond-2" '{"resourceType":"Patient","identifier":[{"system":"urn:test","value":"cond-2"}],"gender":"male"}'
  expect_status 200 "conditional update updates"
  check '[ "$(j "d[\"id\"]")" = "$c2" ] && [ "$(j "d[\"meta\"][\"versionId\"]")" = 2 ]' "conditional update hit the same resource"
  jreq PUT "/Patient?identifier=urn:test|cond-1" "$body"
  expect_status 412 "conditional update with two matches"
  req DELETE "/Patient?identifier=urn:test|cond-2"
  expect_status 204 "conditional delete"
  req GET "/Patient/$c2"
  expect_status 410 "conditionally deleted"
  req DELETE "/Patient?identifier=urn:test|cond-1"
  expect_status 412 "conditional delete with two matches"

  # ---- patch ----
  printf '[{"op":"replace","path":"/gender","value":"female"},{"op":"add","path":"/name/0/given/-","value":"Jim"},{"op":"test","path":"/active","value":true}]' >"$tmp/patch.json"
  req PATCH "/Patient/$pid" "$tmp/patch.json" "Content-Type: application/json-patch+json"
  expect_status 200 "JSON Patch"
  check '[ "$(j "d[\"gender\"]+\",\"+d[\"name\"][0][\"given\"][-1]")" = "female,Jim" ]' "JSON Patch applied"
  check '[ "$(j "d[\"meta\"][\"versionId\"]")" = 3 ]' "patch made version 3"
  printf '[{"op":"test","path":"/active","value":false}]' >"$tmp/patch.json"
  req PATCH "/Patient/$pid" "$tmp/patch.json" "Content-Type: application/json-patch+json"
  expect_status 422 "failed JSON Patch test"
  printf '[{"op":"jump","path":"/x"}]' >"$tmp/patch.json"
  req PATCH "/Patient/$pid" "$tmp/patch.json" "Content-Type: application/json-patch+json"
  expect_status 400 "malformed JSON Patch"
  printf '[{"op":"replace","path":"/birthDate","value":"not-a-date"}]' >"$tmp/patch.json"
  req PATCH "/Patient/$pid" "$tmp/patch.json" "Content-Type: application/json-patch+json"
  expect_status 422 "patch producing an invalid resource"
  req GET /metadata
  if [ "$(j '"application/fhir+json" in d["patchFormat"]')" = True ]; then
    jreq PATCH "/Patient/$pid" '{"resourceType":"Parameters","parameter":[{"name":"operation","part":[{"name":"type","valueCode":"replace"},{"name":"path","valueString":"Patient.birthDate"},{"name":"value","valueDate":"1975-01-02"}]},{"name":"operation","part":[{"name":"type","valueCode":"add"},{"name":"path","valueString":"Patient"},{"name":"name","valueString":"deceased"},{"name":"value","valueBoolean":false}]},{"name":"operation","part":[{"name":"type","valueCode":"delete"},{"name":"path","valueString":"Patient.telecom"}]}]}'
    expect_status 200 "FHIRPath Patch"
    check '[ "$(j "(d[\"birthDate\"], d[\"deceasedBoolean\"], \"telecom\" in d)")" = "('"'"'1975-01-02'"'"', False, False)" ]' "FHIRPath Patch applied: $(j '(d.get("birthDate"), d.get("deceasedBoolean"), "telecom" in d)')"
  fi

  # ---- bad input ----
  printf '{"resourceType":"Patient",' >"$tmp/bad.json"
  req POST /Patient "$tmp/bad.json" "Content-Type: application/fhir+json"
  expect_status 400 "malformed JSON"
  printf '{"resourceType":"Patient","active":true,"active":false}' >"$tmp/bad.json"
  req POST /Patient "$tmp/bad.json" "Content-Type: application/fhir+json"
  expect_status 400 "duplicate JSON keys"
  jreq POST /Patient '{"resourceType":"Observation","status":"final","code":{"text":"x"}}'
  expect_status 400 "resourceType differs from the URL"
  jreq POST /Patient '{"resourceType":"Patient","birthDate":"1974-13-45","foo":1}'
  expect_status 422 "invalid resource"
  check '[ "$(j "len(d[\"issue\"])")" = 2 ]' "422 lists every issue ($(j 'len(d["issue"])'))"
  jreq POST /Observation '{"resourceType":"Observation","code":{"text":"x"}}'
  expect_status 422 "missing required element"
  # ---- FHIR XML (src/fhir/fhir_xml.h at the edge) ----
  printf '<Patient xmlns="http://hl7.org/fhir"><identifier><system value="urn:xmltest"/><value value="x1"/></identifier><active value="true"/><name><family value="Xmlfamily"/></name><birthDate value="1961-02-03"/></Patient>' >"$tmp/p.xml"
  req POST /Patient "$tmp/p.xml" "Content-Type: application/fhir+xml" "Accept: application/fhir+xml"
  expect_status 201 "create from an XML body"
  check '[ "$(hdr Content-Type)" = "application/fhir+xml; charset=utf-8" ]' "XML create answers in XML ($(hdr Content-Type))"
  check 'grep -q "<family value=\"Xmlfamily\"/>" "$tmp/body"' "XML create returns the resource as XML"
  xid=$(hdr Location | sed -E 's#.*/Patient/([^/]+)/_history/.*#\1#')
  req GET "/Patient/$xid"
  expect_status 200 "read (JSON) of a resource sent as XML"
  check '[ "$(j "(d[\"name\"][0][\"family\"], d[\"birthDate\"], d[\"active\"])")" = "('"'"'Xmlfamily'"'"', '"'"'1961-02-03'"'"', True)" ]' "XML body stored as the same JSON"
  req GET "/Patient?identifier=urn:xmltest|x1&_format=xml"
  expect_status 200 "search with _format=xml"
  check '"$PY" -c "import sys,xml.etree.ElementTree as E; r=E.parse(sys.argv[1]).getroot(); n={\"f\":\"http://hl7.org/fhir\"}; sys.exit(0 if r.tag==\"{http://hl7.org/fhir}Bundle\" and r.find(\"f:total\",n).get(\"value\")==\"1\" and r.find(\"f:entry/f:resource/f:Patient/f:id\",n).get(\"value\")==sys.argv[2] else 1)" "$tmp/body" "$xid"' "search Bundle as XML"
  printf '<Patient xmlns="http://hl7.org/fhir"><id value="%s"/><active value="false"/><name><family value="Xmlfamily"/></name></Patient>' "$xid" >"$tmp/p.xml"
  req PUT "/Patient/$xid" "$tmp/p.xml" "Content-Type: application/fhir+xml"
  expect_status 200 "update from an XML body"
  check '[ "$(j "(d[\"active\"], d[\"meta\"][\"versionId\"])")" = "(False, '"'"'2'"'"')" ]' "XML update applied, answered in JSON"
  req GET "/Patient/$xid/_history?_format=application/fhir%2Bxml&_pretty=true"
  expect_status 200 "history as XML"
  check '[ "$(grep -c "<Patient>" "$tmp/body")" = 2 ] && grep -q "^  <type value=\"history\"/>" "$tmp/body"' "history Bundle as pretty XML with both versions"
  req GET "/Patient/no-such-one" "" "Accept: application/fhir+xml"
  expect_status 404 "unknown id, XML"
  check 'grep -q "<OperationOutcome xmlns=\"http://hl7.org/fhir\"><issue><severity value=\"error\"/><code value=\"not-found\"/>" "$tmp/body"' "404 OperationOutcome in XML"
  printf '<Bundle xmlns="http://hl7.org/fhir"><type value="transaction"/><entry><fullUrl value="urn:uuid:0b8c4d3e-1f2a-4b5c-8d9e-0a1b2c3d4e5f"/><resource><Patient><name><family value="Xmltx"/></name></Patient></resource><request><method value="POST"/><url value="Patient"/></request></entry><entry><resource><Observation><status value="final"/><code><text value="t"/></code><subject><reference value="urn:uuid:0b8c4d3e-1f2a-4b5c-8d9e-0a1b2c3d4e5f"/></subject></Observation></resource><request><method value="POST"/><url value="Observation"/></request></entry></Bundle>' >"$tmp/tx.xml"
  req POST "" "$tmp/tx.xml" "Content-Type: application/fhir+xml"
  expect_status 200 "transaction in XML"
  check '[ "$(j "[e[\"response\"][\"status\"][:3] for e in d[\"entry\"]]")" = "[\"201\", \"201\"]" ]' "XML transaction entries created"
  txo=$(j 'd["entry"][1]["response"]["location"].split("/")[1]')
  req GET "/Observation/$txo"
  check '[ "$(j "d[\"subject\"][\"reference\"].startswith(\"Patient/\")")" = True ]' "XML transaction rewrote the urn:uuid reference"
  printf '<Patient xmlns="http://hl7.org/fhir"><active value="true"></Patient>' >"$tmp/p.xml"
  req POST /Patient "$tmp/p.xml" "Content-Type: application/fhir+xml"
  expect_status 400 "malformed XML"
  printf '<Patient xmlns="http://hl7.org/fhir"><bogus value="1"/></Patient>' >"$tmp/p.xml"
  req POST /Patient "$tmp/p.xml" "Content-Type: application/fhir+xml"
  expect_status 400 "XML with an unknown element"
  printf '<?xml version="1.0"?><!DOCTYPE P [<!ENTITY e "male">]><Patient xmlns="http://hl7.org/fhir"><gender value="&e;"/></Patient>' >"$tmp/p.xml"
  req POST /Patient "$tmp/p.xml" "Content-Type: application/fhir+xml"
  expect_status 400 "XML with a DOCTYPE / entity"
  printf '<Observation xmlns="http://hl7.org/fhir"><status value="final"/><code><text value="x"/></code></Observation>' >"$tmp/p.xml"
  req POST /Patient "$tmp/p.xml" "Content-Type: application/fhir+xml"
  expect_status 400 "XML resourceType differs from the URL"
  printf '<Patient xmlns="http://hl7.org/fhir"><birthDate value="1974-13-45"/></Patient>' >"$tmp/p.xml"
  req POST /Patient "$tmp/p.xml" "Content-Type: application/fhir+xml" "Accept: application/fhir+xml"
  check '[ "$st" = 400 ] || [ "$st" = 422 ]' "XML with a bad date refused ($st)"
  check 'grep -q "<OperationOutcome" "$tmp/body"' "XML refusal as an XML OperationOutcome"
  req GET "/Patient/$pid" "" "Accept: text/html"
  expect_status 406 "unsupported Accept"
  req GET "/Patient/$pid?_format=html"
  expect_status 406 "unsupported _format"
  jreq POST /Patient '{"resourceType":"Patient"}' "Content-Type: text/plain"
  req POST "/Patient" "$tmp/in.json" "Content-Type: text/plain"
  expect_status 415 "unsupported Content-Type"
  jreq POST "/Patient/$pid" '{"resourceType":"Patient"}'
  expect_status 405 "POST on an instance"
  req DELETE "/"
  expect_status 405 "DELETE on the base"
  "$PY" -c 'import json; print(json.dumps({"resourceType":"Patient","text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">"+"x"*300000+"</div>"}}))' >"$tmp/big.json"
  req POST /Patient "$tmp/big.json" "Content-Type: application/fhir+json"
  expect_status 413 "oversized body"
  req GET "/Patient?bogus=1" "" "Prefer: handling=strict"
  expect_status 400 "unknown parameter, strict"
  req GET "/Patient?bogus=1&_id=$pid"
  expect_status 200 "unknown parameter, lenient"
  check '[ "$(j "[e[\"search\"][\"mode\"] for e in d[\"entry\"]]")" = "[\"match\", \"outcome\"]" ]' "lenient reports the ignored parameter"
  req GET "/Patient?gender:bogus=x"
  expect_status 400 "unknown modifier"
  req GET "/Patient?birthdate=1974-13"
  expect_status 400 "bad date value"
  req GET "/Patient?_count=abc"
  expect_status 400 "bad _count"
  req GET "/Patient/bad*id"
  expect_status 400 "invalid id"

  # ---- search ----
  req GET "/Patient?name=chalm"
  check '[ "$(j "d[\"total\"]")" = 1 ]' "string prefix, case-insensitive"
  req GET "/Patient?family:exact=chalmers"
  check '[ "$(j "d[\"total\"]")" = 0 ]' "string :exact is case-sensitive"
  req GET "/Patient?given:contains=ame"
  check '[ "$(j "d[\"total\"]")" = 1 ]' "string :contains"
  req GET "/Patient?identifier=urn:oid:1.2.36.146.595.217.0.1|12345"
  check '[ "$(j "d[\"total\"]")" = 1 ]' "token system|code"
  req GET "/Patient?identifier=12345"
  check '[ "$(j "d[\"total\"]")" = 1 ]' "token code"
  req GET "/Patient?identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203|MR|12345"
  check '[ "$(j "d[\"total\"]")" = 1 ]' "token :of-type"
  req GET "/Patient?gender:not=female&_id=$pid"
  check '[ "$(j "d[\"total\"]")" = 0 ]' "token :not"
  bd=$(curl -s "$B/Patient/$pid" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["birthDate"])')
  req GET "/Patient?birthdate=${bd:0:4}&_id=$pid"
  check '[ "$(j "d[\"total\"]")" = 1 ]' "date year"
  req GET "/Patient?birthdate=ge$bd&birthdate=le$bd&_id=$pid"
  check '[ "$(j "d[\"total\"]")" = 1 ]' "date ge/le"
  req GET "/Patient?birthdate=gt$bd&_id=$pid"
  check '[ "$(j "d[\"total\"]")" = 0 ]' "date gt"
  req GET "/Patient?birthdate=eb$bd&_id=$pid"
  check '[ "$(j "d[\"total\"]")" = 0 ]' "date eb"
  req GET "/Patient?birthdate=sa${bd:0:4}-01-01&_id=$pid"
  check '[ "$(j "d[\"total\"]")" = 1 ]' "date sa"
  req GET "/Patient?birthdate:missing=true&_id=client-id-1"
  check '[ "$(j "d[\"total\"]")" = 1 ]' ":missing=true"
  req GET "/Patient?address-city=pleasant"
  check '[ "$(j "d[\"total\"]")" = 1 ]' "address-city"
  req GET "/Patient?_id=$pid,client-id-1"
  check '[ "$(j "d[\"total\"]")" = 2 ]' "_id list"
  req GET "/Patient?_lastUpdated=gt2000-01-01&_id=$pid"
  check '[ "$(j "d[\"total\"]")" = 1 ]' "_lastUpdated"
  # observations of the patient
  for v in 60 70 80; do
    jreq POST /Observation "{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"29463-7\"}]},\"subject\":{\"reference\":\"Patient/$pid\"},\"effectiveDateTime\":\"2020-0${v:0:1}-01T10:00:00Z\",\"valueQuantity\":{\"value\":$v,\"unit\":\"kg\",\"system\":\"http://unitsofmeasure.org\",\"code\":\"kg\"}}"
    expect_status 201 "create Observation $v"
  done
  req GET "/Observation?subject=Patient/$pid&value-quantity=gt65|http://unitsofmeasure.org|kg"
  check '[ "$(j "d[\"total\"]")" = 2 ]' "quantity with prefix and units"
  req GET "/Observation?code-value-quantity=http://loinc.org|29463-7\$ge80"
  check '[ "$(j "d[\"total\"]")" = 1 ]' "composite"
  req GET "/Observation?subject:Patient.name=chalmers"
  check '[ "$(j "d[\"total\"]")" = 3 ]' "chain"
  req GET "/Observation?patient.identifier=12345"
  check '[ "$(j "d[\"total\"]")" = 3 ]' "untyped chain"
  req GET "/Patient?_has:Observation:patient:code=29463-7"
  check '[ "$(j "d[\"total\"]")" = 1 ]' "_has"
  req GET "/Patient/$pid/Observation"
  check '[ "$(j "d[\"total\"]")" = 3 ]' "compartment search"
  req GET "/Observation?patient=$pid&_include=Observation:patient"
  check '[ "$(j "[e[\"search\"][\"mode\"] for e in d[\"entry\"]].count(\"include\")")" = 1 ]' "_include"
  req GET "/Patient?_id=$pid&_revinclude=Observation:subject"
  check '[ "$(j "len(d[\"entry\"])")" = 4 ]' "_revinclude"
  req GET "/Observation?patient=$pid&_sort=-date&_count=1"
  check '[ "$(j "d[\"entry\"][0][\"resource\"][\"valueQuantity\"][\"value\"]")" = 80 ]' "_sort descending"
  seen=""
  next=$(j '[l["url"] for l in d["link"] if l["relation"]=="next"][0]')
  pages=1
  while [ -n "$next" ] && [ "$next" != "<error: IndexError>" ] && [ $pages -lt 10 ]; do
    check '[[ "$next" != *chalmers* ]]' "next link carries no sort values"
    req GET "$next"
    expect_status 200 "next page"
    seen="$seen $(j 'd["entry"][0]["resource"]["valueQuantity"]["value"]')"
    next=$(j '[l["url"] for l in d["link"] if l["relation"]=="next"][0]')
    pages=$((pages + 1))
  done
  check '[ "$seen" = " 70 60" ]' "sorted paging ($seen)"
  req GET "/Observation?patient=$pid&_count=2&_total=accurate"
  check '[ "$(j "(d[\"total\"], len(d[\"entry\"]))")" = "(3, 2)" ]' "_count and _total"
  req GET "/Observation?patient=$pid&_summary=count"
  check '[ "$(j "(d[\"total\"], \"entry\" in d)")" = "(3, False)" ]' "_summary=count"
  printf 'patient=%s&code=29463-7' "$pid" >"$tmp/form"
  req POST "/Observation/_search" "$tmp/form" "Content-Type: application/x-www-form-urlencoded"
  check '[ "$(j "d[\"total\"]")" = 3 ]' "POST _search"

  # SQL-looking values in every parameter type: never an error from the database
  for q in "name=x'%20OR%20'1'%3D'1" "gender=male'--" "identifier=a%7Cb'%3B%20DROP%20TABLE%20resource" \
           "birthdate=1974'" "_id=1'%20OR%201%3D1" "organization=Organization%2F1'%20OR%201%3D1" \
           "address-city=%25" "name:contains=%25_%5C" "general-practitioner:identifier=x'%7Cy" \
           "_has:Observation:patient:code=1'%20OR%201%3D1" "_sort=name'"; do
    req GET "/Patient?$q"
    case "$st" in 200|400) ;; *) fail "SQL-looking value $q: HTTP $st" ;; esac
    if [ "$st" = 200 ]; then check '[ "$(j "d[\"total\"]")" = 0 ]' "SQL-looking value $q matched something"; fi
  done
  for q in "value-quantity=1'%7Cx%7Cy" "code-value-quantity=a'\$1" "date=2020'" "_profile=http://x'"; do
    req GET "/Observation?$q"
    case "$st" in 200|400) ;; *) fail "SQL-looking value $q: HTTP $st" ;; esac
  done
  req GET "/Patient/$pid"
  expect_status 200 "store intact after SQL-looking values"

  # ---- transaction ----
  cat >"$tmp/tx.json" <<EOF
{"resourceType":"Bundle","type":"transaction","entry":[
 {"fullUrl":"urn:uuid:7b4e8f3a-1c2d-4e5f-8a9b-0c1d2e3f4a5b","resource":{"resourceType":"Patient","name":[{"family":"Tx"}],"identifier":[{"system":"urn:tx","value":"p1"}]},"request":{"method":"POST","url":"Patient"}},
 {"fullUrl":"urn:uuid:9c8d7e6f-5a4b-4c3d-9e2f-1a0b9c8d7e6f","resource":{"resourceType":"Observation","status":"final","code":{"text":"t"},"subject":{"reference":"urn:uuid:7b4e8f3a-1c2d-4e5f-8a9b-0c1d2e3f4a5b"}},"request":{"method":"POST","url":"Observation"}},
 {"resource":{"resourceType":"Patient","id":"tx-put","active":true},"request":{"method":"PUT","url":"Patient/tx-put"}},
 {"request":{"method":"DELETE","url":"Patient/client-id-1"}},
 {"request":{"method":"GET","url":"Patient?identifier=urn:tx|p1"}}
]}
EOF
  req POST "" "$tmp/tx.json" "Content-Type: application/fhir+json"
  expect_status 200 "transaction"
  check '[ "$(j "d[\"type\"]")" = transaction-response ]' "transaction-response"
  check '[ "$(j "[e[\"response\"][\"status\"][:3] for e in d[\"entry\"]]")" = "[\"201\", \"201\", \"201\", \"204\", \"200\"]" ]' "transaction statuses $(j '[e["response"]["status"] for e in d["entry"]]')"
  check '[ "$(j "d[\"entry\"][4][\"resource\"][\"total\"]")" = 1 ]' "GET in the transaction sees its writes"
  txp=$(j 'd["entry"][0]["response"]["location"].split("/")[1]')
  req GET "/Observation?subject=Patient/$txp"
  check '[ "$(j "d[\"total\"]")" = 1 ]' "urn:uuid reference rewritten"
  req GET "/Patient/client-id-1"
  expect_status 410 "transaction DELETE"
  # the same PUT again in a transaction: 200 and still version 1
  printf '{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Patient","id":"tx-put","active":true},"request":{"method":"PUT","url":"Patient/tx-put"}}]}' >"$tmp/tx-again.json"
  req POST "" "$tmp/tx-again.json" "Content-Type: application/fhir+json"
  expect_status 200 "transaction with an unchanged PUT"
  check '[ "$(j "(d[\"entry\"][0][\"response\"][\"status\"][:3], d[\"entry\"][0][\"response\"][\"etag\"])")" = "('"'"'200'"'"', '"'"'W/\"1\"'"'"')" ]' "unchanged transaction PUT: 200, version 1 $(j 'd["entry"][0]["response"]')"
  # atomic: a failing entry rolls back everything
  cat >"$tmp/tx2.json" <<EOF
{"resourceType":"Bundle","type":"transaction","entry":[
 {"resource":{"resourceType":"Patient","name":[{"family":"Atomic"}]},"request":{"method":"POST","url":"Patient"}},
 {"resource":{"resourceType":"Patient","birthDate":"not-a-date"},"request":{"method":"POST","url":"Patient"}}
]}
EOF
  req POST "" "$tmp/tx2.json" "Content-Type: application/fhir+json"
  expect_status 422 "transaction with an invalid entry"
  check '[[ "$(j "d[\"issue\"][0][\"expression\"][0]")" == Bundle.entry\[1\]* ]]' "transaction error names the entry"
  req GET "/Patient?name=Atomic"
  check '[ "$(j "d[\"total\"]")" = 0 ]' "failed transaction left nothing"
  cat >"$tmp/tx3.json" <<EOF
{"resourceType":"Bundle","type":"transaction","entry":[
 {"resource":{"resourceType":"Observation","status":"final","code":{"text":"c"},"subject":{"reference":"Patient?identifier=urn:tx|p1"}},"request":{"method":"POST","url":"Observation"}},
 {"resource":{"resourceType":"Patient","identifier":[{"system":"urn:tx","value":"p1"}]},"request":{"method":"POST","url":"Patient","ifNoneExist":"identifier=urn:tx|p1"}}
]}
EOF
  req POST "" "$tmp/tx3.json" "Content-Type: application/fhir+json"
  expect_status 200 "transaction with a conditional reference and ifNoneExist"
  check '[ "$(j "d[\"entry\"][1][\"response\"][\"status\"][:3]")" = 200 ]' "ifNoneExist matched in the transaction"
  req GET "/Observation?subject=Patient/$txp"
  check '[ "$(j "d[\"total\"]")" = 2 ]' "conditional reference resolved"
  cat >"$tmp/tx4.json" <<EOF
{"resourceType":"Bundle","type":"transaction","entry":[
 {"resource":{"resourceType":"Patient","id":"dup"},"request":{"method":"PUT","url":"Patient/dup"}},
 {"resource":{"resourceType":"Patient","id":"dup"},"request":{"method":"PUT","url":"Patient/dup"}}
]}
EOF
  req POST "" "$tmp/tx4.json" "Content-Type: application/fhir+json"
  expect_status 400 "transaction writing one resource twice"

  # ---- batch ----
  cat >"$tmp/batch.json" <<EOF
{"resourceType":"Bundle","type":"batch","entry":[
 {"resource":{"resourceType":"Patient","name":[{"family":"Batch"}]},"request":{"method":"POST","url":"Patient"}},
 {"request":{"method":"GET","url":"Patient/does-not-exist"}},
 {"resource":{"resourceType":"Patient","birthDate":"x"},"request":{"method":"POST","url":"Patient"}},
 {"request":{"method":"GET","url":"Patient?name=Batch"}}
]}
EOF
  req POST "" "$tmp/batch.json" "Content-Type: application/fhir+json"
  expect_status 200 "batch"
  check '[ "$(j "[e[\"response\"][\"status\"][:3] for e in d[\"entry\"]]")" = "[\"201\", \"404\", \"422\", \"200\"]" ]' "batch statuses $(j '[e["response"]["status"] for e in d["entry"]]')"
  check '[ "$(j "d[\"entry\"][1][\"response\"][\"outcome\"][\"resourceType\"]")" = OperationOutcome ]' "batch entry outcome"
  req GET "/Patient?name=Batch"
  check '[ "$(j "d[\"total\"]")" = 1 ]' "batch entries are independent"

  # ---- history type/system ----
  req GET "/Patient/_history?_count=2"
  expect_status 200 "type history"
  check '[ "$(j "len(d[\"entry\"])")" = 2 ]' "type history _count"
  next=$(j '[l["url"] for l in d["link"] if l["relation"]=="next"][0]')
  req GET "$next"
  expect_status 200 "type history page 2"
  req GET "/_history?_since=2000-01-01T00:00:00Z&_count=5"
  expect_status 200 "system history"
  check '[ "$(j "d[\"type\"]")" = history ]' "system history bundle"
  req GET "/_history?_since=2999-01-01T00:00:00Z"
  check '[ "$(j "d[\"total\"]")" = 0 ]' "_since in the future"

  rest_stop
}

# ---- validate = full: bindings, invariants, reference targets refuse a write ----
full_suite() {
  rest_start sqlite --validate full || return
  bad_status='{"resourceType":"Observation","status":"bogus","code":{"text":"x"}}'
  jreq POST /Observation "$bad_status"
  expect_status 422 "full: a code outside the required binding (Observation.status)"
  check '[ "$(j "d[\"resourceType\"]")" = OperationOutcome ]' "full: 422 is an OperationOutcome"
  check '[[ "$(j "d[\"issue\"][0][\"expression\"][0]")" == Observation.status* ]]' "full: the issue names Observation.status"
  jreq POST /Patient '{"resourceType":"Patient","contact":[{"gender":"male"}]}'
  expect_status 422 "full: invariant pat-1 (contact without name, telecom, address or organization)"
  check '[ "$(j "any(\"pat-1\" in i.get(\"diagnostics\",\"\") for i in d[\"issue\"])")" = True ]' "full: the issue names pat-1"
  jreq POST /Observation '{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Medication/m1"}}'
  expect_status 422 "full: a reference to a type the element does not allow"
  jreq POST /Observation '{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/p1"},"valueQuantity":{"value":5,"unit":"mg","system":"http://unitsofmeasure.org","code":"mg"}}'
  expect_status 201 "full: a valid Observation is stored"
  jreq POST / '{"resourceType":"Bundle","type":"transaction","entry":[{"fullUrl":"urn:uuid:11111111-1111-1111-1111-111111111111","resource":{"resourceType":"Patient","gender":"female"},"request":{"method":"POST","url":"Patient"}},{"resource":{"resourceType":"Observation","status":"nope","code":{"text":"x"}},"request":{"method":"POST","url":"Observation"}}]}'
  expect_status 422 "full: a transaction with one invalid entry is refused whole"
  req GET "/Patient?gender=female&_summary=count"
  check '[ "$(j "d[\"total\"]")" = 0 ]' "full: nothing of the refused transaction was stored"
  rest_stop
  # the same bad status passes structural validation (the default)
  rest_start sqlite || return
  jreq POST /Observation "$bad_status"
  expect_status 201 "structure (default): a code outside the binding is not checked"
  rest_stop
}

# ---- unchanged-updates = version: every update makes a version ----
versions_suite() {
  rest_start sqlite --unchanged-updates version || return
  jreq PUT /Patient/v-every '{"resourceType":"Patient","id":"v-every","active":true}'
  expect_status 201 "version mode: create"
  jreq PUT /Patient/v-every '{"resourceType":"Patient","id":"v-every","active":true}'
  expect_status 200 "version mode: same content"
  check '[ "$(hdr ETag)" = "W/\"2\"" ]' "version mode: the same content makes version 2"
  rest_stop
}

for be in $(rest_backends); do run_suite "$be"; done
full_suite
versions_suite
rest_done it_rest_api
