/**
 * How an SMS text travels (3GPP TS 23.038): GSM-7 when every character is in the GSM 03.38 basic
 * set or its extension table (an extension character takes two septets, the escape and itself),
 * otherwise UCS-2 (UTF-16 code units; characters outside the BMP take two). A single message
 * holds 160 septets or 70 units; a concatenated one loses room to its header: 153 or 67 per part.
 */
const GSM_BASIC =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';
const GSM_EXTENSION = '\f^{}\\[~]|€';
const basic = new Set(GSM_BASIC);
const extension = new Set(GSM_EXTENSION);

export interface SmsEncoding {
  encoding: 'GSM-7' | 'UCS-2';
  /** Septets (GSM-7) or UTF-16 code units (UCS-2) the text needs. */
  units: number;
  segments: number;
  /** Room per segment at this length: 160/153 or 70/67. */
  perSegment: number;
}

export function smsEncoding(text: string): SmsEncoding {
  let septets = 0;
  let gsm = true;
  for (const ch of text) {
    if (basic.has(ch)) septets += 1;
    else if (extension.has(ch)) septets += 2;
    else {
      gsm = false;
      break;
    }
  }
  if (gsm) return sized('GSM-7', septets, 160, 153);
  return sized('UCS-2', text.length, 70, 67);
}

function sized(encoding: SmsEncoding['encoding'], units: number, single: number, part: number): SmsEncoding {
  if (units <= single) return { encoding, units, segments: 1, perSegment: single };
  // A GSM-7 escape pair is not split across parts; counting that exactly needs the character
  // boundaries, which carriers differ on, so parts are counted by size (the usual estimate).
  return { encoding, units, segments: Math.ceil(units / part), perSegment: part };
}
