import canonicalize from 'canonicalize';
import { multibaseDecode } from './codecs.js';

/**
 * Checking an `eddsa-jcs-2022` proof (vc-di-eddsa §3.3), browser-safe: JCS (RFC 8785), SHA-256
 * and Ed25519 through Web Crypto (`crypto.subtle`, in Node 20 and current browsers), so the web
 * verifier runs this same code.
 */
export const CRYPTOSUITE = 'eddsa-jcs-2022';
/** The suites a Seva verifier checks: `eddsa-jcs-2022` here, `eddsa-rdfc-2022` in `proof-rdfc.ts`. */
export const VERIFIABLE_SUITES: readonly string[] = [CRYPTOSUITE, 'eddsa-rdfc-2022'];

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

export type ProofCheck = { ok: true; verificationMethod: string } | { ok: false; reason: string };

export function jcs(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) throw new Error('value cannot be canonicalized');
  return text;
}

/** The proof's shape, before any key is looked up: which verification method it claims. */
export function readJcsProof(secured: JsonObject): { proof: DataIntegrityProof } | { reason: string } {
  const proof = secured.proof as DataIntegrityProof | undefined;
  if (!proof || typeof proof !== 'object' || Array.isArray(proof)) return { reason: 'the credential has no single proof' };
  if (proof.type !== 'DataIntegrityProof') return { reason: `proof type ${String(proof.type)} is not DataIntegrityProof` };
  if (!VERIFIABLE_SUITES.includes(proof.cryptosuite)) return { reason: `cryptosuite ${String(proof.cryptosuite)} is not supported` };
  if (proof.proofPurpose !== 'assertionMethod') return { reason: 'proof purpose is not assertionMethod' };
  if (typeof proof.verificationMethod !== 'string' || typeof proof.proofValue !== 'string') return { reason: 'proof lacks verificationMethod or proofValue' };
  return { proof };
}

/**
 * What the signature covers: the proof configuration (the proof without `proofValue`) and the
 * document without its proof, whose `@context` must start with the proof's.
 */
export function proofInputs(secured: JsonObject): { proofConfig: JsonObject; unsecured: JsonObject; proofValue: string } | { reason: string } {
  const read = readJcsProof(secured);
  if ('reason' in read) return read;
  const { proofValue, ...proofConfig } = read.proof;
  const { proof: _proof, ...unsecured } = secured;
  if (proofConfig['@context'] !== undefined) {
    const mine = [proofConfig['@context']].flat();
    const theirs = [unsecured['@context']].flat();
    if (mine.length > theirs.length || mine.some((c, i) => canonicalize(c) !== canonicalize(theirs[i]))) {
      return { reason: 'the proof context does not match the document context' };
    }
    unsecured['@context'] = proofConfig['@context'];
  }
  return { proofConfig, unsecured, proofValue };
}

/** SHA-256 of bytes: Web Crypto by default; a server may hand a synchronous one (Web Crypto costs a thread hop per call). */
export type Sha256 = (data: Uint8Array) => Uint8Array | Promise<Uint8Array>;

const webSha256: Sha256 = async (data) => new Uint8Array(await crypto.subtle.digest('SHA-256', data));

/** SHA-256(JCS(proof config)) ‖ SHA-256(JCS(document)): the 64 bytes Ed25519 signs. */
export async function hashData(proofConfig: JsonObject, unsecured: JsonObject, sha256: Sha256 = webSha256): Promise<Uint8Array> {
  const encoder = new TextEncoder();
  const [config, document] = await Promise.all([sha256(encoder.encode(jcs(proofConfig))), sha256(encoder.encode(jcs(unsecured)))]);
  const out = new Uint8Array(64);
  out.set(config, 0);
  out.set(document, 32);
  return out;
}

/** Ed25519 verification of `data` with a raw 32-byte public key: Web Crypto by default; a server may hand a faster one. */
export type Ed25519Verify = (signature: Uint8Array, data: Uint8Array, publicKey: Uint8Array) => boolean | Promise<boolean>;

/** What a verifier may take from its host instead of Web Crypto: the browser passes none. */
export interface VerifyPrimitives {
  sha256?: Sha256 | undefined;
  ed25519Verify?: Ed25519Verify | undefined;
}

/**
 * Imported Ed25519 public keys by their bytes: importing costs about as much as hashing a
 * credential, and a verifier sees the same few keys again and again.
 */
type WebCryptoKey = Awaited<ReturnType<typeof crypto.subtle.importKey>>;
const importedKeys = new Map<string, Promise<WebCryptoKey>>();
const IMPORTED_KEYS_KEPT = 1000;

function importedKey(publicKey: Uint8Array): Promise<WebCryptoKey> {
  const id = String.fromCharCode(...publicKey);
  let key = importedKeys.get(id);
  if (!key) {
    if (importedKeys.size >= IMPORTED_KEYS_KEPT) importedKeys.delete(importedKeys.keys().next().value!);
    key = crypto.subtle.importKey('raw', publicKey, { name: 'Ed25519' }, false, ['verify']);
    key.catch(() => importedKeys.delete(id));
    importedKeys.set(id, key);
  }
  return key;
}

export const webEd25519Verify: Ed25519Verify = async (signature, data, publicKey) => crypto.subtle.verify({ name: 'Ed25519' }, await importedKey(publicKey), signature, data);

/** Verifies an `eddsa-jcs-2022` proof with an Ed25519 public key (32 raw bytes). */
export async function verifyJcsProof(secured: JsonObject, publicKey: Uint8Array, primitives: VerifyPrimitives = {}): Promise<ProofCheck> {
  const inputs = proofInputs(secured);
  if ('reason' in inputs) return { ok: false, reason: inputs.reason };
  if (inputs.proofConfig.cryptosuite !== CRYPTOSUITE) return { ok: false, reason: `cryptosuite ${String(inputs.proofConfig.cryptosuite)} is not ${CRYPTOSUITE}` };
  let signature: Uint8Array;
  try {
    signature = multibaseDecode(inputs.proofValue);
  } catch {
    return { ok: false, reason: 'proofValue is not multibase base58btc' };
  }
  if (signature.length !== 64) return { ok: false, reason: 'proofValue is not an Ed25519 signature' };
  if (publicKey.length !== 32) return { ok: false, reason: 'the key is not an Ed25519 public key' };
  const verify = primitives.ed25519Verify ?? webEd25519Verify;
  const valid = await verify(signature, await hashData(inputs.proofConfig, inputs.unsecured, primitives.sha256), publicKey);
  const method = (secured.proof as DataIntegrityProof).verificationMethod;
  return valid ? { ok: true, verificationMethod: method } : { ok: false, reason: 'the signature does not match the credential' };
}
