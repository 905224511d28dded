import { execFileSync } from 'node:child_process';
import { createPublicKey, generateKeyPairSync, randomBytes, sign, verify, type KeyObject } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ed25519Multikey } from './codecs.js';
import { ISSUER_DEPENDENT_CONTEXT, VC_V2_CONTEXT_URL } from './contexts.js';
import { addJcsProof, type JsonObject } from './data-integrity.js';
import { ed25519Implementation, ed25519Implementations, ed25519Sign, ed25519Verify } from './ed25519.js';
import { ed25519ThreadId, ed25519VerifyOffThread } from './ed25519-thread.js';
import { webEd25519Verify, type VerifyPrimitives } from './proof-check.js';
import { signDocument } from './signing.js';
import { verifyCredential, type TrustList } from './verify.js';

/** libsodium against node:crypto and Web Crypto: same key, both directions; the fallback; the verifier's injected primitive. */

const here = dirname(fileURLToPath(import.meta.url));

function rawPublicKey(privateKey: KeyObject): Uint8Array {
  return Buffer.from(String(createPublicKey(privateKey).export({ format: 'jwk' }).x), 'base64url');
}

async function webSign(privateKey: KeyObject, message: Uint8Array): Promise<Uint8Array> {
  const pkcs8 = privateKey.export({ format: 'der', type: 'pkcs8' });
  const key = await crypto.subtle.importKey('pkcs8', pkcs8, { name: 'Ed25519' }, false, ['sign']);
  return new Uint8Array(await crypto.subtle.sign({ name: 'Ed25519' }, key, message));
}

const flipped = (bytes: Uint8Array, at = 0) => {
  const copy = Uint8Array.from(bytes);
  copy[at]! ^= 1;
  return copy;
};

const prebuilt = existsSync(join(dirname(createRequire(import.meta.url).resolve('sodium-native')), 'prebuilds', `${process.platform}-${process.arch}`));

describe('Ed25519 (libsodium and node:crypto)', () => {
  const impls = ed25519Implementations();
  const sodium = impls.libsodium;
  const node = impls['node:crypto']!;

  it('uses libsodium where sodium-native ships a prebuilt addon', () => {
    expect(ed25519Implementation()).toBe(prebuilt ? 'libsodium' : 'node:crypto');
    expect(Boolean(sodium)).toBe(prebuilt);
  });

  it.runIf(prebuilt)('signs as node:crypto and Web Crypto do, and each verifies what the others sign', async () => {
    for (let i = 0; i < 20; i++) {
      const { privateKey } = generateKeyPairSync('ed25519');
      const publicKey = rawPublicKey(privateKey);
      const publicKeyObject = createPublicKey(privateKey);
      const message = randomBytes(i === 0 ? 0 : 1 + i * 13);
      const bySodium = sodium!.sign(message, privateKey);
      const byNode = sign(null, message, privateKey);
      const byWeb = await webSign(privateKey, message);
      // Ed25519 is deterministic: the same bytes whoever signs.
      expect(Buffer.from(bySodium).toString('hex')).toBe(byNode.toString('hex'));
      expect(Buffer.from(byWeb).toString('hex')).toBe(byNode.toString('hex'));
      // libsodium's signature checked by node:crypto and Web Crypto…
      expect(verify(null, message, publicKeyObject, bySodium)).toBe(true);
      expect(await webEd25519Verify(bySodium, message, publicKey)).toBe(true);
      // …and theirs by libsodium.
      expect(sodium!.verify(byNode, message, publicKey)).toBe(true);
      expect(sodium!.verify(byWeb, message, publicKey)).toBe(true);
      // The key is derived once and kept: signing again gives the same bytes.
      expect(Buffer.from(sodium!.sign(message, privateKey)).equals(Buffer.from(bySodium))).toBe(true);
    }
  });

  it('rejects a tampered message, a tampered signature, another key and malformed input, whichever verifies', async () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    const other = rawPublicKey(generateKeyPairSync('ed25519').privateKey);
    const publicKey = rawPublicKey(privateKey);
    const message = randomBytes(64);
    const signature = ed25519Sign(message, privateKey);
    const verifiers: Array<[string, (s: Uint8Array, m: Uint8Array, k: Uint8Array) => boolean | Promise<boolean>]> = [
      ['node:crypto', node.verify],
      ['web crypto', webEd25519Verify],
      ['in use', ed25519Verify],
      ...(sodium ? [['libsodium', sodium.verify] as [string, typeof node.verify]] : []),
    ];
    for (const [name, check] of verifiers) {
      expect([name, await check(signature, message, publicKey)]).toEqual([name, true]);
      expect([name, await check(signature, flipped(message, 17), publicKey)]).toEqual([name, false]);
      expect([name, await check(flipped(signature, 40), message, publicKey)]).toEqual([name, false]);
      expect([name, await check(signature, message, other)]).toEqual([name, false]);
    }
    for (const check of [node.verify, ed25519Verify, ...(sodium ? [sodium.verify] : [])]) {
      expect(check(signature.subarray(0, 63), message, publicKey)).toBe(false);
      expect(check(signature, message, publicKey.subarray(0, 31))).toBe(false);
    }
  });

  it('verifies on a thread of its own, each request of a batch with its own verdict', async () => {
    const keys = [generateKeyPairSync('ed25519').privateKey, generateKeyPairSync('ed25519').privateKey];
    // Asked in one turn of the event loop: they travel in batches, answered in order; every fourth is tampered, every fifth checked against the wrong key.
    const cases = Array.from({ length: 200 }, (_, i) => {
      const key = keys[i % 2]!;
      const message = randomBytes(64);
      const signature = ed25519Sign(message, key);
      return { signature: i % 4 === 3 ? flipped(signature, i % 64) : signature, message, publicKey: rawPublicKey(i % 5 === 4 ? keys[(i + 1) % 2]! : key) };
    });
    const verdicts = await Promise.all(cases.map((c) => ed25519VerifyOffThread(c.signature, c.message, c.publicKey)));
    expect(verdicts).toEqual(cases.map((c) => ed25519Verify(c.signature, c.message, c.publicKey)));
    expect(verdicts.filter(Boolean).length).toBe(120);
    // A later batch, after the first has come back, is answered too.
    expect(await ed25519VerifyOffThread(cases[0]!.signature, cases[0]!.message, cases[0]!.publicKey)).toBe(true);
    expect(ed25519ThreadId() !== undefined).toBe(prebuilt);
    // Malformed input is refused here, as libsodium would throw on it.
    expect(await ed25519VerifyOffThread(cases[0]!.signature.subarray(0, 63), cases[0]!.message, cases[0]!.publicKey)).toBe(false);
    expect(await ed25519VerifyOffThread(cases[0]!.signature, cases[0]!.message, cases[0]!.publicKey.subarray(0, 31))).toBe(false);
  });

  describe('where sodium-native does not load', () => {
    const dir = mkdtempSync(join(tmpdir(), 'seva-ed25519-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('falls back to node:crypto with the same signatures and verdicts', () => {
      // A platform without a prebuilt addon: its require fails as a missing module would.
      const block = join(dir, 'no-sodium.cjs');
      writeFileSync(
        block,
        `const Module = require('node:module');
const load = Module._load;
Module._load = function (request, ...rest) {
  if (request === 'sodium-native') throw Object.assign(new Error("Cannot find module 'sodium-native'"), { code: 'MODULE_NOT_FOUND' });
  return load.call(this, request, ...rest);
};
`,
      );
      const { privateKey } = generateKeyPairSync('ed25519');
      const publicKey = rawPublicKey(privateKey);
      const message = randomBytes(64);
      const pkcs8 = privateKey.export({ format: 'der', type: 'pkcs8' }).toString('hex');
      const script = `
import { createPrivateKey } from 'node:crypto';
import { ed25519Implementation, ed25519Sign, ed25519Verify } from ${JSON.stringify(join(here, 'ed25519.ts'))};
import { ed25519ThreadId, ed25519VerifyOffThread } from ${JSON.stringify(join(here, 'ed25519-thread.ts'))};
const [pkcs8, message, publicKey] = process.argv.slice(1).map((h) => Buffer.from(h, 'hex'));
const key = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
const signature = ed25519Sign(message, key);
const tampered = Buffer.from(message); tampered[0] ^= 1;
const offThread = await Promise.all([ed25519VerifyOffThread(signature, message, publicKey), ed25519VerifyOffThread(signature, tampered, publicKey)]);
console.log(JSON.stringify({ implementation: ed25519Implementation(), signature: Buffer.from(signature).toString('hex'), valid: ed25519Verify(signature, message, publicKey), tampered: ed25519Verify(signature, tampered, publicKey), offThread, thread: ed25519ThreadId() ?? null }));
`;
      const out = execFileSync(process.execPath, ['--require', block, '--import', 'tsx', '--input-type=module', '-e', script, pkcs8, message.toString('hex'), Buffer.from(publicKey).toString('hex')], {
        cwd: join(here, '..', '..', '..'),
        encoding: 'utf8',
      });
      const child = JSON.parse(out.trim().split('\n').pop()!) as { implementation: string; signature: string; valid: boolean; tampered: boolean };
      // The verification thread needs the addon: without it, the same verdicts on the caller's thread.
      expect(child).toEqual({ implementation: 'node:crypto', signature: Buffer.from(ed25519Sign(message, privateKey)).toString('hex'), valid: true, tampered: false, offThread: [true, false], thread: null });
      // What the fallback signed verifies here (libsodium where it loads).
      expect(ed25519Verify(Buffer.from(child.signature, 'hex'), message, publicKey)).toBe(true);
    });
  });
});

describe('the verifier with an injected Ed25519', () => {
  const { privateKey } = generateKeyPairSync('ed25519');
  const did = 'did:web:issuer.example';
  const method = `${did}#k1`;
  const trustList: TrustList = { issuers: [{ id: did, keys: [{ id: method, type: 'Multikey', controller: did, publicKeyMultibase: ed25519Multikey(rawPublicKey(privateKey)), status: 'active' }] }] };
  const now = new Date('2026-06-01T00:00:00Z');
  const base = (context: unknown[]): JsonObject => ({
    '@context': context,
    id: 'urn:uuid:2b3c8a52-8a65-4a3a-9a0e-0b7b1c9f1f00',
    type: ['VerifiableCredential', 'VaccinationCertificate'],
    issuer: did,
    validFrom: '2026-01-01T00:00:00Z',
    credentialSubject: { name: 'Asha', dose: 2 },
  });

  it('gives Web Crypto’s verdicts on both suites, and is the check that counts', async () => {
    const signer = { privateKey, verificationMethod: method };
    const jcsSigned = addJcsProof(base([VC_V2_CONTEXT_URL]), signer, now);
    const rdfcSigned = await signDocument(base([VC_V2_CONTEXT_URL, { ...ISSUER_DEPENDENT_CONTEXT }]), signer, 'eddsa-rdfc-2022', now);
    let calls = 0;
    const counted: VerifyPrimitives = {
      ed25519Verify: (signature, data, publicKey) => {
        calls++;
        return ed25519Verify(signature, data, publicKey);
      },
    };
    for (const signed of [jcsSigned, rdfcSigned]) {
      const tampered = { ...signed, credentialSubject: { name: 'Asha', dose: 3 } };
      for (const credential of [signed, tampered]) {
        const web = await verifyCredential(credential, { trustList, now });
        const before = calls;
        expect(await verifyCredential(credential, { trustList, now, primitives: counted })).toEqual(web);
        expect(calls).toBe(before + 1);
      }
      expect(await verifyCredential(signed, { trustList, now })).toMatchObject({ verified: true, problems: [] });
      expect((await verifyCredential(tampered, { trustList, now, primitives: counted })).problems).toContainEqual({ check: 'proof', message: 'the signature does not match the credential' });
      // The injected check decides: one that refuses everything fails a good proof.
      expect((await verifyCredential(signed, { trustList, now, primitives: { ed25519Verify: () => false } })).problems).toContainEqual({ check: 'proof', message: 'the signature does not match the credential' });
    }
  });
});
