import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { loadConfig, startRuntime, type OperationContext, type Runtime } from '../src/kernel/index.js';
import { identityModule } from '../src/modules/identity/index.js';
import { notifyModuleWith } from '../src/modules/notify/index.js';
import { startSmsProvider, startSmtpServer } from '../test/support/notify-providers.js';
import { fmt, note, progress, row, type Row } from './lib/report.js';

const SMS_COUNT = 5_000;
const SMS_RATE = 500;
const EMAIL_COUNT = 1_000;
const EMAIL_RATE = 200;
/** Recipients per send call, and send calls in flight: a service fanning out a notice to many citizens. */
const BATCH = 500;
const CALLERS = 4;

/**
 * Notifications queued per second (send operations through the kernel's gate: zod, permission,
 * tenant scope, rendering, sealing, one insert per 500) and delivered per second to a local SMS
 * provider and a real SMTP server, each with its configured rate (the token bucket bounds it).
 */
export async function notifyBench(workDir: string): Promise<Row[]> {
  const [smtp, sms] = await Promise.all([startSmtpServer(), startSmsProvider()]);
  let runtime: Runtime | undefined;
  try {
    const config = loadConfig({
      env: {},
      overrides: {
        logLevel: 'warn',
        masterKey: randomBytes(32).toString('base64'),
        dataDir: join(workDir, 'data-notify'),
        smtpHost: '127.0.0.1',
        smtpPort: smtp.port,
        smtpRate: EMAIL_RATE,
        smsProviderUrl: sms.url,
        smsProviderKey: 'bench',
        smsRate: SMS_RATE,
      },
    });
    runtime = await startRuntime({ config, catalog: [identityModule, notifyModuleWith({ claimBatch: 500 })], listen: false });
    const caller = runtime.contextFor('notify', { kind: 'user', id: 'usr_bench', tenantId: 'in', roles: [], permissions: ['notify.*'] }, 'bench-notify');
    await caller.call('notify', 'upsertTemplate', { tenantId: 'in', code: 'bench.status', channel: 'sms', locale: 'en', body: 'Application {{applicationNo}} is {{status}}.' });
    await caller.call('notify', 'upsertTemplate', { tenantId: 'in', code: 'bench.status', channel: 'email', locale: 'en', subject: 'Application {{applicationNo}}', body: 'Application {{applicationNo}} is {{status}}.' });

    progress(`notify: ${SMS_COUNT} SMS, provider rate ${SMS_RATE}/s`);
    const smsRun = await run(caller, 'sms', SMS_COUNT, sms.times);
    progress(`notify: ${EMAIL_COUNT} e-mails, SMTP rate ${EMAIL_RATE}/s`);
    const emailRun = await run(caller, 'email', EMAIL_COUNT, smtp.times);
    return [
      row(`notifications queued (send, ${BATCH} recipients per call, ${CALLERS} callers)`, 'PGlite', smsRun.queued, 'msgs/s', { above: 1_000 }),
      row(`SMS delivered, first send call to last message at the provider`, 'PGlite', smsRun.endToEnd, 'msgs/s'),
      rateRow(`SMS delivered to the HTTP provider, first to last (configured ${SMS_RATE}/s)`, smsRun.delivered, SMS_RATE, smsRun.complete),
      row(`e-mails queued (send, ${BATCH} recipients per call, ${CALLERS} callers)`, 'PGlite', emailRun.queued, 'msgs/s', { above: 1_000 }),
      row(`e-mails delivered, first send call to last message at the server`, 'PGlite', emailRun.endToEnd, 'msgs/s'),
      rateRow(`e-mails delivered to the SMTP server, first to last (configured ${EMAIL_RATE}/s)`, emailRun.delivered, EMAIL_RATE, emailRun.complete),
    ];
  } finally {
    await runtime?.stop();
    await Promise.all([smtp.close(), sms.close()]);
  }
}

/** Delivery is judged against the provider's rate: at least 80 % of it, and not above it (+10 %: the first round's burst and timing). */
function rateRow(measure: string, value: number, rate: number, complete: boolean): Row {
  if (!complete) return note(measure, 'PGlite', `${fmt(value)} msgs/s (did not finish)`, 'FAIL', `${fmt(rate * 0.8)}–${fmt(rate * 1.1)} msgs/s`);
  const pass = value >= rate * 0.8 && value <= rate * 1.1;
  return note(measure, 'PGlite', `${fmt(value)} msgs/s`, pass ? 'pass' : 'MISS', `${fmt(rate * 0.8)}–${fmt(rate * 1.1)} msgs/s`);
}

/**
 * Queues `count` messages; `times` are the arrival times at the provider. *Delivered* is the
 * provider-side rate from the first arrival to the last (what the token bucket bounds);
 * *end to end* runs from the first send call, so it includes queueing and the job's pick-up.
 */
async function run(caller: OperationContext, channel: 'sms' | 'email', count: number, times: number[]): Promise<{ queued: number; delivered: number; endToEnd: number; complete: boolean }> {
  const before = times.length;
  const received = () => times.length;
  const calls = Math.ceil(count / BATCH);
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CALLERS }, async () => {
      while (next < calls) {
        const n = next++;
        const recipients = Array.from({ length: BATCH }, (_, i) => ({
          address: channel === 'sms' ? `+9190000${String(n * BATCH + i).padStart(5, '0')}` : `citizen${n * BATCH + i}@example.org`,
          values: { applicationNo: `B-${n}-${i}` },
        }));
        await caller.call('notify', 'send', { tenantId: 'in', channel, template: 'bench.status', values: { status: 'approved' }, recipients });
      }
    }),
  );
  const queuedMs = performance.now() - started;
  const deadline = performance.now() + (count / (channel === 'sms' ? SMS_RATE : EMAIL_RATE)) * 1000 * 2 + 30_000;
  while (received() - before < count && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const arrived = times.slice(before);
  const first = arrived[0] ?? started;
  const last = arrived[arrived.length - 1] ?? performance.now();
  return {
    queued: (count / queuedMs) * 1000,
    delivered: ((arrived.length - 1) / Math.max(1, last - first)) * 1000,
    endToEnd: (arrived.length / Math.max(1, last - started)) * 1000,
    complete: arrived.length >= count,
  };
}
