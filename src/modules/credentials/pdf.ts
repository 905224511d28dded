import { createRequire } from 'node:module';
import QRCode from 'qrcode';
import { localeChain, renderTemplate } from '../../kernel/index.js';
import type { JsonObject } from './data-integrity.js';
import { encodeCredentialForQr, QR_ERROR_CORRECTION } from './qr.js';
import type { CredentialType, DisplayTemplate } from './types.js';

/**
 * PDF certificates (pdfkit): a credential type's display template for the asked locale (falling
 * back `hi-IN` → `hi` → `en`), filled with the claims, and the whole signed credential as the SV1
 * QR (verifiable offline), with the short lookup URL printed under it. Text is set in Noto Sans and
 * Noto Sans Devanagari (OFL, from the npm registry, TTF): each run of text takes the font of its
 * script, and fontkit (inside pdfkit) shapes Devanagari with OpenType (conjuncts, reordered
 * vowel signs).
 */

const require = createRequire(import.meta.url);
const FONTS = {
  latin: require.resolve('@expo-google-fonts/noto-sans/400Regular/NotoSans_400Regular.ttf'),
  latinBold: require.resolve('@expo-google-fonts/noto-sans/700Bold/NotoSans_700Bold.ttf'),
  devanagari: require.resolve('@expo-google-fonts/noto-sans-devanagari/400Regular/NotoSansDevanagari_400Regular.ttf'),
  devanagariBold: require.resolve('@expo-google-fonts/noto-sans-devanagari/700Bold/NotoSansDevanagari_700Bold.ttf'),
};

/** Devanagari, its extensions and Vedic marks. */
const DEVANAGARI = /[\u0900-\u097F\uA8E0-\uA8FF\u1CD0-\u1CFF]/;
/** Characters either font has (spaces, digits, punctuation): they join the run they are in. */
const NEUTRAL = /[\s\d.,:;!?()[\]{}'"/\\\-–—+*&%#@_|]/;

/** Splits text into runs of one script each, for the font that covers it. */
export function scriptRuns(text: string): Array<{ script: 'latin' | 'devanagari'; text: string }> {
  const runs: Array<{ script: 'latin' | 'devanagari'; text: string }> = [];
  for (const char of text) {
    const last = runs[runs.length - 1];
    const script = DEVANAGARI.test(char) || (char === '\u200D' || char === '\u200C') ? 'devanagari' : NEUTRAL.test(char) && last ? last.script : 'latin';
    if (last && last.script === script) last.text += char;
    else runs.push({ script, text: char });
  }
  return runs;
}

/** The template of the nearest locale the type has: the asked one, its parents, then `en`, then any. */
export function displayFor(type: CredentialType, locale: string): { locale: string; template: DisplayTemplate } {
  for (const candidate of localeChain(locale)) {
    const template = type.display[candidate];
    if (template) return { locale: candidate, template };
  }
  const [first] = Object.entries(type.display);
  if (first) return { locale: first[0], template: first[1] };
  // A type without templates still prints: its name and every claim.
  return { locale: 'en', template: defaultTemplate(type) };
}

function defaultTemplate(type: CredentialType): DisplayTemplate {
  const properties = Object.keys((type.claimsSchema.properties as Record<string, unknown> | undefined) ?? {});
  return {
    title: type.name,
    fields: [...properties.map((p) => ({ label: p, value: `{{${p}}}` })), { label: 'Valid from', value: '{{validFrom}}' }, { label: 'Valid until', value: '{{validUntil}}' }],
  };
}

export interface Printable {
  id: string;
  credential: JsonObject;
  issuedAt: string;
  shortUrl: string | null;
}

/** The values a template may use: the claims (absent ones empty), dates as YYYY-MM-DD, the ids. */
function values(type: CredentialType, item: Printable): Record<string, string> {
  const subject = (item.credential.credentialSubject ?? {}) as Record<string, unknown>;
  const out: Record<string, string> = {};
  for (const name of Object.keys((type.claimsSchema.properties as Record<string, unknown> | undefined) ?? {})) out[name] = '';
  for (const [name, value] of Object.entries(subject)) out[name] = value === null || value === undefined ? '' : typeof value === 'object' ? JSON.stringify(value) : String(value);
  const day = (v: unknown) => (typeof v === 'string' ? v.slice(0, 10) : '');
  out.validFrom = day(item.credential.validFrom);
  out.validUntil = day(item.credential.validUntil);
  out.issuedOn = day(item.issuedAt);
  out.credentialId = item.id;
  out.issuer = typeof item.credential.issuer === 'string' ? item.credential.issuer : '';
  return out;
}

/** The filled-in texts of a certificate (what the PDF prints), for tests and other renderers. */
export function certificateTexts(type: CredentialType, item: Printable, locale: string) {
  const { locale: used, template } = displayFor(type, locale);
  const v = values(type, item);
  const fill = (text: string | undefined) => (text === undefined ? undefined : renderTemplate(text, v));
  return {
    locale: used,
    title: fill(template.title)!,
    subtitle: fill(template.subtitle),
    fields: template.fields.map((f) => ({ label: fill(f.label)!, value: fill(f.value)! })),
    footer: fill(template.footer),
  };
}

/** Renders the certificate as PDF bytes (A4). `compress: false` keeps streams readable (tests). */
export async function renderCertificatePdf(type: CredentialType, item: Printable, locale: string, options: { compress?: boolean } = {}): Promise<Buffer> {
  const texts = certificateTexts(type, item, locale);
  const { default: PDFDocument } = await import('pdfkit');
  const qrPng = await QRCode.toBuffer(encodeCredentialForQr(item.credential), { type: 'png', errorCorrectionLevel: QR_ERROR_CORRECTION, margin: 2, scale: 4 });
  const doc = new PDFDocument({
    size: 'A4',
    margin: 56,
    compress: options.compress ?? true,
    info: { Title: texts.title, Subject: item.id, Creator: 'Seva', CreationDate: new Date(item.issuedAt) },
    lang: texts.locale,
  });
  doc.registerFont('latin', FONTS.latin);
  doc.registerFont('latinBold', FONTS.latinBold);
  doc.registerFont('devanagari', FONTS.devanagari);
  doc.registerFont('devanagariBold', FONTS.devanagariBold);
  const chunks: Buffer[] = [];
  doc.on('data', (c: Buffer) => chunks.push(c));
  const ended = new Promise<void>((resolve, reject) => {
    doc.on('end', resolve);
    doc.on('error', reject);
  });

  const write = (text: string, size: number, bold: boolean, options: PDFKit.Mixins.TextOptions = {}) => {
    const runs = scriptRuns(text);
    doc.fontSize(size);
    runs.forEach((run, i) => {
      doc.font(run.script === 'devanagari' ? (bold ? 'devanagariBold' : 'devanagari') : bold ? 'latinBold' : 'latin');
      doc.text(run.text, { ...options, continued: i < runs.length - 1 });
    });
    if (runs.length === 0) doc.text('', options);
  };

  const width = doc.page.width - 112;
  write(texts.title, 22, true, { width, align: 'center' });
  if (texts.subtitle) write(texts.subtitle, 12, false, { width, align: 'center' });
  doc.moveDown(1.5);
  const qrSize = 190;
  const top = doc.y;
  doc.image(qrPng, doc.page.width - 56 - qrSize, top, { width: qrSize });
  doc.x = 56;
  doc.y = top;
  for (const field of texts.fields) {
    write(field.label, 9, false, { width: width - qrSize - 20 });
    write(field.value || '—', 13, true, { width: width - qrSize - 20 });
    doc.moveDown(0.6);
  }
  doc.y = Math.max(doc.y, top + qrSize + 10);
  doc.x = 56;
  doc.moveDown(1);
  if (item.shortUrl) write(item.shortUrl, 10, false, { width, align: 'right', link: item.shortUrl });
  write(item.id, 8, false, { width, align: 'right' });
  if (texts.footer) {
    doc.moveDown(1);
    write(texts.footer, 9, false, { width, align: 'center' });
  }
  doc.end();
  await ended;
  return Buffer.concat(chunks);
}

/** The credential's SV1 QR as a PNG image (for download). */
export async function credentialQrPng(credential: JsonObject): Promise<Buffer> {
  return QRCode.toBuffer(encodeCredentialForQr(credential), { type: 'png', errorCorrectionLevel: QR_ERROR_CORRECTION, margin: 4, scale: 6 });
}
