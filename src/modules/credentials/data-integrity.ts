import { createHash, createPrivateKey, sign, type KeyObject } from 'node:crypto';
import { multibaseEncode } from './codecs.js';
import { CRYPTOSUITE, jcs, type JsonObject } from './proof-check.js';

export { CRYPTOSUITE, jcs, readJcsProof, verifyJcsProof, type DataIntegrityProof, type JsonObject, type ProofCheck } from './proof-check.js';

/**
 * Adding `eddsa-jcs-2022` proofs on the server (vc-di-eddsa §3.3): JCS (RFC 8785) of the proof
 * configuration and of the document, SHA-256 of each, the configuration's hash first, Ed25519
 * over the 64 bytes, multibase base58btc `proofValue`. Synchronous node:crypto: issuance is the
 * hot path. Checking a proof is in `proof-check.ts` (browser-safe).
 */

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** An Ed25519 private key from PKCS #8 DER bytes (as stored, sealed). */
export function ed25519PrivateKey(pkcs8: Uint8Array): KeyObject {
  return createPrivateKey({ key: Buffer.from(pkcs8), format: 'der', type: 'pkcs8' });
}

/** Adds an `eddsa-jcs-2022` proof to `document` (which must not carry one) and answers the secured copy. */
export function addJcsProof(document: JsonObject, key: { privateKey: KeyObject; verificationMethod: string }, created = new Date()): JsonObject {
  if ('proof' in document) throw new Error('the document already carries a proof');
  const proofConfig: JsonObject = {
    type: 'DataIntegrityProof',
    cryptosuite: CRYPTOSUITE,
    created: created.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    verificationMethod: key.verificationMethod,
    proofPurpose: 'assertionMethod',
  };
  if (document['@context'] !== undefined) proofConfig['@context'] = document['@context'];
  const hashData = Buffer.concat([sha256(jcs(proofConfig)), sha256(jcs(document))]);
  const signature = sign(null, hashData, key.privateKey);
  return { ...document, proof: { ...proofConfig, proofValue: multibaseEncode(signature) } };
}
