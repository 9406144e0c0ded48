#!/usr/bin/env node
'use strict';
// hl7v2_tables.js — compile the HL7 v2 definitions of the npm package
// hl7-dictionary (pinned in package-lock.json) into constant C tables for
// src/hl7v2 (validation, field names). Run by CMake at build time; the
// output goes into the build tree and is never committed or edited.
//
//   node tools/hl7v2_tables.js --out build/.../hl7v2_tables.c [--root DIR]
//
// What is emitted (types in src/hl7v2/hl7v2_int.h):
//   - one string pool (NUL-separated, deduplicated);
//   - field definitions (segment fields and data type components) as one
//     array; identical runs are shared between segments and versions;
//   - per version: segments and message structures sorted by name, and a
//     data type table indexed by a global data type number;
//   - message structure group trees as nodes (segment, group, choice) whose
//     children are contiguous runs, shared when identical;
//   - HL7 tables (version independent in the package): sorted code values.
// Everything is static const data: nothing is parsed or built at start-up.
const fs = require('fs');
const path = require('path');

function die(msg) {
  process.stderr.write(`hl7v2_tables.js: ${msg}\n`);
  process.exit(1);
}

let out = null;
let root = path.resolve(__dirname, '..');
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (a === '--out') out = process.argv[++i];
  else if (a === '--root') root = process.argv[++i];
  else die(`unknown argument ${a}`);
}
if (!out) die('usage: hl7v2_tables.js --out FILE [--root DIR]');

const pkgDir = path.join(root, 'node_modules', 'hl7-dictionary');
if (!fs.existsSync(path.join(pkgDir, 'package.json'))) {
  die(`${pkgDir} not found: the HL7 v2 tables are compiled from the pinned npm package ` +
      `hl7-dictionary. Run scripts/deps.sh (it installs nodejs/npm and runs npm ci).`);
}
const pkg = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8'));
const dict = require(pkgDir);
const VERSIONS = ['2.1', '2.2', '2.3', '2.3.1', '2.4', '2.5', '2.5.1', '2.6', '2.7', '2.7.1'];

// ---- string pool ----------------------------------------------------------
const strIndex = new Map();
const strParts = [];
let strSize = 0;
function str(s) {
  s = String(s == null ? '' : s).replace(/\s+$/, '');
  if (strIndex.has(s)) return strIndex.get(s);
  const off = strSize;
  strIndex.set(s, off);
  strParts.push(s);
  strSize += Buffer.byteLength(s, 'utf8') + 1;
  return off;
}
str('');

// ---- global data type numbers ---------------------------------------------
const typeIds = new Map();
const typeNames = [];
function typeId(name) {
  name = String(name || 'ST');
  if (!typeIds.has(name)) {
    typeIds.set(name, typeNames.length);
    typeNames.push(name);
  }
  return typeIds.get(name);
}
for (const v of VERSIONS) {
  const def = dict.definitions[v];
  if (!def) die(`version ${v} missing from hl7-dictionary ${pkg.version}`);
  for (const t of Object.keys(def.fields).sort()) typeId(t);
}

// ---- field runs -----------------------------------------------------------
const fields = []; // [type, table, len, opt, rep, desc]
const runIndex = new Map();
function fieldRun(list) {
  const rows = list.map((f) => {
    const table = Number(f.table || 0);
    if (!Number.isInteger(table) || table < 0 || table > 65535) die(`bad table ${f.table}`);
    let len = Number(f.len || 0);
    if (!Number.isFinite(len) || len < 0) len = 0;
    if (len > 65535) len = 65535;
    const rep = Number(f.rep == null ? 1 : f.rep);
    if (!Number.isInteger(rep) || rep < 0 || rep > 255) die(`bad rep ${f.rep}`);
    const opt = Number(f.opt || 1);
    if (!(opt >= 1 && opt <= 4)) die(`bad opt ${f.opt}`);
    return [typeId(f.datatype), table, len, opt, rep, str(f.desc)];
  });
  const key = JSON.stringify(rows);
  if (runIndex.has(key)) return runIndex.get(key);
  const first = fields.length;
  for (const r of rows) fields.push(r);
  runIndex.set(key, first);
  return first;
}

// ---- structure nodes ------------------------------------------------------
const KIND = { seg: 0, group: 1, choice: 2 };
const nodes = []; // [name, first, count, kind, min, max]
const kidsIndex = new Map();
function nodeRow(n) {
  const min = Number(n.min || 0), max = Number(n.max || 0);
  if (!(min === 0 || min === 1) || !(max === 0 || max === 1)) die(`bad cardinality ${n.min}/${n.max}`);
  if (n.children) {
    const [first, count] = kidsRun(n.children);
    return [str(n.name), first, count, KIND.group, min, max];
  }
  if (n.compounds) {
    const [first, count] = kidsRun(n.compounds);
    return [str(n.name), first, count, KIND.choice, min, max];
  }
  return [str(n.name), 0, 0, KIND.seg, min, max];
}
function kidsRun(list) {
  const rows = list.map(nodeRow);
  const key = JSON.stringify(rows);
  if (kidsIndex.has(key)) return [kidsIndex.get(key), rows.length];
  const first = nodes.length;
  for (const r of rows) nodes.push(r);
  kidsIndex.set(key, first);
  return [first, rows.length];
}
function rootNode(name, list) {
  const [first, count] = kidsRun(list);
  const row = [str(name), first, count, KIND.group, 1, 1];
  const key = JSON.stringify(['root', row]);
  if (kidsIndex.has(key)) return kidsIndex.get(key);
  nodes.push(row);
  kidsIndex.set(key, nodes.length - 1);
  return nodes.length - 1;
}

// ---- versions -------------------------------------------------------------
const versions = [];
for (const v of VERSIONS) {
  const def = dict.definitions[v];
  const segs = Object.keys(def.segments).sort().map((name) => {
    const list = def.segments[name].fields || [];
    return [str(name), list.length ? fieldRun(list) : 0, list.length];
  });
  const types = typeNames.map((name) => {
    const t = def.fields[name];
    const list = (t && t.subfields) || [];
    return [str(name), list.length ? fieldRun(list) : 0, list.length];
  });
  const msgs = Object.keys(def.messages).sort().map((name) => {
    const m = def.messages[name];
    return [str(name), rootNode(name, (m.segments && m.segments.segments) || [])];
  });
  versions.push({ v, segs, types, msgs });
}
// segs/types arrays are emitted per version, after all strings are known

// ---- tables ---------------------------------------------------------------
const tableRows = [];
const values = [];
for (const num of Object.keys(dict.tables).map(Number).sort((a, b) => a - b)) {
  if (!Number.isInteger(num) || num < 0 || num > 65535) continue;
  const codes = Object.keys(dict.tables[String(num)].values || {})
    .map((c) => String(c))
    .filter((c) => c.length > 0)
    .sort((a, b) => (Buffer.compare(Buffer.from(a), Buffer.from(b))));
  const uniq = codes.filter((c, i) => i === 0 || c !== codes[i - 1]);
  if (uniq.length > 65535) die(`table ${num} too large`);
  tableRows.push([num, uniq.length, values.length]);
  for (const c of uniq) values.push(str(c));
}

// ---- emit -----------------------------------------------------------------
function cstr(s) {
  const b = Buffer.from(s, 'utf8');
  let o = '';
  for (const x of b) {
    if (x === 0x22 || x === 0x5c) o += '\\' + String.fromCharCode(x);
    else if (x >= 0x20 && x < 0x7f && x !== 0x3f) o += String.fromCharCode(x);
    else o += '\\' + x.toString(8).padStart(3, '0');
  }
  return o;
}
function rows(list, fmt, perLine) {
  const lines = [];
  for (let i = 0; i < list.length; i += perLine) lines.push('    ' + list.slice(i, i + perLine).map(fmt).join(' '));
  return lines.join('\n');
}

let c = '';
c += `/* Generated by tools/hl7v2_tables.js from hl7-dictionary ${pkg.version}. Do not edit. */\n`;
c += '#include "hl7v2/hl7v2_int.h"\n\n';
// strings as one literal split over lines
c += 'const char hl7v2_dict_strings[] =\n';
const chunks = [];
let cur = '';
for (const s of strParts) {
  cur += cstr(s) + '\\000';
  if (cur.length > 90) {
    chunks.push(cur);
    cur = '';
  }
}
if (cur) chunks.push(cur);
c += chunks.map((x) => `    "${x}"`).join('\n') + ';\n';
c += `const uint32_t hl7v2_dict_strings_size = ${strSize};\n\n`;

c += 'const struct hl7v2_dict_field hl7v2_dict_fields[] = {\n';
c += rows(fields, (r) => `{${r[0]},${r[1]},${r[2]},${r[3]},${r[4]},${r[5]}},`, 4) + '\n};\n';
c += `const uint32_t hl7v2_dict_nfields = ${fields.length};\n\n`;

c += 'const struct hl7v2_dict_node hl7v2_dict_nodes[] = {\n';
c += rows(nodes, (r) => `{${r[0]},${r[1]},${r[2]},${r[3]},${r[4]},${r[5]}},`, 5) + '\n};\n';
c += `const uint32_t hl7v2_dict_nnodes = ${nodes.length};\n\n`;

let segCount = 0, msgCount = 0;
for (const [i, v] of versions.entries()) {
  c += `static const struct hl7v2_dict_seg segs_${i}[] = {\n`;
  c += rows(v.segs, (r) => `{${r[0]},${r[1]},${r[2]}},`, 6) + '\n};\n';
  c += `static const struct hl7v2_dict_type types_${i}[] = {\n`;
  c += rows(v.types, (r) => `{${r[0]},${r[1]},${r[2]}},`, 6) + '\n};\n';
  c += `static const struct hl7v2_dict_msg msgs_${i}[] = {\n`;
  c += rows(v.msgs, (r) => `{${r[0]},${r[1]}},`, 8) + '\n};\n\n';
  segCount += v.segs.length;
  msgCount += v.msgs.length;
}
c += 'const struct hl7v2_dict_version hl7v2_dict_versions[] = {\n';
for (const [i, v] of versions.entries()) {
  c += `    {"${v.v}", segs_${i}, ${v.segs.length}, types_${i}, ${v.types.length}, msgs_${i}, ${v.msgs.length}},\n`;
}
c += '};\n';
c += `const uint32_t hl7v2_dict_nversions = ${versions.length};\n\n`;

c += 'const struct hl7v2_dict_table hl7v2_dict_tables[] = {\n';
c += rows(tableRows, (r) => `{${r[0]},${r[1]},${r[2]}},`, 6) + '\n};\n';
c += `const uint32_t hl7v2_dict_ntables = ${tableRows.length};\n`;
c += 'const uint32_t hl7v2_dict_values[] = {\n';
c += rows(values, (r) => `${r},`, 12) + '\n};\n';
c += `const uint32_t hl7v2_dict_nvalues = ${values.length};\n\n`;

const bytes = strSize + fields.length * 12 + nodes.length * 16 +
  versions.reduce((s, v) => s + v.segs.length * 12 + v.types.length * 12 + v.msgs.length * 8, 0) +
  tableRows.length * 8 + values.length * 4;
c += `const size_t hl7v2_dict_bytes = ${bytes};\n`;

fs.mkdirSync(path.dirname(out), { recursive: true });
const tmp = out + '.tmp';
fs.writeFileSync(tmp, c);
fs.renameSync(tmp, out);
process.stderr.write(`hl7v2_tables.js: ${VERSIONS.length} versions, ${segCount} segments, ` +
  `${fields.length} field rows, ${typeNames.length} data types, ${msgCount} structures, ` +
  `${nodes.length} nodes, ${tableRows.length} tables with ${values.length} values, ` +
  `${strSize} bytes of strings; ~${Math.round(bytes / 1024)} KiB total\n`);
