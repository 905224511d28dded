import { createHash, type KeyObject } from 'node:crypto';
import { multibaseEncode } from './codecs.js';
import { addJcsProof, type JsonObject } from './data-integrity.js';
import { ed25519Sign } from './ed25519.js';

const RDFC_CRYPTOSUITE = 'eddsa-rdfc-2022';

/** Synchronous: Web Crypto's digest costs a thread hop per call. */
const nodeSha256 = (data: Uint8Array) => createHash('sha256').update(data).digest();

export const CRYPTOSUITES = ['eddsa-jcs-2022', 'eddsa-rdfc-2022'] as const;
export type Cryptosuite = (typeof CRYPTOSUITES)[number];

/** Adds an `eddsa-rdfc-2022` proof (vc-di-eddsa §3.2) to `document`, which must not carry one. */
export async function addRdfcProof(document: JsonObject, key: { privateKey: KeyObject; verificationMethod: string }, created = new Date()): Promise<JsonObject> {
  if ('proof' in document) throw new Error('the document already carries a proof');
  const proofConfig: JsonObject = {
    type: 'DataIntegrityProof',
    cryptosuite: RDFC_CRYPTOSUITE,
    created: created.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    verificationMethod: key.verificationMethod,
    proofPurpose: 'assertionMethod',
  };
  if (document['@context'] !== undefined) proofConfig['@context'] = document['@context'];
  // A JSON-LD processor is loaded only by a deployment that has a type selecting this suite.
  const { rdfcHashData } = await import('./proof-rdfc.js');
  const signature = ed25519Sign(await rdfcHashData(proofConfig, document, nodeSha256), key.privateKey);
  return { ...document, proof: { ...proofConfig, proofValue: multibaseEncode(signature) } };
}

/** Signs with the credential type's cryptosuite (`eddsa-jcs-2022` unless the type selects `eddsa-rdfc-2022`). */
export async function signDocument(document: JsonObject, key: { privateKey: KeyObject; verificationMethod: string }, suite: Cryptosuite, created = new Date()): Promise<JsonObject> {
  return suite === RDFC_CRYPTOSUITE ? addRdfcProof(document, key, created) : addJcsProof(document, key, created);
}
