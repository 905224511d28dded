import { z } from '../../kernel/index.js';

export const CHANNELS = ['email', 'sms', 'inapp'] as const;
export type Channel = (typeof CHANNELS)[number];
export const channel = z.enum(CHANNELS);

/** Channels whose messages leave through a provider (in-app ones are stored, not sent). */
export const OUTBOUND = ['email', 'sms'] as const;
export type Outbound = (typeof OUTBOUND)[number];

export const category = z.string().regex(/^[a-z][a-z0-9_.-]{0,39}$/, 'lower case letters, digits and _ . - such as status or payment');
export const templateCode = z.string().regex(/^[a-z][a-z0-9_.-]{1,99}$/, 'lower case letters, digits and _ . - such as application.submitted');

const EMAIL = z.email('a valid e-mail address').max(254);
const MOBILE = z.string().regex(/^\+?[1-9][0-9]{7,14}$/, 'a mobile number of 8 to 15 digits, optionally with +');

/** Checks an address for its channel; the message names what was expected. */
export function addressProblem(ch: Channel, address: string): string | undefined {
  if (ch === 'email') return EMAIL.safeParse(address).success ? undefined : 'a valid e-mail address';
  if (ch === 'sms') return MOBILE.safeParse(address).success ? undefined : 'a mobile number of 8 to 15 digits, optionally with +';
  return undefined;
}

export function maskAddress(ch: Channel, address: string): string {
  if (ch === 'email') {
    const [local = '', domain = ''] = address.split('@');
    return `${local.slice(0, 1)}***@${domain}`;
  }
  if (ch === 'sms') return `${address.slice(0, 3)}******${address.slice(-2)}`;
  return address;
}
