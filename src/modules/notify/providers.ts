import type { SevaConfig } from '../../kernel/index.js';
import type { Channel } from './channels.js';

/**
 * Where a channel's messages go. E-mail goes over SMTP and SMS to the HTTP provider when they are
 * configured; otherwise both land in the development outbox (the embedded default), where an
 * administrator reads them. In-app messages are stored for the recipient's inbox.
 */
export type ProviderName = 'smtp' | 'sms-http' | 'devoutbox' | 'inapp';

export function providerFor(ch: Channel, config: Readonly<SevaConfig>): ProviderName {
  if (ch === 'inapp') return 'inapp';
  if (ch === 'email') return config.smtpHost ? 'smtp' : 'devoutbox';
  return config.smsProviderUrl ? 'sms-http' : 'devoutbox';
}

/** Messages per second the provider is configured to take. */
export function providerRate(name: ProviderName, config: Readonly<SevaConfig>): number {
  return name === 'smtp' ? config.smtpRate : config.smsRate;
}

export interface Outgoing {
  id: string;
  recipient: string;
  subject: string | null;
  body: string;
  html: string | null;
  encoding: string | null;
}

export type SendResult = { ok: true; providerMessageId: string } | { ok: false; retry: boolean; error: string };

/** A provider opened for one round of deliveries (an SMTP pool lives as long as the round). */
export interface ProviderSession {
  send(message: Outgoing): Promise<SendResult>;
  close(): void;
}

export function openProvider(name: ProviderName, config: Readonly<SevaConfig>, concurrency: number): ProviderSession {
  if (name === 'smtp') return smtpSession(config, concurrency);
  if (name === 'sms-http') return smsSession(config);
  throw new Error(`provider ${name} does not deliver`);
}

function smtpSession(config: Readonly<SevaConfig>, concurrency: number): ProviderSession {
  // Loaded on first use: a deployment without SMTP never parses nodemailer at start.
  const transport = import('nodemailer').then(({ default: nodemailer }) => nodemailer.createTransport({
    host: config.smtpHost,
    port: config.smtpPort,
    secure: config.smtpSecure,
    ...(config.smtpUser ? { auth: { user: config.smtpUser, pass: config.smtpPassword ?? '' } } : {}),
    pool: true,
    maxConnections: Math.max(1, Math.min(concurrency, 8)),
    maxMessages: Infinity,
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 30_000,
    // nodemailer logs nothing unless asked; recipients must never reach a log line.
    logger: false,
  }));
  return {
    async send(m) {
      try {
        const info = await (await transport).sendMail({
          from: config.smtpFrom,
          to: m.recipient,
          subject: m.subject ?? '',
          text: m.body,
          ...(m.html ? { html: m.html } : {}),
          // The message id doubles as the Message-ID, so a resend after a crash is recognisable.
          messageId: `<${m.id}@seva>`,
        });
        return { ok: true, providerMessageId: String(info.messageId ?? m.id) };
      } catch (err) {
        const e = err as { responseCode?: number; code?: string; message?: string };
        // 5xx is the server's final word on this message (bad mailbox, refused content); anything
        // else (4xx, connection trouble) may pass later.
        const permanent = typeof e.responseCode === 'number' && e.responseCode >= 500;
        return { ok: false, retry: !permanent, error: `smtp ${e.responseCode ?? e.code ?? 'error'}: ${String(e.message ?? '').slice(0, 200)}` };
      }
    },
    close: () => void transport.then((t) => t.close(), () => {}),
  };
}

/**
 * The HTTP SMS provider adapter. Request: `POST <SEVA_SMS_URL>` with `content-type:
 * application/json`, `x-api-key: <SEVA_SMS_API_KEY>`, `idempotency-key: <message id>` and the body
 * `{ reference, to, from, text, encoding }`. A 2xx answer `{ id }` names the provider's message
 * id (receipts refer to it); 408, 429, 5xx and network failures are retried; other 4xx are final.
 */
function smsSession(config: Readonly<SevaConfig>): ProviderSession {
  return {
    async send(m) {
      let response: Response;
      try {
        response = await fetch(config.smsProviderUrl!, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-api-key': config.smsProviderKey ?? '', 'idempotency-key': m.id },
          body: JSON.stringify({ reference: m.id, to: m.recipient, from: config.smsSender, text: m.body, encoding: m.encoding ?? 'GSM-7' }),
          signal: AbortSignal.timeout(10_000),
        });
      } catch (err) {
        return { ok: false, retry: true, error: `sms provider unreachable: ${(err as Error).message.slice(0, 200)}` };
      }
      const text = await response.text().catch(() => '');
      if (response.ok) {
        let id: unknown;
        try {
          id = (JSON.parse(text) as { id?: unknown }).id;
        } catch {
          id = undefined;
        }
        return { ok: true, providerMessageId: typeof id === 'string' && id ? id.slice(0, 200) : m.id };
      }
      const retry = response.status === 408 || response.status === 429 || response.status >= 500;
      return { ok: false, retry, error: `sms provider answered ${response.status}` };
    },
    close: () => {},
  };
}
