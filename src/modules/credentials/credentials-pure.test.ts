import { createHash, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import jsQRModule from 'jsqr';
import { describe, expect, it } from 'vitest';
import { base45Decode, base45Encode, base58btcDecode, base58btcEncode, base64urlDecode, ed25519FromMultikey, ed25519Multikey } from './codecs.js';
import { BUNDLED_CONTEXTS, loadBundledContext, VC_V2_CONTEXT_URL } from './contexts.js';
import { addJcsProof, verifyJcsProof, type JsonObject } from './data-integrity.js';
import { decodeCredentialFromQr, encodeCredentialForQr, QR_DICTIONARY, qrSymbol } from './qr.js';
import { permuteStatusIndex } from './status-index.js';
import { decodeStatusList, encodeStatusList, statusBit, STATUS_LIST_SIZE } from './status-list.js';
import { verifyCredential, type TrustList } from './verify.js';

/** Pure parts: no runtime, no database. */

function rawPublicKey(key: KeyObject): Uint8Array {
  return base64urlDecode(String(key.export({ format: 'jwk' }).x));
}

// jsqr is CommonJS with a default export; NodeNext sees the module object.
const jsQR = ((jsQRModule as unknown as { default?: unknown }).default ?? jsQRModule) as typeof jsQRModule.default;

describe('codecs', () => {
  it('base45 matches the RFC 9285 examples and round-trips', async () => {
    const text = (s: string) => base45Encode(new TextEncoder().encode(s));
    expect(text('AB')).toBe('BB8');
    expect(text('Hello!!')).toBe('%69 VD92EX0');
    expect(text('base-45')).toBe('UJCLQE7W581');
    expect(new TextDecoder().decode(base45Decode('QED8WEX0'))).toBe('ietf!');
    const bytes = Uint8Array.from({ length: 257 }, (_, i) => (i * 37) & 0xff);
    expect(base45Decode(base45Encode(bytes))).toEqual(bytes);
    expect(() => base45Decode('GGW')).toThrow(/out of range/);
  });

  it('base58btc keeps leading zeros and Multikey wraps an Ed25519 key', async () => {
    expect(base58btcEncode(new TextEncoder().encode('Hello World!'))).toBe('2NEpo7TZRRrLZSi2U');
    const bytes = Uint8Array.from([0, 0, 1, 2, 255]);
    expect(base58btcDecode(base58btcEncode(bytes))).toEqual(bytes);
    const raw = base64urlDecode(String(generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }).x));
    const multikey = ed25519Multikey(raw);
    expect(multikey).toMatch(/^z6Mk/);
    expect(ed25519FromMultikey(multikey)).toEqual(raw);
  });

  it('base58btc agrees with a plain big-integer conversion on every length up to 80 bytes', () => {
    const alphabet = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
    const reference = (bytes: Uint8Array) => {
      let n = 0n;
      for (const b of bytes) n = n * 256n + BigInt(b);
      let out = '';
      for (; n > 0n; n /= 58n) out = alphabet[Number(n % 58n)] + out;
      return '1'.repeat(bytes.findIndex((b) => b !== 0) === -1 ? bytes.length : bytes.findIndex((b) => b !== 0)) + out;
    };
    for (let length = 0; length <= 80; length++) {
      for (const fill of ['random', 'zeros', 'ones', 'leading'] as const) {
        const bytes = fill === 'random' ? Uint8Array.from(randomBytes(length)) : new Uint8Array(length).fill(fill === 'ones' ? 255 : 0);
        if (fill === 'leading' && length > 2) bytes.set(randomBytes(length - 2), 2);
        const text = base58btcEncode(bytes);
        expect(text, `${fill} ${length}`).toBe(reference(bytes));
        expect(base58btcDecode(text)).toEqual(bytes);
      }
    }
    expect(() => base58btcDecode('z0O')).toThrow(/not base58btc/);
    expect(() => base58btcDecode('zé')).toThrow(/not base58btc/);
  });
});

describe('bundled contexts', () => {
  it('ship the W3C VC 2.0 context unchanged and never fetch another', async () => {
    const file = readFileSync(new URL('./contexts/credentials-v2.json', import.meta.url));
    expect(createHash('sha256').update(file).digest('hex')).toBe('8a9f494a89ecc51db093e90e84713e07e84d6d9204364a9b3c7868b21751236f');
    expect(loadBundledContext(VC_V2_CONTEXT_URL).document).toEqual(JSON.parse(file.toString('utf8')));
    expect((BUNDLED_CONTEXTS[VC_V2_CONTEXT_URL] as any)['@context'].DataIntegrityProof).toBeDefined();
    expect((BUNDLED_CONTEXTS[VC_V2_CONTEXT_URL] as any)['@context'].BitstringStatusListEntry).toBeDefined();
    expect(() => loadBundledContext('https://example.org/other')).toThrow(/not bundled/);
  });
});

describe('eddsa-jcs-2022', () => {
  it('verifies the published test vector (vc-di-eddsa, Digital Bazaar interop vector)', async () => {
    const vector: JsonObject = {
      '@context': ['https://www.w3.org/ns/credentials/v2', 'https://www.w3.org/ns/credentials/examples/v2'],
      id: 'urn:uuid:58172aac-d8ba-11ed-83dd-0b3aef56cc33',
      type: ['VerifiableCredential', 'AlumniCredential'],
      name: 'Alumni Credential',
      description: 'A minimum viable example of an Alumni Credential.',
      issuer: 'did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2',
      validFrom: '2023-01-01T00:00:00Z',
      credentialSubject: { id: 'did:example:abcdefgh', alumniOf: 'The School of Examples' },
      proof: {
        type: 'DataIntegrityProof',
        created: '2023-02-24T23:36:38Z',
        verificationMethod: 'did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2#z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2',
        cryptosuite: 'eddsa-jcs-2022',
        proofPurpose: 'assertionMethod',
        '@context': ['https://www.w3.org/ns/credentials/v2', 'https://www.w3.org/ns/credentials/examples/v2'],
        proofValue: 'z5EhYRJkfPLkoT92FPXN8KK6M9rsBhq3xs19GBSsA6VdNYH4QMKSyNuA2Gfznz9QthVD7Rz3HTAfqxxay23htUpTg',
      },
    };
    const key = ed25519FromMultikey('z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2');
    expect(await verifyJcsProof(vector, key)).toEqual({ ok: true, verificationMethod: (vector.proof as JsonObject).verificationMethod });
    const altered = structuredClone(vector);
    (altered.credentialSubject as JsonObject).alumniOf = 'Another School';
    expect(await verifyJcsProof(altered, key)).toMatchObject({ ok: false });
  });

  it('signs and verifies; any change to the document or the proof fails', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const doc: JsonObject = { '@context': [VC_V2_CONTEXT_URL], type: ['VerifiableCredential'], issuer: 'did:web:x', credentialSubject: { name: 'Asha', doses: 2 } };
    const signed = addJcsProof(doc, { privateKey, verificationMethod: 'did:web:x#k1' });
    expect((await verifyJcsProof(signed, rawPublicKey(publicKey))).ok).toBe(true);
    // Key order does not matter (JCS), content does.
    const reordered = { credentialSubject: { doses: 2, name: 'Asha' }, ...signed };
    expect((await verifyJcsProof(reordered, rawPublicKey(publicKey))).ok).toBe(true);
    const tampered = structuredClone(signed);
    (tampered.credentialSubject as JsonObject).doses = 3;
    expect((await verifyJcsProof(tampered, rawPublicKey(publicKey)))).toEqual({ ok: false, reason: 'the signature does not match the credential' });
    const otherMethod = structuredClone(signed);
    (otherMethod.proof as JsonObject).verificationMethod = 'did:web:x#k2';
    expect((await verifyJcsProof(otherMethod, rawPublicKey(publicKey))).ok).toBe(false);
    expect((await verifyJcsProof(signed, rawPublicKey(generateKeyPairSync('ed25519').publicKey))).ok).toBe(false);
  });
});

describe('bitstring status list', () => {
  it('sets the leftmost bit for index 0 and round-trips through gzip and base64url', async () => {
    const encoded = encodeStatusList([0, 9, 131_071]);
    expect(encoded.startsWith('u')).toBe(true);
    const bits = await decodeStatusList(encoded);
    expect(bits.length).toBe(16_384);
    expect(bits[0]).toBe(0x80);
    expect(bits[1]).toBe(0x40);
    expect([0, 9, 131_071].map((i) => statusBit(bits, i))).toEqual([true, true, true]);
    expect([1, 8, 131_070].map((i) => statusBit(bits, i))).toEqual([false, false, false]);
    expect(() => encodeStatusList([131_072])).toThrow(/outside/);
  });
});

describe('status positions', () => {
  it('are a permutation of the whole list, keyed by the seed, and not in issuance order', () => {
    const seen = new Uint8Array(STATUS_LIST_SIZE);
    for (let n = 0; n < STATUS_LIST_SIZE; n++) seen[permuteStatusIndex('seed-a', 0, n)]! += 1;
    expect(seen.every((count) => count === 1)).toBe(true);
    const first = [0, 1, 2, 3, 4, 5, 6, 7].map((n) => permuteStatusIndex('seed-a', 0, n));
    expect(first).not.toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(first.slice(1).filter((p, i) => Math.abs(p - first[i]!) === 1)).toEqual([]);
    expect([0, 1, 2, 3, 4, 5, 6, 7].map((n) => permuteStatusIndex('seed-b', 0, n))).not.toEqual(first);
    expect([0, 1, 2, 3, 4, 5, 6, 7].map((n) => permuteStatusIndex('seed-a', 1, n))).not.toEqual(first);
  });

  it('never move: positions already issued stay where the first implementation put them', () => {
    // Computed with the HMAC-per-round implementation the round tables replaced.
    const pinned: Array<[string, number, number, number]> = [
      ['seed-a', 0, 0, 107695],
      ['seed-a', 0, 1, 70379],
      ['seed-a', 0, 131071, 75964],
      ['seed-a', 3, 77, 110019],
      ['Zx9_base64url-seed', 0, 4242, 99965],
      ['Zx9_base64url-seed', 1, 100000, 60121],
    ];
    expect(pinned.map(([seed, list, n]) => permuteStatusIndex(seed, list, n))).toEqual(pinned.map((p) => p[3]));
  });
});

/** An issuer of two keys (the first rotated out) and one credential signed by each. */
function fixture() {
  const did = 'did:web:example.gov:api:credentials:v1:issuers:in';
  const keys = [generateKeyPairSync('ed25519'), generateKeyPairSync('ed25519')];
  const multikeys = keys.map((k) => ed25519Multikey(base64urlDecode(String(k.publicKey.export({ format: 'jwk' }).x))));
  const trustList: TrustList = {
    issuers: [
      {
        id: did,
        keys: [
          { id: `${did}#new`, type: 'Multikey', controller: did, publicKeyMultibase: multikeys[1]!, status: 'active' },
          { id: `${did}#old`, type: 'Multikey', controller: did, publicKeyMultibase: multikeys[0]!, status: 'rotated' },
        ],
      },
    ],
  };
  const listUrl = 'https://example.gov/api/credentials/v1/status-lists/in/revocation/0';
  const credential = (kid: 'old' | 'new', index: number, extra: JsonObject = {}) =>
    addJcsProof(
      {
        '@context': [VC_V2_CONTEXT_URL],
        type: ['VerifiableCredential', 'VaccinationCertificate'],
        issuer: did,
        validFrom: '2026-01-01T00:00:00Z',
        credentialSubject: { name: 'Asha' },
        credentialStatus: { type: 'BitstringStatusListEntry', statusPurpose: 'revocation', statusListIndex: String(index), statusListCredential: listUrl },
        ...extra,
      },
      { privateKey: keys[kid === 'old' ? 0 : 1]!.privateKey, verificationMethod: `${did}#${kid}` },
    );
  const statusList = (revoked: number[]) =>
    addJcsProof(
      {
        '@context': [VC_V2_CONTEXT_URL],
        id: listUrl,
        type: ['VerifiableCredential', 'BitstringStatusListCredential'],
        issuer: did,
        credentialSubject: { id: `${listUrl}#list`, type: 'BitstringStatusList', statusPurpose: 'revocation', encodedList: encodeStatusList(revoked) },
      },
      { privateKey: keys[1]!.privateKey, verificationMethod: `${did}#new` },
    );
  return { did, trustList, credential, statusList, listUrl, keys };
}

describe('verifyCredential (pure)', () => {
  const now = new Date('2026-06-01T00:00:00Z');

  it('hashes with a SHA-256 it is handed (a server’s synchronous one) as with Web Crypto’s', async () => {
    const f = fixture();
    const statusLists = { [f.listUrl]: f.statusList([3]) };
    const nodeSha256 = (data: Uint8Array) => createHash('sha256').update(data).digest();
    for (const [credential, expected] of [
      [f.credential('new', 1), { verified: true, status: 'active' }],
      [f.credential('old', 3), { verified: false, status: 'revoked' }],
    ] as const) {
      const web = await verifyCredential(credential, { trustList: f.trustList, statusLists, now });
      expect(web).toMatchObject(expected);
      expect(await verifyCredential(credential, { trustList: f.trustList, statusLists, now, primitives: { sha256: nodeSha256 } })).toEqual(web);
    }
    // The hash handed is the one used: a wrong one breaks every proof.
    const wrong = await verifyCredential(f.credential('new', 1), { trustList: f.trustList, now, primitives: { sha256: (data) => nodeSha256(Uint8Array.from([...data, 0])) } });
    expect(wrong).toMatchObject({ verified: false, problems: [{ check: 'proof', message: 'the signature does not match the credential' }] });
  });

  it('verifies with the active key and with a rotated-out key; a key off the trust list fails', async () => {
    const f = fixture();
    const statusLists = { [f.listUrl]: f.statusList([]) };
    expect(await verifyCredential(f.credential('new', 1), { trustList: f.trustList, statusLists, now })).toEqual({ verified: true, issuer: f.did, status: 'active', problems: [], warnings: [] });
    expect((await verifyCredential(f.credential('old', 2), { trustList: f.trustList, statusLists, now })).verified).toBe(true);
    const retired: TrustList = { issuers: [{ ...f.trustList.issuers[0]!, keys: f.trustList.issuers[0]!.keys.filter((k) => k.status === 'active') }] };
    const result = await verifyCredential(f.credential('old', 2), { trustList: retired, statusLists, now });
    expect(result.verified).toBe(false);
    expect(result.problems).toEqual([{ check: 'issuer', message: expect.stringContaining('is not in the trust list') }]);
  });

  it('refuses a credential claiming a trusted issuer with a key of another issuer', async () => {
    const f = fixture();
    const forged = f.credential('new', 1, { issuer: 'did:web:elsewhere' });
    expect((await verifyCredential(forged, { trustList: f.trustList, now })).problems[0]).toMatchObject({ check: 'issuer' });
  });

  it('reports revoked from the status list, unknown without one, and expiry', async () => {
    const f = fixture();
    const revoked = await verifyCredential(f.credential('new', 5), { trustList: f.trustList, statusLists: { [f.listUrl]: f.statusList([5]) }, now });
    expect(revoked).toMatchObject({ verified: false, status: 'revoked', problems: [{ check: 'status', message: 'the credential is revoked' }] });
    const offline = await verifyCredential(f.credential('new', 5), { trustList: f.trustList, now });
    expect(offline).toMatchObject({ verified: true, status: 'unknown' });
    expect(offline.warnings[0]).toMatch(/not available/);
    const expired = await verifyCredential(f.credential('new', 1, { validUntil: '2026-03-01T00:00:00Z' }), { trustList: f.trustList, now });
    expect(expired.problems).toEqual([{ check: 'validity', message: 'expired at 2026-03-01T00:00:00Z' }]);
  });

  it('answers every malformed credential with problems, never an exception', async () => {
    const f = fixture();
    const good = f.credential('new', 1);
    const proof = good.proof as JsonObject;
    const malformed: JsonObject[] = [
      {},
      { ...good, proof: undefined },
      { ...good, proof: [proof, proof] },
      { ...good, proof: { ...proof, '@context': [VC_V2_CONTEXT_URL, 'https://example.org/extra'] } },
      { ...good, proof: { ...proof, proofValue: 'not-base58!' } },
      { ...good, proof: { ...proof, proofValue: 'z1111' } },
      { ...good, proof: { ...proof, cryptosuite: 'eddsa-rdfc-2022' } },
      { ...good, issuer: { name: 'no id' } },
      { ...good, validFrom: 'yesterday' },
      { ...good, credentialStatus: [null] },
      { ...good, credentialStatus: { type: 'BitstringStatusListEntry', statusPurpose: 'revocation', statusListIndex: '-1', statusListCredential: f.listUrl } },
      { ...good, credentialStatus: { type: 'BitstringStatusListEntry', statusPurpose: 'revocation', statusListIndex: '999999999', statusListCredential: f.listUrl } },
    ];
    for (const credential of malformed) {
      const result = await verifyCredential(credential, { trustList: f.trustList, statusLists: { [f.listUrl]: f.statusList([]) }, now: new Date('2026-06-01T00:00:00Z') });
      expect(result.verified, JSON.stringify(credential).slice(0, 80)).toBe(false);
      expect(result.problems.length).toBeGreaterThan(0);
    }
  });

  it('checks a status list it was handed before once, and again when its key is no longer trusted', async () => {
    const f = fixture();
    const statusLists = { [f.listUrl]: f.statusList([7]) };
    for (let i = 0; i < 3; i++) {
      expect(await verifyCredential(f.credential('new', 1), { trustList: f.trustList, statusLists, now })).toMatchObject({ verified: true, status: 'active' });
      expect(await verifyCredential(f.credential('new', 7), { trustList: f.trustList, statusLists, now })).toMatchObject({ verified: false, status: 'revoked' });
    }
    // The list's key leaves the trust list: the same list object no longer counts.
    const onlyOld: TrustList = { issuers: [{ ...f.trustList.issuers[0]!, keys: f.trustList.issuers[0]!.keys.filter((k) => k.id.endsWith('#old')) }] };
    const result = await verifyCredential(f.credential('old', 1), { trustList: onlyOld, statusLists, now });
    expect(result.problems).toEqual([{ check: 'status', message: expect.stringContaining('does not verify') }]);
  });

  it('refuses a forged status list (not signed by the issuer’s trusted key)', async () => {
    const f = fixture();
    const list = f.statusList([]);
    (list.credentialSubject as JsonObject).encodedList = encodeStatusList([9]);
    const result = await verifyCredential(f.credential('new', 1), { trustList: f.trustList, statusLists: { [f.listUrl]: list }, now });
    expect(result.problems[0]).toMatchObject({ check: 'status' });
  });
});

/** SHA-256 of the SV1 preset dictionary: a change here breaks every QR already printed. */
const DICTIONARY_SHA256 = 'ddd7d70b89df2a59a2af411dc225bfde0f338c4aa3cce68219a924c7ec2e7c88';

describe('QR', () => {
  it('round-trips through a real QR image: decode → identical, verifying credential', async () => {
    const f = fixture();
    const credential = f.credential('old', 3);
    const payload = encodeCredentialForQr(credential);
    expect(payload).toMatch(/^SV1:[0-9A-Z $%*+\-./:]+$/);
    const symbol = qrSymbol(payload);
    // Render the module matrix as an RGBA image (4 pixels a module, quiet zone 4) and scan it.
    const scale = 4;
    const side = (symbol.size + 8) * scale;
    const pixels = new Uint8ClampedArray(side * side * 4).fill(255);
    for (let y = 0; y < symbol.size; y++)
      for (let x = 0; x < symbol.size; x++) {
        if (!symbol.modules[y * symbol.size + x]) continue;
        for (let dy = 0; dy < scale; dy++)
          for (let dx = 0; dx < scale; dx++) {
            const at = (((y + 4) * scale + dy) * side + (x + 4) * scale + dx) * 4;
            pixels[at] = pixels[at + 1] = pixels[at + 2] = 0;
          }
      }
    const scanned = jsQR(pixels, side, side);
    expect(scanned?.data).toBe(payload);
    const decoded = decodeCredentialFromQr(scanned!.data);
    expect(decoded).toEqual(credential);
    expect((await verifyCredential(decoded, { trustList: f.trustList, now: new Date('2026-06-01T00:00:00Z') })).problems).toEqual([]);
    expect(() => decodeCredentialFromQr('XX1:ABC')).toThrow(/prefix/);
  });

  it('keeps the SV1 dictionary frozen (old QR codes must keep decoding)', async () => {
    expect(createHash('sha256').update(QR_DICTIONARY).digest('hex')).toBe(DICTIONARY_SHA256);
  });

  it('fits a vaccination certificate of a real host in QR version 18 or less at error correction M', async () => {
    const did = 'did:web:seva.example.gov.in:api:credentials:v1:issuers:in.ka';
    const list = (purpose: string) => `https://seva.example.gov.in/api/credentials/v1/status-lists/in.ka/${purpose}/0`;
    const certificate = addJcsProof(
      {
        '@context': [VC_V2_CONTEXT_URL],
        id: 'urn:uuid:6d5bcee2-82c8-4cb7-b82e-e30d04a9b984',
        type: ['VerifiableCredential', 'VaccinationCertificate'],
        issuer: did,
        validFrom: '2026-03-01T10:11:12Z',
        validUntil: '2027-03-01T10:11:12Z',
        credentialSubject: { id: 'urn:seva:person:BR-2026-27-000001', name: 'Asha Rao', vaccine: 'COVAXIN', dose: 2, date: '2026-03-01', facility: 'PHC Jayanagar' },
        credentialStatus: ['revocation', 'suspension'].map((p) => ({ type: 'BitstringStatusListEntry', statusPurpose: p, statusListIndex: '12345', statusListCredential: list(p) })),
      },
      { privateKey: generateKeyPairSync('ed25519').privateKey, verificationMethod: `${did}#vkey_0abcdefghjkmnpqrstvwxyz12` },
    );
    const payload = encodeCredentialForQr(certificate);
    expect(decodeCredentialFromQr(payload)).toEqual(certificate);
    expect(qrSymbol(payload).version).toBeLessThanOrEqual(18);
  });
});

describe('browser safety', () => {
  it('the verifier and everything it imports use no Node APIs (the web verifier runs the same code)', () => {
    const seen = new Set<string>();
    const queue = ['verify.ts', 'qr-format.ts'];
    while (queue.length > 0) {
      const file = queue.pop()!;
      if (seen.has(file)) continue;
      seen.add(file);
      const text = readFileSync(new URL(`./${file}`, import.meta.url), 'utf8');
      expect(text, file).not.toMatch(/from 'node:|\bBuffer\b|\bprocess\.|\brequire\(/);
      for (const [, local] of text.matchAll(/(?:from |import\()'\.\/([\w-]+)\.js'/g)) queue.push(`${local}.ts`);
      for (const [, pkg] of text.matchAll(/from '([^.'][^']*)'/g)) expect(['canonicalize', 'jsonld', 'cborg', 'fflate'], `${file} imports ${pkg}`).toContain(pkg);
    }
    expect([...seen].sort()).toEqual(['codecs.ts', 'contexts.ts', 'proof-check.ts', 'proof-rdfc.ts', 'qr-format.ts', 'status-bits.ts', 'verify.ts']);
  });
});
