import { defineOperation, KernelErrors, newId, z, type OperationContext } from '../../kernel/index.js';
import { NotifyErrors } from './errors.js';
import { tenantCode } from './fallbacks.js';
import { MESSAGE_READ } from './messages.js';
import { MESSAGE_SEND, sendMessages } from './send.js';

/**
 * The GovStack Messaging building block's e-mail API (messaging-api.yaml 0.1.1) over notify, at
 * `/api/notify/v1/govstack/...`. Differences, all documented in README.md: callers authenticate
 * with a bearer token instead of `apiKey`; `requestUid` (a header in the spec) is a body or query
 * field; `tenantId` is optional and defaults to the caller's tenant.
 */
const email = z.email('a valid e-mail address').max(254);
const senderInfo = z
  .object({ organisationName: z.string().max(200), organisationRegNr: z.string().max(100), onBehalfOfName: z.string().max(200), onBehalfOfRegNr: z.string().max(100), email, replyTo: email, name: z.string().max(200) })
  .partial();
const recipientInfo = z.object({ email, emailCC: email.optional(), emailBCC: email.optional(), name: z.string().max(200).optional() });
const emailContent = z.object({
  encoding: z.string().regex(/^utf-?8$/i, 'only UTF-8').default('UTF-8'),
  title: z.string().min(1).max(500),
  content: z.string().min(1).max(100_000),
});
const accepted = z.object({ response: z.string(), requestUid: z.string() });
const GOVSTACK_STATUSES = ['scheduled', 'processing', 'deferred', 'bounced', 'notSent', 'delivered'] as const;

function tenantOf(ctx: OperationContext, tenantId: string | undefined): string {
  const tenant = tenantId ?? ctx.actor.tenantId;
  if (!tenant) throw KernelErrors.validation([{ path: 'body.tenantId', message: 'required for callers without a tenant' }]);
  return tenant;
}

async function sendEmails(ctx: OperationContext, tenantId: string, recipients: Array<z.output<typeof recipientInfo>>, content: z.output<typeof emailContent>) {
  const addresses = recipients.flatMap((r) => [r.email, r.emailCC, r.emailBCC].filter((a): a is string => !!a));
  const requestUid = newId('req');
  await sendMessages(ctx, { tenantId, channel: 'email', recipients: addresses.map((address) => ({ address })), values: {}, subject: content.title, body: content.content, mandatory: false }, requestUid);
  return { response: 'Request successfully accepted. Use "requestUid" to track its status.', requestUid };
}

export const govstackOperations = {
  govstackSendEmailSingle: defineOperation({
    summary: 'GovStack Messaging: send a single e-mail (sendSingleEmail)',
    permission: MESSAGE_SEND,
    http: { method: 'POST', path: '/govstack/send/email/single', status: 200 },
    input: z.object({ tenantId: tenantCode.optional(), callback: z.object({ URI: z.url() }).partial().optional(), senderInfo: senderInfo.optional(), recipientInfo, emailContent }),
    output: accepted,
    handler: (ctx, input) => sendEmails(ctx, tenantOf(ctx, input.tenantId), [input.recipientInfo], input.emailContent),
  }),

  govstackSendEmailBatch: defineOperation({
    summary: 'GovStack Messaging: send one e-mail to a batch of recipients given as base64 JSON (sendBatchEmail)',
    permission: MESSAGE_SEND,
    http: { method: 'POST', path: '/govstack/send/email/batch', status: 200 },
    input: z.object({
      tenantId: tenantCode.optional(),
      callbackURI: z.object({ URI: z.url() }).partial().optional(),
      senderInfo: senderInfo.optional(),
      recipientInfo: z.object({ batchEmailAsBase64: z.base64('base64 of a JSON array of { recipientInfo }').max(2_000_000) }),
      emailContent,
    }),
    output: accepted,
    async handler(ctx, input) {
      const at = 'body.recipientInfo.batchEmailAsBase64';
      let list: unknown;
      try {
        list = JSON.parse(Buffer.from(input.recipientInfo.batchEmailAsBase64, 'base64').toString('utf8'));
      } catch {
        throw NotifyErrors.batchInvalid(at, 'not base64 of JSON');
      }
      const parsed = z.array(z.object({ recipientInfo })).min(1).max(1000).safeParse(list);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        throw NotifyErrors.batchInvalid([at, ...issue.path.map(String)].join('.'), issue.message);
      }
      return sendEmails(ctx, tenantOf(ctx, input.tenantId), parsed.data.map((p) => p.recipientInfo), input.emailContent);
    },
  }),

  govstackEmailCallback: defineOperation({
    summary: 'GovStack Messaging: accept a client callback (replies, client-specific content) for a request (callbackEmail)',
    permission: MESSAGE_SEND,
    http: { method: 'POST', path: '/govstack/callback/email', status: 200 },
    input: z.object({ tenantId: tenantCode.optional(), requestUid: z.string().min(1).max(64), meta: z.string().max(2000).optional(), content: z.base64('base64').max(2_000_000).optional() }),
    output: z.object({ response: z.string() }),
    async handler(ctx, input) {
      const tenant = tenantOf(ctx, input.tenantId);
      const known = await ctx.db.selectFrom('messages').select('id').where('batch_id', '=', input.requestUid).where('tenant_id', '=', tenant).limit(1).executeTakeFirst();
      if (!known) throw NotifyErrors.requestNotFound();
      // Replies may hold personal data: sealed like message bodies.
      const content = input.content === undefined ? null : await ctx.crypto.encrypt(tenant, input.content);
      const id = newId('cbk');
      await ctx.transaction(async (tx) => {
        await tx.db.insertInto('govstack_callbacks').values({ id, tenant_id: tenant, request_uid: input.requestUid, meta: input.meta ?? null, content_enc: content }).execute();
        await tx.audit({ action: 'notify.govstack.callback', entityType: 'request', entityId: input.requestUid, tenantId: tenant, data: { callback: id } });
      });
      return { response: 'Request successfully accepted.' };
    },
  }),

  govstackEmailStatus: defineOperation({
    summary: 'GovStack Messaging: counts of a request’s e-mails by status (getEmailStatus)',
    description: 'queued → processing (deferred once an attempt failed), sent/delivered → delivered, failed → bounced, suppressed → notSent; scheduled is always 0 (no delayed sends).',
    permission: MESSAGE_READ,
    http: { method: 'GET', path: '/govstack/status/email' },
    input: z.object({
      tenantId: tenantCode.optional(),
      requestUid: z.string().min(1).max(64),
      status: z
        .string()
        .regex(new RegExp(`^(${GOVSTACK_STATUSES.join('|')})(,(${GOVSTACK_STATUSES.join('|')}))*$`), `comma-separated: ${GOVSTACK_STATUSES.join(', ')}`)
        .default(GOVSTACK_STATUSES.join(',')),
    }),
    output: z.object(Object.fromEntries(GOVSTACK_STATUSES.map((s) => [s, z.number().int().optional()])) as Record<(typeof GOVSTACK_STATUSES)[number], z.ZodOptional<z.ZodNumber>>),
    async handler(ctx, input) {
      const tenant = tenantOf(ctx, input.tenantId);
      const rows = await ctx.db
        .selectFrom('messages')
        .select(['status', (eb) => eb.fn.countAll<string>().as('n'), (eb) => eb.fn.sum<string>(eb.case().when('attempts', '>', 0).then(1).else(0).end()).as('tried')])
        .where('batch_id', '=', input.requestUid)
        .where((eb) => eb.or([eb('tenant_id', '=', tenant), eb('tenant_id', 'like', `${tenant}.%`)]))
        .groupBy('status')
        .execute();
      if (rows.length === 0) throw NotifyErrors.requestNotFound();
      const counts: Record<string, number> = { scheduled: 0, processing: 0, deferred: 0, bounced: 0, notSent: 0, delivered: 0 };
      for (const r of rows) {
        const n = Number(r.n);
        if (r.status === 'queued') {
          counts.deferred! += Number(r.tried ?? 0);
          counts.processing! += n - Number(r.tried ?? 0);
        } else if (r.status === 'failed') counts.bounced! += n;
        else if (r.status === 'suppressed') counts.notSent! += n;
        else counts.delivered! += n;
      }
      return Object.fromEntries(input.status.split(',').map((s) => [s, counts[s]!]));
    },
  }),
};
