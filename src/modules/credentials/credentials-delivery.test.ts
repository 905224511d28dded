import { inflateSync } from 'node:zlib';
import jsQRModule from 'jsqr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestRuntime, type TestRuntime } from '../../../test/support/test-runtime.js';
import { identityModule } from '../identity/index.js';
import { credentialsModule, decodeCredentialFromQr } from './index.js';

/**
 * Issue 10 in one runtime: bulk CSV issuance, citizen retrieval after an OTP sign-in, PDF
 * certificates from display templates (Latin and Devanagari), the short lookup URL, and
 * `eddsa-rdfc-2022` per type.
 */
let t: TestRuntime;
let issuer: Record<string, string>;
const API = '/api/credentials/v1';
const jsQR = ((jsQRModule as unknown as { default?: unknown }).default ?? jsQRModule) as typeof jsQRModule.default;

const vaccination = {
  tenantId: 'in.ka',
  code: 'vaccination',
  name: 'Vaccination certificate',
  vcType: 'VaccinationCertificate',
  validityDays: 365,
  claimsSchema: {
    type: 'object',
    required: ['name', 'vaccine', 'dose'],
    additionalProperties: false,
    properties: { name: { type: 'string', minLength: 1 }, vaccine: { type: 'string' }, dose: { type: 'integer', minimum: 1 }, date: { type: 'string', format: 'date' } },
  },
  display: {
    en: { title: 'Vaccination certificate', fields: [{ label: 'Name', value: '{{name}}' }, { label: 'Vaccine', value: '{{vaccine}} (dose {{dose}})' }, { label: 'Valid until', value: '{{validUntil}}' }] },
    hi: {
      title: 'टीकाकरण प्रमाणपत्र',
      subtitle: 'Vaccination certificate',
      fields: [{ label: 'नाम', value: '{{name}}' }, { label: 'टीका', value: '{{vaccine}} (खुराक {{dose}})' }],
      footer: 'क्षेत्रीय स्वास्थ्य कार्यालय द्वारा जारी',
    },
  },
};

beforeAll(async () => {
  t = await startTestRuntime([identityModule, credentialsModule]);
  const platform = await t.as({ kind: 'system', permissions: ['*'] });
  for (const [code, name] of [['in', 'India'], ['in.ka', 'Karnataka'], ['in.ka.bengaluru', 'Bengaluru']]) {
    const res = await t.runtime.http.inject({ method: 'POST', url: '/api/identity/v1/tenants', headers: platform, payload: { code, name } });
    expect(res.statusCode, res.body).toBe(201);
  }
  const role = await t.runtime.http.inject({
    method: 'POST',
    url: '/api/identity/v1/roles',
    headers: platform,
    payload: { tenantId: 'in', code: 'CITIZEN', name: 'Citizen', permissions: ['identity.session.logout', 'credentials.own.read'] },
  });
  expect(role.statusCode, role.body).toBe(201);
  issuer = await t.as({ tenantId: 'in.ka', permissions: ['credentials.*'] });
  const created = await post('/types', vaccination);
  expect(created.statusCode, created.body).toBe(201);
}, 60_000);
afterAll(() => t?.close());

async function post(path: string, payload: unknown, headers: Record<string, string> = issuer) {
  return t.runtime.http.inject({ method: 'POST', url: API + path, headers, payload: payload as object });
}
async function get(path: string, headers: Record<string, string> = issuer) {
  return t.runtime.http.inject({ method: 'GET', url: path.startsWith('/') && !path.startsWith(API) && !path.startsWith('/c/') ? API + path : path, headers });
}
async function count(sql: string, params: unknown[] = []): Promise<number> {
  const { rows } = await t.runtime.database.executeSql(sql, params);
  return Number(rows[0].n);
}

async function citizenToken(mobile: string): Promise<Record<string, string>> {
  expect((await t.runtime.http.inject({ method: 'POST', url: '/api/identity/v1/otp', payload: { tenant: 'in.ka.bengaluru', mobile } })).statusCode).toBe(202);
  const outbox = await t.runtime.http.inject({ url: '/api/identity/v1/dev-outbox?limit=50', headers: await t.as({ permissions: ['identity.devoutbox.read'] }) });
  const message = outbox.json().items.find((m: { recipient: string }) => m.recipient === mobile);
  const otp = /\b(\d{6})\b/.exec(message.body)![1]!;
  const res = await t.runtime.http.inject({ method: 'POST', url: '/api/identity/v1/oauth/token', payload: { grant_type: 'otp', tenant: 'in.ka.bengaluru', mobile, otp } });
  expect(res.statusCode, res.body).toBe(200);
  return { authorization: `Bearer ${res.json().access_token}` };
}

describe('bulk issuance from CSV', () => {
  it('validates every row, names each refused field, issues the rest once, and reports counts and throughput', async () => {
    // One source issued through the API first: the bulk row for it is counted as existing.
    const api = await post('/credentials', { tenantId: 'in.ka', type: 'vaccination', sourceRef: 'B-0003', claims: { name: 'Row 3', vaccine: 'COVAXIN', dose: 1 } });
    expect(api.statusCode, api.body).toBe(201);
    const lines = ['sourceRef,name,vaccine,dose,mobile'];
    for (let i = 1; i <= 40; i++) lines.push(`B-${String(i).padStart(4, '0')},Row ${i},COVAXIN,1,`);
    lines.push('B-0041,,COVAXIN,0,12345'); // empty name, dose below minimum, bad mobile
    lines.push('B-0001,Again,COVAXIN,1,'); // repeats row 2
    lines.push(',No ref,COVAXIN,1,');
    lines.push('B-0044,Conflict,COVISHIELD,x,');
    const created = await post('/bulk-jobs', { tenantId: 'in.ka', type: 'vaccination', csv: lines.join('\n'), batchSize: 7 });
    expect(created.statusCode, created.body).toBe(202);
    const job = created.json();
    expect(job).toMatchObject({ status: 'queued', counts: { rows: 44, valid: 40, invalid: 4, processed: 0 } });
    expect(job.errors).toEqual([
      {
        row: 42,
        sourceRef: 'B-0041',
        errors: expect.arrayContaining([
          { path: 'mobile', message: expect.any(String) },
          { path: 'claims.name', message: expect.any(String) },
          { path: 'claims.dose', message: expect.any(String) },
        ]),
      },
      { row: 43, sourceRef: 'B-0001', errors: [{ path: 'sourceRef', message: 'repeats row 2' }] },
      { row: 44, sourceRef: null, errors: [{ path: 'sourceRef', message: 'is required' }] },
      { row: 45, sourceRef: 'B-0044', errors: [{ path: 'claims.dose', message: expect.any(String) }] },
    ]);
    const done = await eventually(async () => {
      const res = (await get(`/bulk-jobs/${job.id}`)).json();
      return res.status === 'completed' ? res : undefined;
    }, 'the bulk job to complete');
    expect(done.counts).toEqual({ rows: 44, valid: 40, invalid: 4, processed: 40, pending: 0, issued: 39, existing: 1, failed: 0 });
    expect(done.throughput.rowsPerSecond).toBeGreaterThan(0);
    expect(await count(`select count(*) as n from credentials.credentials where source_ref like 'B-%'`)).toBe(40);
    expect(await count(`select count(*) as n from credentials.credentials where bulk_job_id = $1`, [job.id])).toBe(39);
    expect(await count(`select count(*) as n from kernel.outbox where name = 'credentials.credential.issued' and payload->>'bulkJob' = $1`, [job.id])).toBe(39);
    // One audit entry per batch of 7 (40 rows: 6 batches), plus creation and completion.
    expect(await count(`select count(*) as n from kernel.audit_log where action = 'credentials.bulk.batch_issued' and entity_id = $1`, [job.id])).toBe(6);
    expect(await count(`select count(*) as n from kernel.audit_log where action = 'credentials.bulk.completed' and entity_id = $1`, [job.id])).toBe(1);
    // A bulk credential verifies like any other.
    const one = await t.runtime.database.executeSql(`select document from credentials.credentials where source_ref = 'B-0007'`);
    const document = typeof one.rows[0].document === 'string' ? JSON.parse(one.rows[0].document) : one.rows[0].document;
    expect((await post('/verify', { credential: document }, {})).json()).toMatchObject({ verified: true, status: 'active' });
  });

  it('refuses a CSV without the sourceRef column or with an unknown column, naming body.csv', async () => {
    expect((await post('/bulk-jobs', { tenantId: 'in.ka', type: 'vaccination', csv: 'name,vaccine,dose\nA,B,1' })).json()).toMatchObject({ status: 422, code: 'CREDENTIAL_CSV_INVALID', errors: [{ path: 'body.csv' }] });
    expect((await post('/bulk-jobs', { tenantId: 'in.ka', type: 'vaccination', csv: 'sourceRef,name,colour\nX,A,red' })).json()).toMatchObject({ code: 'CREDENTIAL_CSV_INVALID' });
    expect((await post('/bulk-jobs', { tenantId: 'in.ka', type: 'nope', csv: 'sourceRef\nX' })).json()).toMatchObject({ code: 'CREDENTIAL_TYPE_NOT_FOUND' });
    expect((await post('/bulk-jobs', { tenantId: 'in.ka', type: 'vaccination' })).json()).toMatchObject({ status: 400, errors: [{ path: 'body.csv' }] });
    const other = await t.as({ tenantId: 'in.tn', permissions: ['credentials.*'] });
    const job = (await post('/bulk-jobs', { tenantId: 'in.ka', type: 'vaccination', csv: 'sourceRef,name,vaccine,dose\nZ-1,A,B,1' })).json();
    expect((await get(`/bulk-jobs/${job.id}`, other)).statusCode).toBe(404);
  });
});

describe('citizen retrieval', () => {
  it('a citizen signs in with mobile + OTP and downloads their credentials as JSON, PDF and QR image; nobody else’s', async () => {
    const mine = await post('/credentials', { tenantId: 'in.ka', type: 'vaccination', sourceRef: 'C-1', subjectMobile: '+91 98765 43210', claims: { name: 'Asha Rao', vaccine: 'COVAXIN', dose: 2 } });
    expect(mine.statusCode, mine.body).toBe(201);
    const theirs = await post('/credentials', { tenantId: 'in.ka', type: 'vaccination', sourceRef: 'C-2', subjectMobile: '9876500000', claims: { name: 'Ravi', vaccine: 'COVAXIN', dose: 1 } });
    expect((await post('/credentials', { tenantId: 'in.ka', type: 'vaccination', sourceRef: 'C-3', subjectMobile: '0000012345', claims: { name: 'X', vaccine: 'Y', dose: 1 } })).json()).toMatchObject({
      status: 422,
      code: 'CREDENTIAL_MOBILE_INVALID',
      errors: [{ path: 'body.subjectMobile' }],
    });
    // Bulk rows with a mobile are linked too.
    const bulk = (await post('/bulk-jobs', { tenantId: 'in.ka', type: 'vaccination', csv: 'sourceRef,name,vaccine,dose,mobile\nC-4,Asha Rao,COVISHIELD,3,9876543210' })).json();
    await eventually(async () => (await get(`/bulk-jobs/${bulk.id}`)).json().status === 'completed', 'the bulk job');

    const citizen = await citizenToken('9876543210');
    const list = await get('/my/credentials', citizen);
    expect(list.statusCode, list.body).toBe(200);
    expect(list.json().items.map((i: { type: string; typeName: string }) => i.typeName)).toEqual(['Vaccination certificate', 'Vaccination certificate']);
    const ids = list.json().items.map((i: { id: string }) => i.id).sort();
    expect(ids).toContain(mine.json().id);

    const json = await get(`/my/credentials/${mine.json().id}`, citizen);
    expect(json.statusCode).toBe(200);
    expect(json.json().credential).toEqual(mine.json().credential);
    const pdf = await get(`/my/credentials/${mine.json().id}/pdf?locale=hi-IN`, citizen);
    expect(pdf.statusCode, pdf.body).toBe(200);
    expect(pdf.headers['content-type']).toBe('application/pdf');
    expect(pdf.rawPayload.subarray(0, 5).toString()).toBe('%PDF-');
    const png = await get(`/my/credentials/${mine.json().id}/qr.png`, citizen);
    expect(png.headers['content-type']).toBe('image/png');
    const { default: sharp } = await import('sharp');
    const { data, info } = await sharp(png.rawPayload).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
    const read = jsQR(new Uint8ClampedArray(data), info.width, info.height);
    expect(decodeCredentialFromQr(read!.data)).toEqual(mine.json().credential);

    for (const path of [`/my/credentials/${theirs.json().id}`, `/my/credentials/${theirs.json().id}/pdf`, `/my/credentials/${theirs.json().id}/qr.png`]) {
      expect((await get(path, citizen)).statusCode, path).toBe(404);
    }
    expect((await get('/my/credentials', {})).statusCode).toBe(401);
    expect((await get(`/my/credentials/${mine.json().id}/pdf`, {})).statusCode).toBe(401);
    expect((await get('/my/credentials', await t.as({ tenantId: 'in.ka', permissions: ['credentials.issue'] }))).statusCode).toBe(403);
    // Never the number in the clear: only its blind index.
    const stored = await t.runtime.database.executeSql(`select subject_mobile_bidx, document::text as doc from credentials.credentials where id = $1`, [mine.json().id]);
    expect(stored.rows[0].subject_mobile_bidx).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    expect(stored.rows[0].doc).not.toContain('98765');
    const other = await citizenToken('9876511111');
    expect((await get('/my/credentials', other)).json().items).toEqual([]);
  });
});

/** The PDF's ToUnicode maps: glyph → the text it stands for. A conjunct is one glyph for several characters. */
function toUnicodeTexts(pdf: Buffer): string[] {
  const texts: string[] = [];
  const raw = pdf.toString('latin1');
  for (const match of raw.matchAll(/stream\r?\n/g)) {
    const start = match.index! + match[0].length;
    const end = raw.indexOf('endstream', start);
    let body: Buffer;
    try {
      body = inflateSync(pdf.subarray(start, end));
    } catch {
      continue;
    }
    const text = body.toString('latin1');
    if (!text.includes('beginbfrange') && !text.includes('beginbfchar')) continue;
    for (const [, hex] of text.matchAll(/<([0-9a-fA-F ]{4,})>/g)) {
      const codes = hex!.replace(/ /g, '').match(/.{4}/g)!.map((h) => parseInt(h, 16));
      texts.push(String.fromCharCode(...codes));
    }
  }
  return texts;
}

describe('PDF certificates and display templates', () => {
  it('prints the type’s template for the locale, in Noto Sans and Noto Sans Devanagari, with conjuncts shaped', async () => {
    const issued = await post('/credentials', { tenantId: 'in.ka', type: 'vaccination', sourceRef: 'P-1', claims: { name: 'क्षितिज शर्मा', vaccine: 'कोवैक्सिन', dose: 2 } });
    const pdf = await get(`/credentials/${issued.json().id}/pdf?locale=hi-IN`);
    expect(pdf.statusCode, pdf.body).toBe(200);
    const bytes = pdf.rawPayload;
    const text = bytes.toString('latin1');
    expect(text).toMatch(/\/BaseFont \/[A-Z]{6}\+NotoSansDevanagari-Bold/);
    expect(text).toMatch(/\/BaseFont \/[A-Z]{6}\+NotoSans-Regular/);
    const glyphs = toUnicodeTexts(bytes);
    // "क्ष" (ka, virama, ssa) is one glyph: the font's conjunct, so OpenType shaping ran.
    expect(glyphs).toContain('क्ष');
    // English falls back from an unknown locale.
    const en = await get(`/credentials/${issued.json().id}/pdf?locale=fr`);
    expect(en.statusCode).toBe(200);
    expect((await get(`/credentials/${issued.json().id}/pdf?locale=%%%`)).json()).toMatchObject({ status: 400, code: 'VALIDATION_FAILED' });
  });

  it('refuses a template naming a claim the type does not have, and replaces templates', async () => {
    const bad = await t.runtime.http.inject({ method: 'PUT', url: `${API}/types/vaccination/display`, headers: issuer, payload: { tenantId: 'in.ka', display: { en: { title: 'X', fields: [{ label: 'Age', value: '{{age}}' }] } } } });
    expect(bad.json()).toMatchObject({ status: 422, code: 'CREDENTIAL_DISPLAY_INVALID', errors: [{ path: 'body.display.en.fields.0.value' }] });
    const good = await t.runtime.http.inject({
      method: 'PUT',
      url: `${API}/types/vaccination/display`,
      headers: issuer,
      payload: { tenantId: 'in.ka', display: { ...vaccination.display, mr: { title: 'लसीकरण प्रमाणपत्र', fields: [{ label: 'नाव', value: '{{name}}' }] } } },
    });
    expect(good.statusCode, good.body).toBe(200);
    expect(Object.keys(good.json().display).sort()).toEqual(['en', 'hi', 'mr']);
    expect((await t.runtime.http.inject({ method: 'PUT', url: `${API}/types/nope/display`, headers: issuer, payload: { tenantId: 'in.ka', display: {} } })).statusCode).toBe(404);
  });
});

describe('short-URL lookup', () => {
  it('the short URL redirects to a public view of the credential’s status, without its claims', async () => {
    const issued = (await post('/credentials', { tenantId: 'in.ka', type: 'vaccination', sourceRef: 'S-1', claims: { name: 'Asha Rao', vaccine: 'COVAXIN', dose: 1 } })).json();
    expect(issued.shortUrl).toMatch(/^http:\/\/localhost:8080\/c\/[1-9A-HJ-NP-Za-km-z]{12}$/);
    const qr = (await get(`/credentials/${issued.id}/qr`)).json();
    expect(qr.shortUrl).toBe(issued.shortUrl);
    expect(qr.shortUrlSvg).toMatch(/^<svg/);
    const path = new URL(issued.shortUrl).pathname;
    const redirect = await t.runtime.http.inject({ url: path });
    expect(redirect.statusCode).toBe(302);
    const view = await t.runtime.http.inject({ url: redirect.headers.location as string });
    expect(view.statusCode, view.body).toBe(200);
    expect(view.json()).toMatchObject({ id: issued.id, typeName: 'Vaccination certificate', status: 'active', verified: true });
    expect(view.body).not.toContain('Asha');
    await post(`/credentials/${issued.id}/revoke`, { reason: 'error' });
    expect((await t.runtime.http.inject({ url: redirect.headers.location as string })).json()).toMatchObject({ status: 'revoked', verified: false });
    expect((await t.runtime.http.inject({ url: `${API}/lookup/111111111111` })).statusCode).toBe(404);
    expect((await t.runtime.http.inject({ url: '/c/short' })).statusCode).toBe(400);
  });
});

describe('status list cache', () => {
  it('serves the same signed list between verifications, and a fresh one after a status change', async () => {
    const issued = (await post('/credentials', { tenantId: 'in.ka', type: 'vaccination', sourceRef: 'L-1', claims: { name: 'A', vaccine: 'B', dose: 1 } })).json();
    const url = new URL(issued.credential.credentialStatus[0].statusListCredential).pathname;
    const first = (await t.runtime.http.inject({ url })).json();
    const second = (await t.runtime.http.inject({ url })).json();
    expect(second).toEqual(first); // same proof: signed once
    await post(`/credentials/${issued.id}/suspend`, { reason: 'check' });
    const suspension = new URL(issued.credential.credentialStatus[1].statusListCredential).pathname;
    expect((await post('/verify', { credential: issued.credential }, {})).json()).toMatchObject({ status: 'suspended' });
    const after = (await t.runtime.http.inject({ url: suspension })).json();
    expect(after.proof.proofValue).not.toBe(first.proof.proofValue);
    await post(`/credentials/${issued.id}/reinstate`, { reason: 'ok' });
    expect((await post('/verify', { credential: issued.credential }, {})).json()).toMatchObject({ status: 'active', verified: true });
  });
});

describe('eddsa-rdfc-2022 per type', () => {
  it('issues with RDF canonicalization when the type selects it, and verifies (tampering fails)', async () => {
    const type = await post('/types', { ...vaccination, code: 'vaccination-rdfc', cryptosuite: 'eddsa-rdfc-2022', display: {} });
    expect(type.statusCode, type.body).toBe(201);
    expect(type.json().cryptosuite).toBe('eddsa-rdfc-2022');
    const issued = (await post('/credentials', { tenantId: 'in.ka', type: 'vaccination-rdfc', sourceRef: 'R-1', claims: { name: 'Asha Rao', vaccine: 'COVAXIN', dose: 1 } })).json();
    expect(issued.credential.proof.cryptosuite).toBe('eddsa-rdfc-2022');
    expect(issued.credential['@context']).toEqual(['https://www.w3.org/ns/credentials/v2', { '@vocab': 'https://www.w3.org/ns/credentials/issuer-dependent#' }]);
    expect((await post('/verify', { credential: issued.credential }, {})).json()).toEqual({ verified: true, issuer: issued.credential.issuer, status: 'active', problems: [], warnings: [] });
    const tampered = structuredClone(issued.credential);
    tampered.credentialSubject.dose = 2;
    expect((await post('/verify', { credential: tampered }, {})).json()).toMatchObject({ verified: false, problems: [{ check: 'proof' }] });
    const qr = (await get(`/credentials/${issued.id}/qr`)).json();
    expect((await post('/verify/qr', { qr: qr.payload }, {})).json()).toMatchObject({ verified: true });
  });
});
