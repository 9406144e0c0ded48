-- rest_mixed.lua — wrk script for bench/rest_http.sh: a mix of FHIR reads,
-- searches and creates against a server loaded with the Synthea bundles.
--   wrk -s bench/rest_mixed.lua URL -- IDS_FILE [READ% SEARCH%]
-- IDS_FILE: one "Patient/<id>" per line. The rest of 100% are creates.
local ids = {}
local read_pct, search_pct = 60, 30
local codes = {"8302-2", "29463-7", "72514-3", "8867-4", "55284-4", "39156-5"}
local obs = [[{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]},"subject":{"reference":"%s"},"effectiveDateTime":"2021-03-01T08:00:00Z","valueQuantity":{"value":72,"unit":"/min","system":"http://unitsofmeasure.org","code":"/min"}}]]

function init(args)
  for line in io.lines(args[1]) do ids[#ids + 1] = line end
  if args[2] then read_pct = tonumber(args[2]) end
  if args[3] then search_pct = tonumber(args[3]) end
  math.randomseed(os.time() + (tonumber(tostring({}):sub(8)) or 0))
end

function request()
  local id = ids[math.random(#ids)]
  local r = math.random(100)
  if r <= read_pct then
    return wrk.format("GET", "/fhir/" .. id)
  elseif r <= read_pct + search_pct then
    local pid = id:sub(9)
    return wrk.format("GET", "/fhir/Observation?patient=" .. pid .. "&code=http://loinc.org%7C" ..
                      codes[math.random(#codes)] .. "&_count=10")
  else
    return wrk.format("POST", "/fhir/Observation",
                      {["Content-Type"] = "application/fhir+json", ["Prefer"] = "return=minimal"},
                      string.format(obs, id))
  end
end

local bad = 0
function response(status, headers, body)
  if status >= 400 then bad = bad + 1 end
end

function done(summary, latency, requests)
  io.write(string.format("errors_non2xx=%d\n", summary.errors.status))
end
