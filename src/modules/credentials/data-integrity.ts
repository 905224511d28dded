import canonicalize from 'canonicalize';
import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { base64urlEncode, multibaseDecode, multibaseEncode } from './codecs.js';

/**
 * W3C Data Integrity proofs with the `eddsa-jcs-2022` cryptosuite (vc-di-eddsa §3.3): JCS
 * (RFC 8785) of the proof configuration and of the document, SHA-256 of each, the configuration's
 * hash first, Ed25519 over the 64 bytes, multibase base58btc `proofValue`. Pure: no database.
 */
export const CRYPTOSUITE = 'eddsa-jcs-2022';

export type JsonObject = Record<string, unknown>;

export interface DataIntegrityProof {
  type: 'DataIntegrityProof';
  cryptosuite: string;
  created?: string;
  verificationMethod: string;
  proofPurpose: string;
  proofValue: string;
  '@context'?: unknown;
  [key: string]: unknown;
}

export function jcs(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) throw new Error('value cannot be canonicalized');
  return text;
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

function hashData(proofConfig: JsonObject, document: JsonObject): Buffer {
  return Buffer.concat([sha256(jcs(proofConfig)), sha256(jcs(document))]);
}

/** An Ed25519 public key from its 32 raw bytes. */
export function ed25519PublicKey(raw: Uint8Array): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: base64urlEncode(raw) }, format: 'jwk' });
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
  const signature = sign(null, hashData(proofConfig, document), key.privateKey);
  return { ...document, proof: { ...proofConfig, proofValue: multibaseEncode(signature) } };
}

export type ProofCheck = { ok: true; verificationMethod: string } | { ok: false; reason: string };

/** The proof's shape, before any key is looked up: which verification method it claims. */
export function readJcsProof(secured: JsonObject): { proof: DataIntegrityProof } | { reason: string } {
  const proof = secured.proof as DataIntegrityProof | undefined;
  if (!proof || typeof proof !== 'object' || Array.isArray(proof)) return { reason: 'the credential has no single proof' };
  if (proof.type !== 'DataIntegrityProof') return { reason: `proof type ${String(proof.type)} is not DataIntegrityProof` };
  if (proof.cryptosuite !== CRYPTOSUITE) return { reason: `cryptosuite ${String(proof.cryptosuite)} is not supported` };
  if (proof.proofPurpose !== 'assertionMethod') return { reason: 'proof purpose is not assertionMethod' };
  if (typeof proof.verificationMethod !== 'string' || typeof proof.proofValue !== 'string') return { reason: 'proof lacks verificationMethod or proofValue' };
  return { proof };
}

/** Verifies an `eddsa-jcs-2022` proof with the given public key. */
export function verifyJcsProof(secured: JsonObject, publicKey: KeyObject): ProofCheck {
  const read = readJcsProof(secured);
  if ('reason' in read) return { ok: false, reason: read.reason };
  const { proofValue, ...proofConfig } = read.proof;
  const { proof: _proof, ...unsecured } = secured;
  if (proofConfig['@context'] !== undefined) {
    const mine = [proofConfig['@context']].flat();
    const theirs = [unsecured['@context']].flat();
    if (mine.length > theirs.length || mine.some((c, i) => canonicalize(c) !== canonicalize(theirs[i]))) {
      return { ok: false, reason: 'the proof context does not match the document context' };
    }
    unsecured['@context'] = proofConfig['@context'];
  }
  let signature: Uint8Array;
  try {
    signature = multibaseDecode(proofValue);
  } catch {
    return { ok: false, reason: 'proofValue is not multibase base58btc' };
  }
  if (signature.length !== 64) return { ok: false, reason: 'proofValue is not an Ed25519 signature' };
  const valid = verify(null, hashData(proofConfig, unsecured), publicKey, signature);
  return valid ? { ok: true, verificationMethod: read.proof.verificationMethod } : { ok: false, reason: 'the signature does not match the credential' };
}
