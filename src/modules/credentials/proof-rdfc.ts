import jsonld from 'jsonld';
import { loadBundledContext } from './contexts.js';
import { multibaseDecode } from './codecs.js';
import { webEd25519Verify, type JsonObject, type ProofCheck, type Sha256, type VerifyPrimitives } from './proof-check.js';

/**
 * `eddsa-rdfc-2022` (vc-di-eddsa §3.2): the proof configuration and the document are each
 * expanded as JSON-LD with the bundled contexts (never the network: an unknown context is an
 * error), canonicalized with RDF Dataset Canonicalization (RDFC-1.0, as N-Quads) and hashed with
 * SHA-256; Ed25519 signs the two hashes, configuration first. Browser-safe (jsonld, Web Crypto):
 * the verifier uses it for credential types that select this suite; a server hands in its own
 * SHA-256 and Ed25519 as for `eddsa-jcs-2022` (`VerifyPrimitives`).
 */
export const RDFC_CRYPTOSUITE = 'eddsa-rdfc-2022';

const documentLoader = async (url: string) => loadBundledContext(url);

/** RDFC-1.0 N-Quads of a JSON-LD document, safe mode: a term no context defines is an error. */
export async function rdfc(document: JsonObject): Promise<string> {
  return jsonld.canonize(document as jsonld.JsonLdDocument, { algorithm: 'RDFC-1.0', format: 'application/n-quads', documentLoader, safe: true } as unknown as jsonld.Options.Normalize);
}

const webSha256: Sha256 = async (data) => new Uint8Array(await crypto.subtle.digest('SHA-256', data));

/** SHA-256(RDFC(proof config)) ‖ SHA-256(RDFC(document)): the 64 bytes Ed25519 signs. */
export async function rdfcHashData(proofConfig: JsonObject, unsecured: JsonObject, sha256: Sha256 = webSha256): Promise<Uint8Array> {
  const hash = async (text: string) => sha256(new TextEncoder().encode(text));
  const [config, document] = await Promise.all([rdfc(proofConfig).then(hash), rdfc(unsecured).then(hash)]);
  const out = new Uint8Array(64);
  out.set(config, 0);
  out.set(document, 32);
  return out;
}

/** Verifies an `eddsa-rdfc-2022` proof whose inputs `proofInputs` (proof-check.ts) prepared. */
export async function verifyRdfcProof(
  inputs: { proofConfig: JsonObject; unsecured: JsonObject; proofValue: string },
  verificationMethod: string,
  publicKey: Uint8Array,
  primitives: VerifyPrimitives = {},
): Promise<ProofCheck> {
  let signature: Uint8Array;
  try {
    signature = multibaseDecode(inputs.proofValue);
  } catch {
    return { ok: false, reason: 'proofValue is not multibase base58btc' };
  }
  if (signature.length !== 64) return { ok: false, reason: 'proofValue is not an Ed25519 signature' };
  if (publicKey.length !== 32) return { ok: false, reason: 'the key is not an Ed25519 public key' };
  let data: Uint8Array;
  try {
    data = await rdfcHashData(inputs.proofConfig, inputs.unsecured, primitives.sha256);
  } catch (err) {
    return { ok: false, reason: `the credential cannot be canonicalized: ${(err as Error).message}` };
  }
  const valid = await (primitives.ed25519Verify ?? webEd25519Verify)(signature, data, publicKey);
  return valid ? { ok: true, verificationMethod } : { ok: false, reason: 'the signature does not match the credential' };
}
