import { decode as cborDecode, encode as cborEncode } from 'cborg';
import { inflateSync } from 'fflate';
import { base45Decode } from './codecs.js';
import type { JsonObject } from './proof-check.js';

/**
 * The SV1 QR format and its decoder, browser-safe (the web verifier imports it): CBOR (cborg),
 * raw DEFLATE with a preset dictionary (fflate: `DecompressionStream` takes no dictionary), base45.
 * Encoding is in `qr.ts` (node:zlib, server side).
 */
export const QR_PREFIX = 'SV1:';
/** A decoded payload larger than this is refused (a QR holds under 3 KB of deflate; at most about 1032:1 expansion). */
const MAX_DECODED_BYTES = 1024 * 1024;

// Keys keep the object's order (the sort is stable): the dictionary's byte layout is the format.
export const cbor = {
  encode: (value: unknown) => cborEncode(value, { mapSorter: () => 0 }),
  decode: (bytes: Uint8Array) => cborDecode(bytes),
};

/**
 * A preset DEFLATE dictionary (RFC 1951/1950 `FDICT`, zlib's `dictionary`): the CBOR of a
 * credential skeleton, so the keys and fixed values every Seva credential repeats cost a back
 * reference instead of their bytes. Part of the `SV1` format: frozen (its SHA-256 is pinned in the
 * tests); another skeleton needs another prefix.
 */
const SKELETON = {
  '@context': ['https://www.w3.org/ns/credentials/v2'],
  id: 'urn:uuid:',
  type: ['VerifiableCredential', 'Certificate'],
  issuer: 'did:web::api:credentials:v1:issuers:',
  validFrom: '2026-01-01T00:00:00Z',
  validUntil: '2027-01-01T00:00:00Z',
  credentialSubject: { id: 'urn:', name: '', date: '' },
  credentialStatus: ['revocation', 'suspension'].map((statusPurpose) => ({
    type: 'BitstringStatusListEntry',
    statusPurpose,
    statusListIndex: '0',
    statusListCredential: `https:///api/credentials/v1/status-lists//${statusPurpose}/0`,
  })),
  proof: {
    type: 'DataIntegrityProof',
    cryptosuite: 'eddsa-jcs-2022',
    created: '2026-01-01T00:00:00Z',
    verificationMethod: 'did:web::api:credentials:v1:issuers:#vkey_',
    proofPurpose: 'assertionMethod',
    '@context': ['https://www.w3.org/ns/credentials/v2'],
    proofValue: 'z',
  },
};
export const QR_DICTIONARY_BYTES: Uint8Array = cbor.encode(SKELETON);

export function decodeCredentialFromQr(payload: string): JsonObject {
  if (!payload.startsWith(QR_PREFIX)) throw new Error(`not a Seva credential QR (expected prefix ${QR_PREFIX})`);
  const compressed = base45Decode(payload.slice(QR_PREFIX.length));
  let bytes: Uint8Array;
  try {
    bytes = inflateSync(compressed, { dictionary: QR_DICTIONARY_BYTES });
  } catch (err) {
    throw new Error(`the QR payload does not inflate: ${(err as Error).message}`);
  }
  if (bytes.length > MAX_DECODED_BYTES) throw new Error('the QR payload is too large');
  const value: unknown = cbor.decode(bytes);
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new Error('the QR does not hold a credential object');
  return value as JsonObject;
}
