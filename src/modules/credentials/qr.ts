import QRCode from 'qrcode';
import { deflateRawSync } from 'node:zlib';
import { base45Encode } from './codecs.js';
import type { JsonObject } from './data-integrity.js';
import { cbor, QR_DICTIONARY_BYTES, QR_PREFIX } from './qr-format.js';

export { decodeCredentialFromQr, QR_PREFIX } from './qr-format.js';

/**
 * The whole signed credential in a QR code, so it verifies with no network: CBOR (RFC 8949,
 * plain maps, keys in the object's own order) → raw DEFLATE with a preset dictionary → base45 (RFC 9285),
 * behind the prefix `SV1:`. Every character is in the QR alphanumeric set, so the code uses alphanumeric mode (5.5 bits a
 * character instead of 8). The format and the browser-safe decoder are in `qr-format.ts`.
 */
export const QR_ERROR_CORRECTION = 'M' as const;
export const QR_DICTIONARY: Buffer = Buffer.from(QR_DICTIONARY_BYTES);

export function encodeCredentialForQr(credential: JsonObject): string {
  return QR_PREFIX + base45Encode(deflateRawSync(cbor.encode(credential), { level: 9, dictionary: QR_DICTIONARY }));
}

/** The QR symbol for a payload at error correction M: its version (1–40) and module matrix. */
export function qrSymbol(payload: string): { version: number; size: number; modules: Uint8Array } {
  const qr = QRCode.create(payload, { errorCorrectionLevel: QR_ERROR_CORRECTION });
  return { version: qr.version, size: qr.modules.size, modules: qr.modules.data };
}

export function qrSvg(payload: string): Promise<string> {
  return QRCode.toString(payload, { type: 'svg', errorCorrectionLevel: QR_ERROR_CORRECTION, margin: 4 });
}
