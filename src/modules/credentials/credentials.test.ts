import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRuntime, type TestRuntime } from '../../../test/support/test-runtime.js';
import { identityModule } from '../identity/index.js';
import { credentialsModule, verifyCredential, type TrustList } from './index.js';

/** One runtime for the whole module: keys, types, issuance, verification, revocation, QR. */
let t: TestRuntime;
let issuer: Record<string, string>;
let other: Record<string, string>;
const API = '/api/credentials/v1';

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
};

beforeAll(async () => {
  t = await startTestRuntime([identityModule, credentialsModule]);
  issuer = await t.as({ tenantId: 'in.ka', permissions: ['credentials.*'] });
  other = await t.as({ tenantId: 'in.tn', permissions: ['credentials.*'] });
  const created = await post('/types', vaccination);
  expect(created.statusCode, created.body).toBe(201);
}, 60_000);
afterAll(() => t?.close());

async function post(path: string, payload: unknown, headers: Record<string, string> = issuer) {
  return t.runtime.http.inject({ method: 'POST', url: API + path, headers, payload: payload as object });
}
async function get(path: string, headers: Record<string, string> = issuer) {
  return t.runtime.http.inject({ method: 'GET', url: API + path, headers });
}
async function issue(sourceRef: string, claims: Record<string, unknown> = { name: 'Asha Rao', vaccine: 'COVAXIN', dose: 1 }) {
  const res = await post('/credentials', { tenantId: 'in.ka', type: 'vaccination', sourceRef, subjectId: `urn:seva:person:${sourceRef}`, claims });
  expect(res.statusCode, res.body).toBe(201);
  return res.json();
}
async function verify(credential: unknown) {
  const res = await post('/verify', { credential }, {});
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

describe('credential types', () => {
  it('refuses a bad claims schema, a duplicate code, and claims that do not match, naming the field', async () => {
    const bad = await post('/types', { ...vaccination, code: 'broken', claimsSchema: { type: 'object', properties: { a: { type: 'strng' } } } });
    expect(bad.statusCode).toBe(422);
    expect(bad.json()).toMatchObject({ code: 'CREDENTIAL_TYPE_SCHEMA_INVALID', errors: [{ path: 'body.claimsSchema' }] });
    expect((await post('/types', vaccination)).json()).toMatchObject({ status: 409, code: 'CREDENTIAL_TYPE_EXISTS' });
    const wrong = await post('/credentials', { tenantId: 'in.ka', type: 'vaccination', sourceRef: 'bad', claims: { name: 'A', vaccine: 'X', dose: 0, extra: 1 } });
    expect(wrong.statusCode).toBe(422);
    expect(wrong.json().errors.map((e: { path: string }) => e.path).sort()).toEqual(['body.claims.dose', 'body.claims.extra']);
    expect((await post('/credentials', { tenantId: 'in.ka', type: 'nope', sourceRef: 'x', claims: {} })).json()).toMatchObject({ code: 'CREDENTIAL_TYPE_NOT_FOUND' });
    expect((await get('/types?tenantId=in.ka')).json().items.map((i: { code: string }) => i.code)).toEqual(['vaccination']);
  });
});

describe('issue → verify', () => {
  it('issues a W3C VC 2.0 credential with an eddsa-jcs-2022 proof under the tenant’s did:web, and verifies it', async () => {
    const issued = await issue('vacc-1');
    expect(issued).toMatchObject({ created: true, status: 'active', type: 'vaccination', sourceRef: 'vacc-1' });
    expect(issued.id).toMatch(/^cred_/);
    const vc = issued.credential;
    expect(vc['@context']).toEqual(['https://www.w3.org/ns/credentials/v2']);
    expect(vc.type).toEqual(['VerifiableCredential', 'VaccinationCertificate']);
    expect(vc.issuer).toBe('did:web:localhost%3A8080:api:credentials:v1:issuers:in.ka');
    expect(vc.credentialSubject).toEqual({ id: 'urn:seva:person:vacc-1', name: 'Asha Rao', vaccine: 'COVAXIN', dose: 1 });
    expect(Date.parse(vc.validUntil) - Date.parse(vc.validFrom)).toBe(365 * 86_400_000);
    expect(vc.proof).toMatchObject({ type: 'DataIntegrityProof', cryptosuite: 'eddsa-jcs-2022', proofPurpose: 'assertionMethod' });
    expect(vc.proof.verificationMethod.startsWith(`${vc.issuer}#vkey_`)).toBe(true);
    expect(await verify(vc)).toEqual({ verified: true, issuer: vc.issuer, status: 'active', problems: [], warnings: [] });

    const events = await t.runtime.database.executeSql(`select payload from kernel.outbox where name = 'credentials.credential.issued'`);
    expect(events.rows.map((r) => (typeof r.payload === 'string' ? JSON.parse(r.payload) : r.payload).id)).toContain(issued.id);
    const audit = await t.runtime.database.executeSql(`select tenant_id from kernel.audit_log where action = 'credentials.credential.issued' and entity_id = $1`, [issued.id]);
    expect(audit.rows).toEqual([{ tenant_id: 'in.ka' }]);
  });

  it('is idempotent by source reference; other claims for the same source are a conflict', async () => {
    const first = await issue('vacc-2');
    const again = await issue('vacc-2');
    expect(again).toMatchObject({ id: first.id, created: false });
    expect(again.credential).toEqual(first.credential);
    const conflict = await post('/credentials', { tenantId: 'in.ka', type: 'vaccination', sourceRef: 'vacc-2', subjectId: 'urn:seva:person:vacc-2', claims: { name: 'Asha Rao', vaccine: 'COVAXIN', dose: 2 } });
    expect(conflict.json()).toMatchObject({ status: 409, code: 'CREDENTIAL_SOURCE_CONFLICT', errors: [{ path: 'body.sourceRef' }] });
    const { rows } = await t.runtime.database.executeSql(`select count(*)::int as n from credentials.credentials where source_ref = 'vacc-2'`);
    expect(rows[0].n).toBe(1);
  });

  it('issues once when the same source arrives several times at once', async () => {
    const results = await Promise.all([1, 2, 3, 4].map(() => post('/credentials', { tenantId: 'in.ka', type: 'vaccination', sourceRef: 'race-1', claims: { name: 'Ravi', vaccine: 'COVISHIELD', dose: 1 } })));
    expect(results.map((r) => r.statusCode)).toEqual([201, 201, 201, 201]);
    const bodies = results.map((r) => r.json());
    expect(new Set(bodies.map((b) => b.id)).size).toBe(1);
    expect(bodies.filter((b) => b.created)).toHaveLength(1);
    const events = await t.runtime.database.executeSql(`select count(*)::int as n from kernel.outbox where name = 'credentials.credential.issued' and payload->>'sourceRef' = 'race-1'`);
    expect(events.rows[0].n).toBe(1);
  });

  it('fails a tampered credential', async () => {
    const { credential } = await issue('vacc-3');
    const tampered = structuredClone(credential);
    tampered.credentialSubject.dose = 3;
    const result = await verify(tampered);
    expect(result).toMatchObject({ verified: false, problems: [{ check: 'proof', message: 'the signature does not match the credential' }] });
    const reissuer = structuredClone(credential);
    reissuer.issuer = 'did:web:localhost%3A8080:api:credentials:v1:issuers:in.tn';
    expect((await verify(reissuer)).verified).toBe(false);
    // An issuer object whose id is not a string is a problem of the credential, not of the server.
    for (const issuerValue of [{ id: 123 }, null, { name: 'x' }]) expect(await verify({ ...credential, issuer: issuerValue })).toMatchObject({ verified: false, problems: expect.arrayContaining([{ check: 'issuer', message: expect.any(String) }]) });
  });

  it('answers 404 for another tenant’s credential', async () => {
    const { id } = await issue('vacc-4');
    for (const path of [`/credentials/${id}`, `/credentials/${id}/qr`]) expect((await get(path, other)).statusCode, path).toBe(404);
    expect((await post(`/credentials/${id}/revoke`, { reason: 'sneak' }, other)).statusCode).toBe(404);
    expect((await get(`/credentials/${id}`)).json()).toMatchObject({ id, status: 'active' });
  });
});

describe('keys: rotation and retirement', () => {
  it('signs new credentials with the new key; one signed with a rotated-out key still verifies until the key is retired', async () => {
    const before = await issue('rot-1');
    const oldMethod = before.credential.proof.verificationMethod as string;
    const rotated = await post('/keys/rotate', { tenantId: 'in.ka' });
    expect(rotated.statusCode, rotated.body).toBe(200);
    expect(oldMethod.endsWith(`#${rotated.json().rotated}`)).toBe(true);
    const after = await issue('rot-2');
    expect(after.credential.proof.verificationMethod.endsWith(`#${rotated.json().kid}`)).toBe(true);
    expect((await verify(before.credential)).verified).toBe(true);
    expect((await verify(after.credential)).verified).toBe(true);

    const did = await get('/issuers/in.ka/did.json', {});
    expect(did.statusCode).toBe(200);
    expect(did.json().id).toBe(before.credential.issuer);
    expect(did.json().assertionMethod).toEqual([after.credential.proof.verificationMethod, oldMethod]);
    const keys = (await get('/keys?tenantId=in.ka')).json().items;
    expect(keys.map((k: { status: string }) => k.status)).toEqual(['active', 'rotated']);
    const audit = await t.runtime.database.executeSql(`select tenant_id from kernel.audit_log where action = 'credentials.key.rotated' and entity_id = $1`, [rotated.json().kid]);
    expect(audit.rows).toEqual([{ tenant_id: 'in.ka' }]);
    const sealed = await t.runtime.database.executeSql(`select private_key_enc from credentials.signing_keys`);
    for (const row of sealed.rows) expect(row.private_key_enc).not.toMatch(/^MC4CAQAwBQYDK2Vw/); // never PKCS #8 in the clear

    expect((await post(`/keys/${rotated.json().kid}/retire`, { tenantId: 'in.ka' })).json()).toMatchObject({ status: 409, code: 'CREDENTIAL_KEY_ACTIVE' });
    expect((await post(`/keys/${rotated.json().rotated}/retire`, { tenantId: 'in.ka' })).statusCode).toBe(200);
    const retired = await verify(before.credential);
    expect(retired).toMatchObject({ verified: false, problems: [{ check: 'issuer' }] });
    expect((await verify(after.credential)).verified).toBe(true);
    expect((await get('/issuers/in.ka/did.json', {})).json().assertionMethod).toEqual([after.credential.proof.verificationMethod]);
    expect((await get('/issuers/nowhere/did.json', {})).statusCode).toBe(404);
  });
});

describe('revocation and suspension', () => {
  it('revoked → verification says revoked, online and with the public status list offline', async () => {
    const { id, credential } = await issue('rev-1');
    const revoked = await post(`/credentials/${id}/revoke`, { reason: 'issued in error' });
    expect(revoked.json()).toMatchObject({ id, status: 'revoked', statusReason: 'issued in error' });
    expect(await verify(credential)).toMatchObject({ verified: false, status: 'revoked', problems: [{ check: 'status', message: 'the credential is revoked' }] });

    // An offline verifier: the public trust list and status list, then the pure function.
    const trustList = (await get('/trust-list', {})).json() as TrustList;
    const entry = credential.credentialStatus.find((e: { statusPurpose: string }) => e.statusPurpose === 'revocation');
    const listRes = await t.runtime.http.inject({ url: new URL(entry.statusListCredential).pathname });
    expect(listRes.statusCode, listRes.body).toBe(200);
    const list = listRes.json();
    expect(list.type).toEqual(['VerifiableCredential', 'BitstringStatusListCredential']);
    expect(list.credentialSubject).toMatchObject({ type: 'BitstringStatusList', statusPurpose: 'revocation' });
    expect(await verifyCredential(credential, { trustList, statusLists: { [entry.statusListCredential]: list } })).toMatchObject({ verified: false, status: 'revoked' });
    expect((await post(`/credentials/${id}/reinstate`, { reason: 'undo' })).json()).toMatchObject({ status: 409, code: 'CREDENTIAL_STATUS_CHANGE_NOT_ALLOWED' });
    const audit = await t.runtime.database.executeSql(`select data from kernel.audit_log where action = 'credentials.credential.revoked' and entity_id = $1`, [id]);
    expect(audit.rows).toHaveLength(1);
  });

  it('suspends and reinstates', async () => {
    const { id, credential } = await issue('sus-1');
    expect((await post(`/credentials/${id}/suspend`, { reason: 'under review' })).json()).toMatchObject({ status: 'suspended' });
    expect(await verify(credential)).toMatchObject({ verified: false, status: 'suspended' });
    expect((await post(`/credentials/${id}/reinstate`, { reason: 'cleared' })).json()).toMatchObject({ status: 'active' });
    expect((await verify(credential)).verified).toBe(true);
  });
});

describe('corrections', () => {
  it('reissue with corrected claims and revoke the old credential, linking both; the source then answers the correction', async () => {
    const old = await issue('cor-1', { name: 'Asha Rau', vaccine: 'COVAXIN', dose: 1 });
    const fixed = { name: 'Asha Rao', vaccine: 'COVAXIN', dose: 1 };
    const corrected = await post(`/credentials/${old.id}/correct`, { claims: fixed, subjectId: 'urn:seva:person:cor-1', reason: 'name misspelt' });
    expect(corrected.statusCode, corrected.body).toBe(201);
    const fresh = corrected.json();
    expect(fresh).toMatchObject({ replaces: old.id, replacedBy: null, status: 'active', sourceRef: 'cor-1' });
    expect(fresh.credential.credentialSubject.name).toBe('Asha Rao');
    expect((await get(`/credentials/${old.id}`)).json()).toMatchObject({ status: 'revoked', replacedBy: fresh.id, statusReason: 'name misspelt' });
    expect(await verify(old.credential)).toMatchObject({ verified: false, status: 'revoked' });
    expect((await verify(fresh.credential)).verified).toBe(true);
    expect(await issue('cor-1', fixed)).toMatchObject({ id: fresh.id, created: false });
    const stale = await post('/credentials', { tenantId: 'in.ka', type: 'vaccination', sourceRef: 'cor-1', subjectId: 'urn:seva:person:cor-1', claims: { name: 'Asha Rau', vaccine: 'COVAXIN', dose: 1 } });
    expect(stale.json()).toMatchObject({ status: 409, code: 'CREDENTIAL_SOURCE_CONFLICT' });
    expect((await post(`/credentials/${old.id}/correct`, { claims: fixed, reason: 'again' })).json()).toMatchObject({ status: 409, code: 'CREDENTIAL_STATUS_CHANGE_NOT_ALLOWED' });
    const revokerOnly = await t.as({ tenantId: 'in.ka', permissions: ['credentials.revoke'] });
    expect((await post(`/credentials/${fresh.id}/correct`, { claims: fixed, reason: 'x' }, revokerOnly)).json()).toMatchObject({ status: 403, code: 'FORBIDDEN' });
    const bad = await post(`/credentials/${fresh.id}/correct`, { claims: { name: 'Asha Rao' }, reason: 'x' });
    expect(bad.json()).toMatchObject({ status: 422, code: 'CREDENTIAL_CLAIMS_INVALID' });
    expect((await get(`/credentials/${fresh.id}`)).json()).toMatchObject({ status: 'active', replacedBy: null });
  });
});

describe('QR', () => {
  it('carries the whole credential: the payload decodes to an identical, verifying credential, with its QR version at M', async () => {
    const { id, credential } = await issue('qr-1', { name: 'Asha Rao', vaccine: 'COVAXIN', dose: 2, date: '2026-03-01' });
    const qr = await get(`/credentials/${id}/qr`);
    expect(qr.statusCode, qr.body).toBe(200);
    const { payload, version, errorCorrection, svg } = qr.json();
    expect(errorCorrection).toBe('M');
    expect(version).toBeGreaterThanOrEqual(1);
    expect(version).toBeLessThanOrEqual(40);
    expect(svg).toMatch(/^<svg/);
    const checked = await post('/verify/qr', { qr: payload }, {});
    expect(checked.statusCode, checked.body).toBe(200);
    expect(checked.json()).toMatchObject({ verified: true, status: 'active' });
    expect(checked.json().credential).toEqual(credential);
    expect((await post('/verify/qr', { qr: 'NOT A QR' }, {})).json()).toMatchObject({ status: 400, code: 'CREDENTIAL_QR_INVALID', errors: [{ path: 'body.qr' }] });
  });
});
