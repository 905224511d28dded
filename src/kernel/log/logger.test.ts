import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.js';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { log: createLogger({ level: 'info', destination }), lines };
}

describe('logger', () => {
  it('never writes secrets or PII, wherever they sit in the logged object', () => {
    const { log, lines } = capture();
    log.info(
      {
        req: { headers: { authorization: 'Bearer SECRET-TOKEN', cookie: 'sid=SECRET-COOKIE', 'x-request-id': 'r-1' } },
        body: { password: 'SECRET-PASSWORD', otp: '123456', user: { mobile: '9876543210', email: 'a@b.in' } },
        access_token: 'SECRET-ACCESS',
      },
      'request',
    );
    const line = lines.join('');
    for (const secret of ['SECRET-TOKEN', 'SECRET-COOKIE', 'SECRET-PASSWORD', '123456', '9876543210', 'a@b.in', 'SECRET-ACCESS']) {
      expect(line).not.toContain(secret);
    }
    expect(line).toContain('r-1');
    expect(JSON.parse(line)).toMatchObject({ level: 'info', msg: 'request', body: { password: '[redacted]' } });
  });

  it('carries request id and tenant on child loggers', () => {
    const { log, lines } = capture();
    log.child({ requestId: 'req-9', tenant: 'in.ka' }).warn('slow');
    expect(JSON.parse(lines[0]!)).toMatchObject({ requestId: 'req-9', tenant: 'in.ka', level: 'warn' });
  });
});
