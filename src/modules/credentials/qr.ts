import { decode as cborDecode, encode as cborEncode } from 'cborg';
import QRCode from 'qrcode';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { base45Decode, base45Encode } from './codecs.js';
import type { JsonObject } from './data-integrity.js';

/**
 * The whole signed credential in a QR code, so it verifies with no network: CBOR (RFC 8949,
 * plain maps, keys in the object's own order) → raw DEFLATE with a preset dictionary → base45 (RFC 9285),
 * behind the prefix `SV1:`. Every character is in the QR alphanumeric set, so the code uses alphanumeric mode (5.5 bits a
 * character instead of 8).
 */
export const QR_PREFIX = 'SV1:';
export const QR_ERROR_CORRECTION = 'M' as const;

// Keys keep the object's order (the sort is stable): the dictionary's byte layout is the format.
const cbor = {
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
export const QR_DICTIONARY: Buffer = Buffer.from(cbor.encode(SKELETON));

export function encodeCredentialForQr(credential: JsonObject): string {
  return QR_PREFIX + base45Encode(deflateRawSync(cbor.encode(credential), { level: 9, dictionary: QR_DICTIONARY }));
}

export function decodeCredentialFromQr(payload: string): JsonObject {
  if (!payload.startsWith(QR_PREFIX)) throw new Error(`not a Seva credential QR (expected prefix ${QR_PREFIX})`);
  const bytes = inflateRawSync(base45Decode(payload.slice(QR_PREFIX.length)), { maxOutputLength: 1024 * 1024, dictionary: QR_DICTIONARY });
  const value: unknown = cbor.decode(bytes);
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new Error('the QR does not hold a credential object');
  return value as JsonObject;
}

/** The QR symbol for a payload at error correction M: its version (1–40) and module matrix. */
export function qrSymbol(payload: string): { version: number; size: number; modules: Uint8Array } {
  const qr = QRCode.create(payload, { errorCorrectionLevel: QR_ERROR_CORRECTION });
  return { version: qr.version, size: qr.modules.size, modules: qr.modules.data };
}

export function qrSvg(payload: string): Promise<string> {
  return QRCode.toString(payload, { type: 'svg', errorCorrectionLevel: QR_ERROR_CORRECTION, margin: 4 });
}
