import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { newId, systemActor, z, zodProblems, KernelErrors, type ModuleRuntime, type OperationContext } from '../../kernel/index.js';
import { NotifyErrors } from './errors.js';
import type { ResolvedOptions } from './options.js';

export const RECEIPTS_PATH = '/api/notify/v1/sms/receipts';

/**
 * A delivery receipt from the SMS provider. The provider signs `<timestamp>.<raw body>` with
 * HMAC-SHA256 under SEVA_SMS_WEBHOOK_SECRET and sends `x-seva-timestamp` (Unix seconds) and
 * `x-seva-signature: sha256=<hex>`. A timestamp outside the tolerance, or a signature seen
 * before, is refused: a captured receipt cannot be played again.
 */
export const receiptBody = z.object({
  id: z.string().min(1).max(200).describe('the provider’s message id, as it answered the send'),
  status: z.enum(['delivered', 'failed', 'undelivered']),
  error: z.string().max(500).optional(),
});

export function sign(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

function verify(secret: string, timestamp: unknown, signature: unknown, body: string, toleranceSeconds: number, now: number): string {
  if (typeof timestamp !== 'string' || !/^[0-9]{1,12}$/.test(timestamp)) throw NotifyErrors.receiptUnauthenticated('x-seva-timestamp is missing or not Unix seconds');
  if (typeof signature !== 'string') throw NotifyErrors.receiptUnauthenticated('x-seva-signature is missing');
  const expected = Buffer.from(sign(secret, timestamp, body));
  const given = Buffer.from(signature);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) throw NotifyErrors.receiptUnauthenticated('the signature does not match');
  if (Math.abs(now / 1000 - Number(timestamp)) > toleranceSeconds) throw NotifyErrors.receiptUnauthenticated('the timestamp is too old or in the future');
  return signature;
}

/** Applies a verified receipt once: the signature is recorded with the status change, atomically. */
export async function applyReceipt(ctx: OperationContext, signature: string, receipt: z.output<typeof receiptBody>): Promise<{ id: string; status: string }> {
  return ctx.transaction(async (tx) => {
    const fresh = await tx.db.insertInto('receipts').values({ signature, provider_message_id: receipt.id }).onConflict((oc) => oc.column('signature').doNothing()).returning('signature').executeTakeFirst();
    if (!fresh) throw NotifyErrors.receiptReplayed();
    const message = await tx.db.selectFrom('messages').select(['id', 'tenant_id', 'status']).where('provider', '=', 'sms-http').where('provider_message_id', '=', receipt.id).forUpdate().executeTakeFirst();
    // Unknown id: the transaction rolls back, so the provider may send the receipt again later.
    if (!message) throw NotifyErrors.messageNotFound();
    const now = new Date();
    const changes =
      receipt.status === 'delivered'
        ? { status: 'delivered', delivered_at: now, updated_at: now }
        : { status: 'failed', failed_at: now, last_error: `provider: ${receipt.status}${receipt.error ? ` (${receipt.error.slice(0, 200)})` : ''}`, updated_at: now };
    await tx.db.updateTable('messages').set(changes).where('id', '=', message.id).execute();
    await tx.audit({ action: 'notify.message.receipt', entityType: 'message', entityId: message.id, tenantId: message.tenant_id, data: { from: message.status, to: changes.status, receipt: newId('rcp') } });
    if (changes.status === 'failed') await tx.emit({ name: 'notify.message.failed', tenantId: message.tenant_id, payload: { messageId: message.id, provider: 'sms-http', error: changes.last_error } });
    return { id: message.id, status: changes.status };
  });
}

export function receiptRoute(options: ResolvedOptions, clock: () => number = Date.now) {
  return async (app: FastifyInstance, runtime: ModuleRuntime): Promise<void> => {
    // Its own plugin scope: only this route reads JSON as raw text (the signature covers the bytes).
    await app.register(async (scope) => {
      scope.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => done(null, body));
      scope.post(
        RECEIPTS_PATH,
        {
          schema: {
            operationId: 'notify.smsReceipt',
            summary: 'Delivery receipt from the SMS provider (HMAC-signed; replays refused)',
            tags: ['notify'],
            description: 'Body: `{ id, status: delivered|failed|undelivered, error? }`; headers `x-seva-timestamp` (Unix seconds) and `x-seva-signature: sha256=<hex HMAC of "<timestamp>.<raw body>">`.',
            headers: z.object({ 'x-seva-timestamp': z.string().optional(), 'x-seva-signature': z.string().optional() }),
            response: { 200: z.object({ id: z.string(), status: z.string() }) },
          },
        },
        async (request, reply) => {
          const ctx = runtime.context(systemActor('notify.receipts'), request.id);
          const secret = ctx.config.smsWebhookSecret;
          if (!secret) throw NotifyErrors.receiptsDisabled();
          const raw = typeof request.body === 'string' ? request.body : '';
          const signature = verify(secret, request.headers['x-seva-timestamp'], request.headers['x-seva-signature'], raw, options.receiptToleranceSeconds, clock());
          let json: unknown;
          try {
            json = JSON.parse(raw);
          } catch {
            throw KernelErrors.validation([{ path: 'body', message: 'not JSON' }]);
          }
          const parsed = receiptBody.safeParse(json);
          if (!parsed.success) throw KernelErrors.validation(zodProblems(parsed.error.issues, 'body'));
          return reply.send(await applyReceipt(ctx, signature, parsed.data));
        },
      );
    });
  };
}
