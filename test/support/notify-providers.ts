import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';

/** A real SMTP server on a free port that keeps every message it receives, parsed. */
export async function startSmtpServer(): Promise<{ port: number; received: ParsedMail[]; times: number[]; close(): Promise<void> }> {
  const received: ParsedMail[] = [];
  const times: number[] = [];
  const server = new SMTPServer({
    authOptional: true,
    // Plain SMTP on loopback: no certificate to trust in tests.
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, _session, callback) {
      simpleParser(stream)
        .then((mail) => {
          received.push(mail);
          times.push(performance.now());
          callback();
        })
        .catch(callback);
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return { port, received, times, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

export interface SmsRequest {
  apiKey: string | undefined;
  idempotencyKey: string | undefined;
  body: { reference: string; to: string; from: string; text: string; encoding: string };
}

/**
 * An SMS provider on a free port speaking the adapter's documented shape. `down = true` makes it
 * answer 503 (an outage); accepted messages get ids `prov-1`, `prov-2`…
 */
export async function startSmsProvider(): Promise<{ url: string; accepted: SmsRequest[]; times: number[]; refused: number; down: boolean; close(): Promise<void> }> {
  const state = { url: '', accepted: [] as SmsRequest[], times: [] as number[], refused: 0, down: false, close: async () => {} };
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      if (state.down) {
        state.refused++;
        res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"maintenance"}');
        return;
      }
      state.times.push(performance.now());
      state.accepted.push({ apiKey: req.headers['x-api-key'] as string | undefined, idempotencyKey: req.headers['idempotency-key'] as string | undefined, body: JSON.parse(raw) });
      res.writeHead(202, { 'content-type': 'application/json' }).end(JSON.stringify({ id: `prov-${state.accepted.length}`, status: 'accepted' }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/messages`;
  state.close = () => new Promise((resolve) => server.close(() => resolve()));
  return state;
}
