// fhirkit_test.mjs — drive a running Causeway server with the npm client
// fhir-kit-client (pinned in package.json / package-lock.json next to this
// file): capability statement, CRUD, versions, search, compartment search,
// paging with nextPage, JSON Patch, transaction, batch, history.
//
// usage: node fhirkit_test.mjs BASE_URL     (exit 1 on any failure)
import { Client } from 'fhir-kit-client';

const baseUrl = process.argv[2];
const client = new Client({ baseUrl });
let fails = 0, checks = 0;
function check(cond, what) {
  checks++;
  if (!cond) { fails++; console.log(`FAIL: ${what}`); }
}
async function expectError(p, status, what) {
  try {
    await p;
    check(false, `${what}: no error`);
  } catch (e) {
    const got = e.response?.status;
    check(got === status, `${what}: HTTP ${got}, wanted ${status}`);
    check(e.response?.data?.resourceType === 'OperationOutcome', `${what}: OperationOutcome`);
  }
}

const cap = await client.capabilityStatement();
check(cap.resourceType === 'CapabilityStatement' && cap.fhirVersion === '4.0.1', 'capabilityStatement');

// create, read, update, vread
const p = await client.create({
  resourceType: 'Patient',
  body: { resourceType: 'Patient', name: [{ family: 'Kit', given: ['Fhir'] }], gender: 'female', birthDate: '1985-04-01',
          identifier: [{ system: 'urn:fhirkit', value: 'k1' }] },
});
check(p.id && p.meta?.versionId === '1', 'create');
const r = await client.read({ resourceType: 'Patient', id: p.id });
check(r.name?.[0]?.family === 'Kit', 'read');
r.gender = 'other';
const u = await client.update({ resourceType: 'Patient', id: p.id, body: r });
check(u.meta?.versionId === '2' && u.gender === 'other', 'update');
const v1 = await client.vread({ resourceType: 'Patient', id: p.id, version: '1' });
check(v1.gender === 'female', 'vread');
const patched = await client.patch({ resourceType: 'Patient', id: p.id,
  jsonPatch: [{ op: 'replace', path: '/gender', value: 'male' }] });
check(patched.gender === 'male' && patched.meta.versionId === '3', 'patch');
await expectError(client.read({ resourceType: 'Patient', id: 'no-such-patient' }), 404, 'read unknown');

// conditional update through searchParams
const cu = await client.update({ resourceType: 'Patient', searchParams: { identifier: 'urn:fhirkit|k2' },
  body: { resourceType: 'Patient', identifier: [{ system: 'urn:fhirkit', value: 'k2' }], name: [{ family: 'Kit2' }] } });
check(cu.id && cu.id !== p.id, 'conditional update creates');

// transaction with urn:uuid references
const tx = await client.transaction({ body: {
  resourceType: 'Bundle', type: 'transaction',
  entry: [
    { fullUrl: 'urn:uuid:5c7e2f6a-8d1b-4b3e-9f0a-1e2d3c4b5a69',
      resource: { resourceType: 'Patient', name: [{ family: 'Kittx' }] }, request: { method: 'POST', url: 'Patient' } },
    ...[1, 2, 3, 4, 5, 6, 7].map(i => ({
      resource: { resourceType: 'Observation', status: 'final',
                  code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
                  subject: { reference: 'urn:uuid:5c7e2f6a-8d1b-4b3e-9f0a-1e2d3c4b5a69' },
                  effectiveDateTime: `2021-0${i}-01T08:00:00Z`, valueQuantity: { value: 60 + i, unit: '/min',
                  system: 'http://unitsofmeasure.org', code: '/min' } },
      request: { method: 'POST', url: 'Observation' } })),
  ] } });
check(tx.type === 'transaction-response' && tx.entry.length === 8 &&
      tx.entry.every(e => e.response.status.startsWith('201')), 'transaction');
const txPatient = tx.entry[0].response.location.split('/')[1];

// search, compartment search, paging
let page = await client.search({ resourceType: 'Observation',
  searchParams: { subject: `Patient/${txPatient}`, _count: 3, _sort: 'date' } });
const seen = [];
let pages = 0;
while (page && pages < 10) {
  for (const e of page.entry || []) seen.push(e.resource.valueQuantity.value);
  page = await client.nextPage({ bundle: page });
  pages++;
}
check(JSON.stringify(seen) === JSON.stringify([61, 62, 63, 64, 65, 66, 67]), `paging with nextPage: ${seen}`);
check(pages === 3, `3 pages (${pages})`);
const comp = await client.compartmentSearch({ resourceType: 'Observation',
  compartment: { resourceType: 'Patient', id: txPatient }, searchParams: { date: 'ge2021-05-01' } });
check(comp.total === 3, `compartment search with a date (${comp.total})`);
const byName = await client.search({ resourceType: 'Patient', searchParams: { name: 'kit' } });
check(byName.total === 3, `search by name (${byName.total})`);
const chained = await client.search({ resourceType: 'Observation',
  searchParams: { 'subject:Patient.name': 'kittx', 'value-quantity': 'ge65' } });
check(chained.total === 3, `chained search with a quantity (${chained.total})`);
await expectError(client.search({ resourceType: 'Patient', searchParams: { bogus: 'x' },
  options: { headers: { Prefer: 'handling=strict' } } }), 400, 'unknown parameter, strict');

// batch
const batch = await client.batch({ body: { resourceType: 'Bundle', type: 'batch', entry: [
  { request: { method: 'GET', url: `Patient/${p.id}` } },
  { request: { method: 'DELETE', url: `Patient/${cu.id}` } },
  { request: { method: 'GET', url: 'Patient/nope' } },
] } });
check(batch.entry.map(e => e.response.status.slice(0, 3)).join() === '200,204,404', 'batch');

// history and delete
const hist = await client.history({ resourceType: 'Patient', id: p.id });
check(hist.type === 'history' && hist.entry.length === 3, 'instance history');
const thist = await client.typeHistory({ resourceType: 'Observation' });
check(thist.entry.length === 7, `type history (${thist.entry?.length})`);
await client.delete({ resourceType: 'Patient', id: p.id });
await expectError(client.read({ resourceType: 'Patient', id: p.id }), 410, 'read deleted');

console.log(`fhir-kit-client: ${checks} checks, ${fails} failed`);
process.exit(fails ? 1 : 0);
