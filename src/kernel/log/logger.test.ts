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

describe('lazyChild', () => {
  it('logs with its bindings, and costs nothing until used', async () => {
    const { lazyChild } = await import('./logger.js');
    const { log, lines } = capture();
    let made = 0;
    const counting = new Proxy(log, { get: (t, p) => (p === 'child' ? (...a: any[]) => (made++, (t.child as any)(...a)) : Reflect.get(t, p)) });
    const child = lazyChild(counting, { requestId: 'r-lazy', token: 'SECRET' });
    expect(made).toBe(0);
    child.info({ password: 'p' }, 'used');
    child.info('again');
    expect(made).toBe(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ requestId: 'r-lazy', token: '[redacted]', password: '[redacted]', msg: 'used' });
    expect(lines).toHaveLength(2);
  });

  it('makes no child when its methods are only looked up, as Fastify does for every request', async () => {
    const { lazyChild } = await import('./logger.js');
    const { log, lines } = capture();
    let made = 0;
    const counting = new Proxy(log, { get: (t, p) => (p === 'child' ? (...a: any[]) => (made++, (t.child as any)(...a)) : Reflect.get(t, p)) });
    const child = lazyChild(counting, { requestId: 'r-lookup' });
    for (const method of ['info', 'error', 'debug', 'fatal', 'warn', 'trace', 'child'] as const) expect(typeof child[method]).toBe('function');
    const grandchild = child.child({ module: 'm' });
    expect(made).toBe(0);
    grandchild.error('failed');
    expect(made).toBe(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ requestId: 'r-lookup', module: 'm', msg: 'failed' });
  });
});
