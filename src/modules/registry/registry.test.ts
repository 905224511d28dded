import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRuntime, type TestRuntime } from '../../../test/support/test-runtime.js';
import { identityModule } from '../identity/index.js';
import { referenceModuleWith } from '../reference/index.js';
import { BIRTH_NUMBER_FORMAT, BIRTHS, PERSONS } from './demo-registries.js';
import { registryModule } from './index.js';

const T = 'in';
const API = '/api/registry/v1';
let t: TestRuntime;
let admin: Record<string, string>;

/** A caller of tenant `in` with some roles and permissions. */
const as = (roles: string[], permissions: string[], id = 'usr_someone') => t.as({ id, tenantId: T, roles, permissions });
const READER = ['registry.record.read'];

async function call(method: 'GET' | 'POST' | 'PATCH' | 'DELETE' | 'PUT', url: string, headers: Record<string, string>, payload?: unknown) {
  const res = await t.runtime.http.inject({ method, url, headers, ...(payload === undefined ? {} : { payload: payload as object }) });
  return { status: res.statusCode, body: res.body ? res.json() : undefined, raw: res };
}

async function createPerson(data: Record<string, unknown>) {
  const res = await call('POST', `${API}/registries/persons/records`, admin, { tenantId: T, data });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

beforeAll(async () => {
  t = await startTestRuntime([identityModule, referenceModuleWith(), registryModule]);
  admin = await t.as({ id: 'usr_admin', tenantId: T, roles: ['ADMIN'], permissions: ['registry.*', 'reference.id.generate'] });
  expect((await call('POST', '/api/reference/v1/id-formats', await t.as({ tenantId: T, permissions: ['reference.*'] }), { tenantId: T, ...BIRTH_NUMBER_FORMAT })).status).toBe(201);
  for (const r of [PERSONS, BIRTHS]) expect((await call('POST', `${API}/registries`, admin, { tenantId: T, ...r })).status).toBe(201);
}, 120_000);
afterAll(() => t?.close());

describe('registry definitions', () => {
  it('refuses flags on fields the schema lacks and matches a field cannot support, naming them', async () => {
    const res = await call('POST', `${API}/registries`, admin, {
      tenantId: T,
      code: 'broken',
      name: 'Broken',
      definition: {
        schema: { type: 'object', properties: { name: { type: 'string' }, aadhaar: { type: 'string' } } },
        fields: { nmae: { searchable: true }, aadhaar: { pii: true } },
        dedup: { rules: [{ name: 'r', all: [{ field: 'aadhaar', match: 'fuzzy' }] }] },
      },
    });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('REGISTRY_DEFINITION_INVALID');
    expect(res.body.errors.map((e: any) => e.path)).toEqual(expect.arrayContaining(['definition.fields.nmae', 'definition.dedup.rules.0.all.0.match']));
  });
});

describe('records with PII', () => {
  let asha: any;

  it('stores PII encrypted (no plaintext in any table) yet finds it by exact search', async () => {
    asha = await createPerson({ name: 'Asha Rao', dob: '1992-11-02', gender: 'female', nationalId: '345678901234', mobile: '9812345678', district: 'Mysuru' });
    const db = t.runtime.database;
    for (const table of ['records', 'record_versions', 'record_index']) {
      const { rows } = await db.executeSql(`select t::text as line from registry.${table} t`);
      const dump = rows.map((r) => r.line).join('\n');
      expect(dump.length).toBeGreaterThan(0);
      expect(dump, table).not.toContain('345678901234');
      expect(dump, table).not.toContain('9812345678');
    }
    const { rows } = await db.executeSql(`select sealed::text as sealed from registry.records where id = $1`, [asha.id]);
    expect(rows[0].sealed).toMatch(/"nationalId": "v1\./);
    const found = await call('POST', `${API}/registries/persons/search`, await as([], READER), { tenantId: T, criteria: [{ field: 'nationalId', mode: 'exact', value: '345678901234' }] });
    expect(found.status).toBe(200);
    expect(found.body.items.map((i: any) => i.id)).toEqual([asha.id]);
    const fuzzyOnPii = await call('POST', `${API}/registries/persons/search`, await as([], READER), { tenantId: T, criteria: [{ field: 'nationalId', mode: 'prefix', value: '3456' }] });
    expect(fuzzyOnPii.status).toBe(400);
    expect(fuzzyOnPii.body).toMatchObject({ code: 'REGISTRY_SEARCH_INVALID', errors: [{ path: 'criteria.0.mode' }] });
  });

  it('masks per role, hides what a role may not see, and shows plain PII only with permission and a reason (audited)', async () => {
    const url = `${API}/registries/persons/records/${asha.id}?tenantId=${T}`;
    const clerk = (await call('GET', url, await as(['CLERK'], READER))).body;
    expect(clerk.data).toMatchObject({ name: 'Asha Rao', nationalId: '34********34', mobile: '98******78' });
    expect(clerk.masked.sort()).toEqual(['mobile', 'nationalId']);
    const stranger = (await call('GET', url, await as(['FIELD_WORKER'], READER))).body;
    expect(stranger.data.mobile).toBeUndefined();
    expect(stranger.hidden).toEqual(['mobile']);
    expect(stranger.data.nationalId).toBe('34********34');

    const registrar = await as(['REGISTRAR'], [...READER, 'registry.record.pii.read'], 'usr_registrar');
    expect((await call('GET', `${url}&plain=true`, registrar)).body).toMatchObject({ code: 'REGISTRY_REASON_REQUIRED', errors: [{ path: 'reason' }] });
    expect((await call('GET', `${url}&plain=true&reason=checking`, await as(['REGISTRAR'], READER))).status).toBe(403);
    const plain = await call('GET', `${url}&plain=true&reason=${encodeURIComponent('verifying a benefit claim')}`, registrar);
    expect(plain.body.data).toMatchObject({ nationalId: '345678901234', mobile: '9812345678' });
    // A clerk asking for plain text still gets masks: the role's ceiling is masked.
    const clerkPlain = await call('GET', `${url}&plain=true&reason=curious`, await as(['CLERK'], [...READER, 'registry.record.pii.read']));
    expect(clerkPlain.body.data.nationalId).toBe('34********34');

    const audit = await t.runtime.database.executeSql(`select actor_id, data from kernel.audit_log where action = 'registry.record.pii.read' and entity_id = $1`, [asha.id]);
    expect(audit.rows).toHaveLength(1);
    const entry = typeof audit.rows[0].data === 'string' ? JSON.parse(audit.rows[0].data) : audit.rows[0].data;
    expect(audit.rows[0].actor_id).toBe('usr_registrar');
    expect(entry).toMatchObject({ fields: expect.arrayContaining(['nationalId', 'mobile']), reason: 'verifying a benefit claim' });
    expect(JSON.stringify(entry)).not.toContain('345678901234');
  });

  it('keeps versions with who, when and why; deletes softly; restores; refuses a taken unique value', async () => {
    const url = `${API}/registries/persons/records/${asha.id}`;
    const updated = await call('PATCH', url, admin, { tenantId: T, version: 1, changes: { district: 'Mandya' }, reason: 'moved house' });
    expect(updated.status, JSON.stringify(updated.body)).toBe(200);
    expect(updated.body).toMatchObject({ version: 2, data: { district: 'Mandya' } });
    expect((await call('PATCH', url, admin, { tenantId: T, version: 1, changes: { district: 'Hassan' } })).status).toBe(409);
    const invalid = await call('PATCH', url, admin, { tenantId: T, changes: { dob: '02/11/1992' } });
    expect(invalid.status).toBe(422);
    expect(invalid.body.errors[0].path).toBe('changes.dob');

    expect((await call('DELETE', `${url}?tenantId=${T}&reason=${encodeURIComponent('registered twice')}`, admin)).body.status).toBe('deleted');
    const gone = await call('POST', `${API}/registries/persons/search`, admin, { tenantId: T, criteria: [{ field: 'nationalId', mode: 'exact', value: '345678901234' }] });
    expect(gone.body.items).toEqual([]);
    const taker = await createPerson({ name: 'Someone Else', dob: '1990-01-01', nationalId: '345678901234' });
    const refused = await call('POST', `${url}/restore`, admin, { tenantId: T });
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ code: 'REGISTRY_RECORD_NOT_UNIQUE', errors: [{ path: 'data.nationalId' }] });
    await call('DELETE', `${API}/registries/persons/records/${taker.id}?tenantId=${T}`, admin);
    expect((await call('POST', `${url}/restore`, admin, { tenantId: T, reason: 'deleted by mistake' })).body).toMatchObject({ status: 'active', version: 4 });

    const versions = (await call('GET', `${url}/versions?tenantId=${T}`, admin)).body.items;
    expect(versions.map((v: any) => [v.version, v.change, v.reason])).toEqual([
      [1, 'created', null],
      [2, 'updated', 'moved house'],
      [3, 'deleted', 'registered twice'],
      [4, 'restored', 'deleted by mistake'],
    ]);
    expect(versions[1].changedBy).toBe('usr_admin');
  });
});

describe('search and de-duplication', () => {
  let mohammed: any;

  it('finds "Mohammed Abdul" for "Mohamad Abdul" (trigram and phonetic), best first, masked', async () => {
    mohammed = await createPerson({ name: 'Mohammed Abdul', dob: '1987-03-14', nationalId: '234567890123', mobile: '9876543221' });
    for (const [name, dob] of [['Mohan Das', '1970-01-01'], ['Abdul Kalam', '1931-10-15'], ['Ravi Kumar', '1979-06-30']]) await createPerson({ name, dob });
    const clerk = await as(['CLERK'], READER);
    const search = (criteria: unknown[], extra = {}) => call('POST', `${API}/registries/persons/search`, clerk, { tenantId: T, criteria, ...extra });
    const fuzzy = await search([{ field: 'name', mode: 'fuzzy', value: 'Mohamad Abdul' }]);
    expect(fuzzy.status).toBe(200);
    expect(fuzzy.body.items[0]).toMatchObject({ id: mohammed.id, data: { name: 'Mohammed Abdul', mobile: '98******21' } });
    expect(fuzzy.body.items[0].score).toBeGreaterThan(0.5);
    const phonetic = await search([{ field: 'name', mode: 'phonetic', value: 'Mohamad Abdul' }]);
    expect(phonetic.body.items.map((i: any) => i.id)).toEqual([mohammed.id]);
    const prefix = await search([{ field: 'name', mode: 'prefix', value: 'moh' }]);
    expect(prefix.body.items.map((i: any) => i.data.name).sort()).toEqual(['Mohammed Abdul', 'Mohan Das']);
    const dobTypo = await search([{ field: 'dob', mode: 'fuzzy', value: '1987-03-41' }]);
    expect(dobTypo.body.items.map((i: any) => i.id)).toContain(mohammed.id);
    const range = await search([{ field: 'dob', mode: 'range', from: '1930-01-01', to: '1971-01-01' }]);
    expect(range.body.items.map((i: any) => i.data.name).sort()).toEqual(['Abdul Kalam', 'Mohan Das']);

    const first = await search([], { limit: 2 });
    expect(first.body.items).toHaveLength(2);
    const second = await search([], { limit: 2, cursor: first.body.nextCursor });
    const ids = [...first.body.items, ...second.body.items].map((i: any) => i.id);
    expect(new Set(ids).size).toBe(4);
  });

  it('flags a duplicate on create and explains which fields matched', async () => {
    const dup = await createPerson({ name: 'Mohamad Abdul', dob: '1987-03-14' });
    expect(dup.review).toBe('pending');
    const candidate = dup.duplicates.find((d: any) => d.recordId === mohammed.id);
    expect(candidate).toMatchObject({ rule: 'similar name, same birth date' });
    expect(candidate.score).toBeGreaterThanOrEqual(0.8);
    expect(candidate.reasons.map((r: any) => [r.field, r.match])).toEqual([
      ['name', 'fuzzy'],
      ['dob', 'exact'],
    ]);
    expect(candidate.reasons[0].detail).toMatch(/trigram similarity 0\.\d+/);

    const byId = await call('POST', `${API}/registries/persons/duplicates/check`, admin, { tenantId: T, data: { name: 'Someone New', dob: '2000-01-01', nationalId: '234567890123' } });
    expect(byId.body.candidates[0]).toMatchObject({ recordId: mohammed.id, score: 1, rule: 'same national id', reasons: [{ field: 'nationalId', match: 'exact' }] });

    const decider = await as(['REGISTRAR'], ['registry.dedup.decide', ...READER], 'usr_registrar');
    const decided = await call('POST', `${API}/registries/persons/records/${dup.id}/duplicates/${mohammed.id}`, decider, { tenantId: T, decision: 'merge', reason: 'same man, spelling' });
    expect(decided.status, JSON.stringify(decided.body)).toBe(200);
    const merged = (await call('GET', `${API}/registries/persons/records/${dup.id}?tenantId=${T}`, admin)).body;
    expect(merged).toMatchObject({ status: 'merged', duplicateOf: mohammed.id, review: 'cleared' });
    const audit = await t.runtime.database.executeSql(`select actor_id from kernel.audit_log where action = 'registry.dedup.decided' and entity_id = $1`, [dup.id]);
    expect(audit.rows.map((r) => r.actor_id)).toEqual(['usr_registrar']);
    expect((await call('POST', `${API}/registries/persons/records/${dup.id}/duplicates/${mohammed.id}`, decider, { tenantId: T, decision: 'not_duplicate', reason: 'changed my mind' })).status).toBe(409);
  });

  it('applies the birth rule: child name fuzzy ≥ 0.8, born within 30 days, same mother', async () => {
    const url = `${API}/registries/births/records`;
    const first = (await call('POST', url, admin, { tenantId: T, data: { childName: 'Priya Sharma', dob: '2026-10-01', motherName: 'Sunita Sharma' } })).body;
    const near = (await call('POST', url, admin, { tenantId: T, data: { childName: 'Priya Sharmaa', dob: '2026-10-20', motherName: 'Sunitha Sharma' } })).body;
    expect(near.duplicates.map((d: any) => d.recordId)).toEqual([first.id]);
    // Registration numbers come from the reference ID format, one after the other.
    const [a, b] = [first.data.registrationNo, near.data.registrationNo].map((n: string) => Number(n.split('-').at(-1)));
    expect(first.data.registrationNo).toMatch(/^BR-\d{4}-\d{2}-\d{6}$/);
    expect(b).toBe(a! + 1);
    expect(near.duplicates[0].reasons.map((r: any) => r.field)).toEqual(['childName', 'dob', 'motherName']);
    expect(near.duplicates[0].reasons[1].detail).toBe('19 days apart (at most 30)');
    const far = (await call('POST', url, admin, { tenantId: T, data: { childName: 'Priya Sharma', dob: '2027-01-20', motherName: 'Sunita Sharma' } })).body;
    expect(far.duplicates).toEqual([]);
  });
});

describe('owners and PII names', () => {
  it('lets a citizen read their own record in plain text and see who read their PII, and why', async () => {
    const mine = await createPerson({ name: 'Meera Nair', dob: '1995-05-05', mobile: '9123456780', citizenId: 'usr_meera' });
    const citizen = await as(['CITIZEN'], ['registry.record.own.read'], 'usr_meera');
    const own = await call('GET', `${API}/registries/persons/my-records?tenantId=${T}`, citizen);
    expect(own.body.items.map((r: any) => [r.id, r.data.mobile])).toEqual([[mine.id, '9123456780']]);
    expect((await call('GET', `${API}/registries/persons/my-records?tenantId=${T}`, await as(['CITIZEN'], ['registry.record.own.read'], 'usr_other'))).body.items).toEqual([]);
    const registrar = await as(['REGISTRAR'], [...READER, 'registry.record.pii.read'], 'usr_registrar');
    await call('GET', `${API}/registries/persons/records/${mine.id}?tenantId=${T}&plain=true&reason=pension%20check`, registrar);
    const usage = await call('GET', `${API}/registries/persons/personal-data-usage?tenantId=${T}&userId=usr_meera`, citizen);
    expect(usage.body.items).toMatchObject([{ readerId: 'usr_registrar', reason: 'pension check', fields: ['mobile'], refrences: [{ ReferenceID: mine.id }] }]);
    expect((await call('GET', `${API}/registries/persons/personal-data-usage?tenantId=${T}&userId=usr_meera`, await as(['CITIZEN'], ['registry.record.own.read'], 'usr_other'))).status).toBe(403);
  });

  it('matches a PII name flagged fuzzy by keyed sound only, with no plaintext or phonetic code stored', async () => {
    const definition = {
      schema: { type: 'object', properties: { name: { type: 'string' }, dob: { type: 'string', format: 'date' } } },
      fields: { name: { pii: true, fuzzy: true }, dob: { searchable: true } },
      dedup: { threshold: 0.9, rules: [{ name: 'sounds alike, same dob', all: [{ field: 'name', match: 'fuzzy' }, { field: 'dob', match: 'exact' }] }] },
    };
    expect((await call('POST', `${API}/registries`, admin, { tenantId: T, code: 'voters', name: 'Voters', definition })).status).toBe(201);
    const url = `${API}/registries/voters/records`;
    const first = (await call('POST', url, admin, { tenantId: T, data: { name: 'Mohammed Abdul', dob: '1980-02-02' } })).body;
    const second = (await call('POST', url, admin, { tenantId: T, data: { name: 'Mohamad Abdul', dob: '1980-02-02' } })).body;
    expect(second.duplicates).toMatchObject([{ recordId: first.id, reasons: [{ field: 'name', detail: 'sounds alike (keyed double metaphone)' }, { field: 'dob' }] }]);
    const found = await call('POST', `${API}/registries/voters/search`, admin, { tenantId: T, criteria: [{ field: 'name', mode: 'fuzzy', value: 'Muhamad Abdul' }] });
    expect(found.body.items.map((i: any) => i.id).sort()).toEqual([first.id, second.id].sort());
    const { rows } = await t.runtime.database.executeSql(`select i::text as line from registry.record_index i where record_id = $1`, [first.id]);
    const dump = rows.map((r) => r.line).join('\n').toLowerCase();
    expect(dump).not.toContain('mohammed');
    expect(dump).not.toContain('mhmt');
  });
});

describe('bulk import and export', () => {
  it('imports CSV with a report per bad row, and exports masked', async () => {
    const csv = ['name,dob,nationalId,district', 'Kiran Shetty,1985-07-07,567890123456,Udupi', 'No Date,,678901234567,Udupi', 'Bad Id,1990-01-01,12ab,Udupi', 'Twin Id,1991-01-01,567890123456,Udupi'].join('\n');
    const rejected = await call('POST', `${API}/registries/persons/import`, admin, { tenantId: T, format: 'csv', content: csv });
    expect(rejected.status).toBe(422);
    expect(rejected.body.rows.map((r: any) => [r.row, r.errors[0].path])).toEqual([
      [2, 'rows.2.dob'],
      [3, 'rows.3.nationalId'],
      [4, 'rows.4.nationalId'],
    ]);
    const skipped = await call('POST', `${API}/registries/persons/import`, admin, { tenantId: T, format: 'csv', content: csv, onError: 'skip' });
    expect(skipped.body).toMatchObject({ received: 4, created: 1 });
    const exported = await call('GET', `${API}/registries/persons/export?tenantId=${T}&format=csv`, await as(['CLERK'], READER));
    expect(exported.body.content).toContain('Kiran Shetty');
    expect(exported.body.content).toContain('56********56');
    expect(exported.body.content).not.toContain('567890123456');
  });
});

describe('GovStack Digital Registries adapter', () => {
  const G = '/api/registry/govstack';
  let headers: Record<string, string>;

  beforeAll(async () => {
    headers = { ...admin, 'information-mediator-client': 'eGovStack/GOV/90000009/digitalregistries' };
    const modified = await call('POST', `${G}/database/modify`, headers, {
      code: 'citizens',
      catalog_name: 'Citizens',
      schema: { type: 'object', properties: { id: { type: 'string', primaryKey: true }, firstName: { type: 'string' }, lastName: { type: 'string' }, birthCertificateId: { type: 'string' } } },
      fields: { id: { searchable: true, unique: true }, firstName: { searchable: true }, lastName: { searchable: true } },
    });
    expect(modified.status, JSON.stringify(modified.body)).toBe(200);
  });

  it('creates, reads, updates (twice), checks existence and deletes (twice)', async () => {
    const data = `${G}/data/citizens/1.0`;
    const created = await call('POST', `${data}/create`, headers, { write: { content: { id: 'EE378627348834', firstName: 'John Helmut', lastName: 'Smith Carry' } } });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    expect(created.body.content).toMatchObject({ id: 'EE378627348834', firstName: 'John Helmut' });
    expect(created.raw.headers['content-type']).toBe('application/json; charset=utf-8');

    const read = await call('POST', `${data}/read`, headers, { query: { content: { id: 'EE378627348834' } } });
    expect(read.body.content.lastName).toBe('Smith Carry');
    const update = { query: { content: { id: 'EE378627348834' } }, write: { content: { birthCertificateId: 'RR-1234567889' } } };
    expect((await call('PUT', `${data}/update`, headers, update)).status).toBe(200);
    const again = await call('PUT', `${data}/update`, headers, update);
    expect(again.status).toBe(200);
    expect(again.body.content.birthCertificateId).toBe('RR-1234567889');

    const exists = await call('POST', `${data}/exists`, headers, { query: { content: { firstName: 'John Helmut' } } });
    expect(exists.body).toEqual({ answer: { status: true, message: 'Object found from database' } });
    const flat = await call('POST', `${data}/exists`, headers, { lastName: 'Smith Carry' });
    expect(flat.body.answer.status).toBe(true);
    const list = await call('GET', `${data}?query.lastName=Smith%20Carry&page=1&pageSize=10`, headers);
    expect(list.body).toMatchObject({ count: 1, results: [{ id: 'EE378627348834' }] });
    const value = await call('GET', `${data}/EE378627348834/readValue/firstName.json`, headers);
    expect(value.body).toEqual({ value: 'John Helmut' });

    expect((await call('DELETE', `${data}/EE378627348834/delete`, headers)).status).toBe(204);
    expect((await call('DELETE', `${data}/EE378627348834/delete`, headers)).status).toBe(204);
    expect((await call('POST', `${data}/exists`, headers, { query: { content: { id: 'EE378627348834' } } })).body.answer.status).toBe(false);
    expect((await call('POST', `${data}/read`, headers, { query: { content: { id: 'EE378627348834' } } })).status).toBe(404);
  });

  it('answers a clean 4xx to empty bodies, a missing mediator header and an unknown version', async () => {
    const data = `${G}/data/citizens/1.0`;
    const empty = await t.runtime.http.inject({ method: 'POST', url: `${data}/create`, headers });
    expect(empty.statusCode).toBe(400);
    expect(empty.json().errors[0].path).toBe('body.write.content');
    const emptyJson = await t.runtime.http.inject({ method: 'PUT', url: `${data}/update`, headers: { ...headers, 'content-type': 'application/json' } });
    expect(emptyJson.statusCode).toBe(400);
    const noHeader = await call('POST', `${data}/exists`, admin, { query: { content: { id: 'x' } } });
    expect(noHeader.status).toBe(400);
    expect(noHeader.body.code).toBe('REGISTRY_GOVSTACK_CLIENT_MISSING');
    expect((await call('POST', `${G}/data/citizens/7/exists`, headers, { query: { content: { id: 'x' } } })).status).toBe(404);
    const outsider = { ...(await t.as({ id: 'usr_other', tenantId: 'tb', roles: ['ADMIN'], permissions: ['registry.*'] })), 'information-mediator-client': 'x/y/z/w' };
    expect((await call('POST', `${data}/exists?tenantId=${T}`, outsider, { query: { content: { id: 'x' } } })).body.code).toBe('TENANT_FORBIDDEN');
    const number = (await call('GET', `${API}/registries/citizens?tenantId=${T}`, admin)).body.number;
    expect((await call('GET', `${G}/database/${number}`, outsider)).status).toBe(404);
    expect((await call('GET', `${G}/database/${number}`, headers)).body).toMatchObject({ id: number, name: 'citizens', version: '1' });
    const databases = await call('GET', `${G}/databases`, headers);
    expect(databases.body.databases.map((d: any) => d.name)).toEqual(expect.arrayContaining(['citizens', 'persons', 'births']));
  });
});
