import { ed25519FromMultikey } from './codecs.js';
import { proofInputs, readJcsProof, verifyJcsProof, type JsonObject, type ProofCheck, type VerifyPrimitives } from './proof-check.js';
import { decodeStatusList, statusBit, type StatusPurpose } from './status-bits.js';

/**
 * The verifier as a pure function: no database, no network, no Node APIs (the web verifier
 * imports this file). It takes the credential, a trust
 * list (the issuers and keys a verifier trusts, as served by `GET /trust-list`) and the status
 * list credentials it holds, and checks the proof, the issuer, the validity period and the status.
 */
export interface TrustedKey {
  /** The verification method id: `<issuer DID>#<key id>`. */
  id: string;
  type: 'Multikey';
  controller: string;
  publicKeyMultibase: string;
  /** `active` signs new credentials; `rotated` no longer signs, but what it signed still verifies. */
  status: 'active' | 'rotated';
}

export interface TrustList {
  issuers: Array<{ id: string; name?: string | undefined; keys: TrustedKey[] }>;
}

export type CheckName = 'proof' | 'issuer' | 'validity' | 'status';

export interface VerificationResult {
  verified: boolean;
  issuer: string | null;
  /** `unknown` when a status list was not at hand (an offline verifier with no cached list). */
  status: 'active' | 'revoked' | 'suspended' | 'unknown';
  problems: Array<{ check: CheckName; message: string }>;
  warnings: string[];
}

function issuerOf(credential: JsonObject): string | null {
  const issuer = credential.issuer;
  if (typeof issuer === 'string') return issuer;
  if (issuer && typeof issuer === 'object' && typeof (issuer as JsonObject).id === 'string') return (issuer as JsonObject).id as string;
  return null;
}

/** The trusted key of `verificationMethod`, when it belongs to `issuer` and the trust list holds it. */
function trustedKey(trustList: TrustList, issuer: string, verificationMethod: string): TrustedKey | undefined {
  if (!verificationMethod.startsWith(`${issuer}#`)) return undefined;
  return trustList.issuers.find((i) => i.id === issuer)?.keys.find((k) => k.id === verificationMethod && k.controller === issuer);
}

/**
 * Status list credentials a verifier has already checked, by the object it was handed (verifiers
 * keep lists for their validity and pass the same object each time) and the trusted key's value:
 * the signature and the decoded bitstring are the same as long as both are. Weakly held, so a
 * list a verifier drops is forgotten. A key no longer trusted is never looked up here.
 */
const checkedLists = new WeakMap<JsonObject, { key: string; bits?: Uint8Array }>();

/** Checks proof and issuer only: used for status list credentials too. */
async function checkSignature(document: JsonObject, trustList: TrustList, primitives: VerifyPrimitives | undefined, remember = false): Promise<{ issuer: string | null; problem?: { check: CheckName; message: string } }> {
  const issuer = issuerOf(document);
  if (!issuer) return { issuer, problem: { check: 'issuer', message: 'the credential names no issuer' } };
  const read = readJcsProof(document);
  if ('reason' in read) return { issuer, problem: { check: 'proof', message: read.reason } };
  const key = trustedKey(trustList, issuer, read.proof.verificationMethod);
  if (!key) return { issuer, problem: { check: 'issuer', message: `the key ${read.proof.verificationMethod} of issuer ${issuer} is not in the trust list` } };
  // Checked before with this very key (it decoded then).
  if (remember && checkedLists.get(document)?.key === key.publicKeyMultibase) return { issuer };
  let publicKey: Uint8Array;
  try {
    publicKey = keyBytes(key.publicKeyMultibase);
  } catch {
    return { issuer, problem: { check: 'issuer', message: `the trust list's key ${key.id} is not an Ed25519 Multikey` } };
  }
  const checked = read.proof.cryptosuite === 'eddsa-rdfc-2022' ? await verifyRdfc(document, publicKey, primitives) : await verifyJcsProof(document, publicKey, primitives);
  if (remember && checked.ok) checkedLists.set(document, { key: key.publicKeyMultibase });
  return checked.ok ? { issuer } : { issuer, problem: { check: 'proof', message: checked.reason } };
}

/** Trusted keys' raw bytes by their Multikey text: a verifier meets the same few keys again and again. */
const decodedKeys = new Map<string, Uint8Array>();

function keyBytes(multikey: string): Uint8Array {
  let bytes = decodedKeys.get(multikey);
  if (!bytes) {
    bytes = ed25519FromMultikey(multikey);
    if (decodedKeys.size >= 1000) decodedKeys.delete(decodedKeys.keys().next().value!);
    decodedKeys.set(multikey, bytes);
  }
  return bytes;
}

/** The list's decoded bitstring, decoded once per list object. */
async function listBits(list: JsonObject, encoded: string): Promise<Uint8Array> {
  const known = checkedLists.get(list);
  if (known?.bits) return known.bits;
  const bits = await decodeStatusList(encoded);
  if (known) known.bits = bits;
  return bits;
}

/** `eddsa-rdfc-2022` needs a JSON-LD processor: loaded only when a credential uses that suite. */
async function verifyRdfc(document: JsonObject, publicKey: Uint8Array, primitives: VerifyPrimitives | undefined): Promise<ProofCheck> {
  const inputs = proofInputs(document);
  if ('reason' in inputs) return { ok: false, reason: inputs.reason };
  // The proof is read in the document's context when it carries none of its own (vc-di-eddsa §3.2.4).
  if (inputs.proofConfig['@context'] === undefined) inputs.proofConfig['@context'] = inputs.unsecured['@context'];
  const { verifyRdfcProof } = await import('./proof-rdfc.js');
  return verifyRdfcProof(inputs, String((document.proof as JsonObject).verificationMethod), publicKey, primitives);
}

function checkValidity(document: JsonObject, now: Date): string | undefined {
  for (const [field, late] of [
    ['validFrom', false],
    ['validUntil', true],
  ] as const) {
    const value = document[field];
    if (value === undefined) continue;
    const at = typeof value === 'string' ? Date.parse(value) : NaN;
    if (Number.isNaN(at)) return `${field} is not a date-time`;
    if (!late && now.getTime() < at) return `not valid before ${value}`;
    if (late && now.getTime() > at) return `expired at ${value}`;
  }
  return undefined;
}

interface StatusEntry {
  statusPurpose: StatusPurpose;
  statusListIndex: string;
  statusListCredential: string;
}

function statusEntries(credential: JsonObject): StatusEntry[] | string {
  const raw = credential.credentialStatus;
  if (raw === undefined) return [];
  const entries = [raw].flat() as JsonObject[];
  for (const e of entries) {
    if (!e || e.type !== 'BitstringStatusListEntry') return 'credentialStatus is not a BitstringStatusListEntry';
    if (typeof e.statusListCredential !== 'string' || typeof e.statusListIndex !== 'string' || !/^\d+$/.test(e.statusListIndex)) return 'credentialStatus lacks its list or index';
    if (e.statusPurpose !== 'revocation' && e.statusPurpose !== 'suspension') return `status purpose ${String(e.statusPurpose)} is not supported`;
  }
  return entries as unknown as StatusEntry[];
}

export async function verifyCredential(
  credential: JsonObject,
  options: {
    trustList: TrustList;
    statusLists?: Readonly<Record<string, JsonObject>>;
    now?: Date;
    /** SHA-256 and Ed25519 verification; Web Crypto by default (a server passes synchronous ones, a browser none). */
    primitives?: VerifyPrimitives;
  },
): Promise<VerificationResult> {
  const now = options.now ?? new Date();
  const problems: VerificationResult['problems'] = [];
  const warnings: string[] = [];
  const types = [credential.type].flat();
  if (!types.includes('VerifiableCredential')) problems.push({ check: 'proof', message: 'not a VerifiableCredential' });
  const signature = await checkSignature(credential, options.trustList, options.primitives);
  if (signature.problem) problems.push(signature.problem);
  const validity = checkValidity(credential, now);
  if (validity) problems.push({ check: 'validity', message: validity });

  let status: VerificationResult['status'] = 'active';
  const entries = statusEntries(credential);
  if (typeof entries === 'string') problems.push({ check: 'status', message: entries });
  else {
    for (const entry of entries) {
      const list = options.statusLists?.[entry.statusListCredential];
      if (!list) {
        warnings.push(`status list ${entry.statusListCredential} was not available: ${entry.statusPurpose} not checked`);
        if (status === 'active') status = 'unknown';
        continue;
      }
      const listCheck = await checkSignature(list, options.trustList, options.primitives, true);
      const subject = list.credentialSubject as JsonObject | undefined;
      if (listCheck.problem || listCheck.issuer !== signature.issuer) {
        problems.push({ check: 'status', message: `the status list ${entry.statusListCredential} does not verify as the issuer's` });
        continue;
      }
      if (list.id !== entry.statusListCredential || subject?.statusPurpose !== entry.statusPurpose || typeof subject.encodedList !== 'string') {
        problems.push({ check: 'status', message: `the status list ${entry.statusListCredential} is not the ${entry.statusPurpose} list named` });
        continue;
      }
      const listValidity = checkValidity(list, now);
      if (listValidity) warnings.push(`status list ${entry.statusListCredential}: ${listValidity}`);
      let set: boolean;
      try {
        set = statusBit(await listBits(list, subject.encodedList), Number(entry.statusListIndex));
      } catch (err) {
        problems.push({ check: 'status', message: (err as Error).message });
        continue;
      }
      if (set) {
        const found = entry.statusPurpose === 'revocation' ? 'revoked' : 'suspended';
        if (status !== 'revoked') status = found;
        problems.push({ check: 'status', message: `the credential is ${found}` });
      }
    }
  }
  return { verified: problems.length === 0, issuer: signature.issuer, status, problems, warnings };
}
