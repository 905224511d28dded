import { DataIntegrityProof } from '@digitalbazaar/data-integrity';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import { cryptosuite as eddsaRdfc2022 } from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import * as vc from '@digitalbazaar/vc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRuntime, type TestRuntime } from '../../../test/support/test-runtime.js';
import { identityModule } from '../identity/index.js';
import { loadBundledContext } from './contexts.js';
import { credentialsModule } from './index.js';

/**
 * Interoperability: credentials this module issues with `eddsa-rdfc-2022` verify with the Digital
 * Bazaar libraries (`@digitalbazaar/vc`, `data-integrity`, `eddsa-rdfc-2022-cryptosuite`,
 * `ed25519-multikey`), whose document loader serves only our bundled contexts and our own DID
 * document (fetched from this deployment's route), never the network. A credential the library
 * signs verifies with ours too.
 */
let t: TestRuntime;
let issuer: Record<string, string>;
const API = '/api/credentials/v1';
const asked: string[] = [];

beforeAll(async () => {
  t = await startTestRuntime([identityModule, credentialsModule]);
  issuer = await t.as({ tenantId: 'in.ka', permissions: ['credentials.*'] });
  const type = await t.runtime.http.inject({
    method: 'POST',
    url: `${API}/types`,
    headers: issuer,
    payload: {
      tenantId: 'in.ka',
      code: 'licence',
      name: 'Trade licence',
      vcType: 'TradeLicence',
      cryptosuite: 'eddsa-rdfc-2022',
      claimsSchema: { type: 'object', properties: { name: { type: 'string' }, trade: { type: 'string' }, ward: { type: 'integer' } } },
    },
  });
  expect(type.statusCode, type.body).toBe(201);
}, 60_000);
afterAll(() => t?.close());

/** What did:web resolution gives for our issuer: the DID document served by this deployment. */
async function documentLoader(url: string) {
  asked.push(url);
  if (url.startsWith('did:web:')) {
    const [did, fragment] = url.split('#');
    const tenant = did!.split(':').pop();
    const res = await t.runtime.http.inject({ url: `${API}/issuers/${tenant}/did.json` });
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    if (!fragment) return { contextUrl: null, documentUrl: url, document: doc };
    const method = doc.verificationMethod.find((m: { id: string }) => m.id === url);
    return { contextUrl: null, documentUrl: url, document: { '@context': 'https://w3id.org/security/multikey/v1', ...method } };
  }
  return loadBundledContext(url);
}

describe('Digital Bazaar vc libraries', () => {
  it('verify an eddsa-rdfc-2022 credential issued by Seva, and refuse it tampered', async () => {
    const issued = await t.runtime.http.inject({
      method: 'POST',
      url: `${API}/credentials`,
      headers: issuer,
      payload: { tenantId: 'in.ka', type: 'licence', sourceRef: 'TL-1', subjectId: 'urn:seva:person:1', claims: { name: 'Asha Stores', trade: 'grocery', ward: 12 } },
    });
    expect(issued.statusCode, issued.body).toBe(201);
    const credential = issued.json().credential;
    type Errors = { errors?: Error[]; message?: string } | undefined;
    const suite = new DataIntegrityProof({ cryptosuite: eddsaRdfc2022 });
    const result = await vc.verifyCredential({ credential, suite, documentLoader, checkStatus: async () => ({ verified: true }) });
    const error = result.error as Errors;
    expect(error, JSON.stringify(error?.errors?.map((e) => e.message) ?? error?.message)).toBeUndefined();
    expect(result.verified).toBe(true);
    expect(asked.some((u) => u.startsWith('did:web:'))).toBe(true);

    const tampered = structuredClone(credential);
    tampered.credentialSubject.ward = 13;
    expect((await vc.verifyCredential({ credential: tampered, suite, documentLoader, checkStatus: async () => ({ verified: true }) })).verified).toBe(false);
  });

  it('sign a credential our verifier accepts (the same suite both ways)', async () => {
    const keyPair = await Ed25519Multikey.generate({ controller: 'did:web:localhost%3A8080:api:credentials:v1:issuers:in.ka' });
    keyPair.id = `${keyPair.controller}#${'vkey_external'}`;
    const credential = {
      '@context': ['https://www.w3.org/ns/credentials/v2', { '@vocab': 'https://www.w3.org/ns/credentials/issuer-dependent#' }],
      type: ['VerifiableCredential', 'TradeLicence'],
      issuer: keyPair.controller,
      validFrom: '2026-01-01T00:00:00Z',
      credentialSubject: { id: 'urn:seva:person:2', name: 'Ravi Tailors', ward: 3 },
    };
    const signed = await vc.issue({ credential, suite: new DataIntegrityProof({ signer: keyPair.signer(), cryptosuite: eddsaRdfc2022 }), documentLoader });
    expect(signed.proof.cryptosuite).toBe('eddsa-rdfc-2022');
    const { verifyCredential } = await import('./verify.js');
    const exported = await keyPair.export({ publicKey: true, includeContext: false });
    const trustList = { issuers: [{ id: keyPair.controller, keys: [{ id: keyPair.id, type: 'Multikey' as const, controller: keyPair.controller, publicKeyMultibase: exported.publicKeyMultibase, status: 'active' as const }] }] };
    expect(await verifyCredential(signed, { trustList, statusLists: {} })).toMatchObject({ verified: true, problems: [] });
  });
});
