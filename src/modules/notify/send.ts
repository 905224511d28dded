import { defineOperation, newId, z, type OperationContext } from '../../kernel/index.js';
import { addressProblem, category, channel, templateCode, type Channel } from './channels.js';
import { addressOf, findContacts } from './contacts.js';
import { NotifyErrors } from './errors.js';
import { DEFAULT_LOCALE, localeTag, tenantCode } from './fallbacks.js';
import { queueMessages, type Draft } from './queue.js';
import { smsEncoding } from './sms-encoding.js';
import { fill, resolveTemplate } from './templates.js';

export const MESSAGE_SEND = 'notify.message.send';

const values = z.record(z.string(), z.unknown());

const sendInput = z.object({
  tenantId: tenantCode,
  channel,
  recipients: z
    .array(
      z.object({
        userId: z.string().min(1).max(64).optional(),
        address: z.string().min(1).max(254).optional().describe('e-mail address or mobile number; looked up from the user when absent'),
        locale: localeTag.optional(),
        values: values.optional().describe('merged over the shared values for this recipient'),
        dedupeKey: z.string().min(1).max(200).optional().describe('a second send with the same key (per tenant) is dropped'),
      }),
    )
    .min(1)
    .max(1000),
  template: templateCode.optional(),
  locale: localeTag.optional().describe(`the locale for recipients without one (default ${DEFAULT_LOCALE})`),
  values: values.default({}),
  subject: z.string().min(1).max(500).optional().describe('without a template: the e-mail subject or in-app title'),
  body: z.string().min(1).max(20_000).optional().describe('without a template: the text as it is'),
  category: category.optional().describe('the template’s category by default, else general'),
  mandatory: z.boolean().default(false).describe('sent even to recipients who opted out (sign-in codes, legal notices)'),
});

const queuedOut = z.object({
  id: z.string(),
  channel,
  status: z.enum(['queued', 'sent', 'delivered', 'failed', 'suppressed']),
  deduplicated: z.boolean(),
  encoding: z.enum(['GSM-7', 'UCS-2']).nullable(),
  segments: z.number().int().nullable(),
});
export const sendOut = z.object({ requestUid: z.string(), messages: z.array(queuedOut) });

type SendInput = z.output<typeof sendInput>;

/** Renders and queues one message per recipient; used by the REST route and the GovStack adapter. */
export async function sendMessages(ctx: OperationContext, input: SendInput, batchId = newId('req')): Promise<z.input<typeof sendOut>> {
  if ((input.template === undefined) === (input.body === undefined)) throw NotifyErrors.templateInvalid('body.template', 'give exactly one of template and body');
  const ch: Channel = input.channel;
  if (ch === 'email' && input.body !== undefined && !input.subject) throw NotifyErrors.templateInvalid('body.subject', 'an e-mail needs a subject');
  const needLookup = input.recipients.filter((r) => r.address === undefined || ch === 'inapp');
  input.recipients.forEach((r, i) => {
    if (r.userId === undefined && (r.address === undefined || ch === 'inapp')) {
      throw NotifyErrors.recipientInvalid(`body.recipients.${i}.userId`, ch === 'inapp' ? 'in-app messages go to a userId' : 'give a userId or an address');
    }
    const problem = r.address !== undefined ? addressProblem(ch, r.address) : undefined;
    if (problem) throw NotifyErrors.recipientInvalid(`body.recipients.${i}.address`, problem);
  });
  const ids = [...new Set(needLookup.map((r) => r.userId!))];
  const contacts = new Map(ids.length > 0 ? (await findContacts(ctx, { tenant: input.tenantId, userIds: ids })).map((c) => [c.id, c]) : []);
  const templates = new Map<string, Awaited<ReturnType<typeof resolveTemplate>>>();
  const drafts: Draft[] = [];
  for (const [i, r] of input.recipients.entries()) {
    const contact = r.userId ? contacts.get(r.userId) : undefined;
    const address = ch === 'inapp' ? r.userId : (r.address ?? (contact ? addressOf(contact, ch) : undefined));
    if (!address) throw NotifyErrors.recipientInvalid(`body.recipients.${i}.userId`, contact || ch === 'inapp' ? `the user has no ${ch} address` : 'no such user in the tenant');
    const locale = r.locale ?? contact?.locale ?? input.locale ?? DEFAULT_LOCALE;
    let rendered;
    if (input.template !== undefined) {
      const key = `${locale}`;
      if (!templates.has(key)) templates.set(key, await resolveTemplate(ctx, input.tenantId, input.template, ch, locale));
      const row = templates.get(key);
      if (!row) throw NotifyErrors.templateNotFound(input.template, ch);
      rendered = fill(row, { ...input.values, ...r.values }, r.values ? `body.recipients.${i}.values` : 'body.values');
    } else {
      rendered = { template: null, locale, category: 'general', subject: input.subject ?? null, body: input.body!, html: null, sms: ch === 'sms' ? smsEncoding(input.body!) : null };
    }
    drafts.push({
      tenantId: input.tenantId,
      channel: ch,
      userId: r.userId ?? null,
      recipient: address,
      locale: rendered.locale,
      template: rendered.template,
      category: input.category ?? rendered.category,
      mandatory: input.mandatory,
      subject: rendered.subject,
      body: rendered.body,
      html: rendered.html,
      sms: rendered.sms,
      dedupeKey: r.dedupeKey ? `key:${input.tenantId}:${r.dedupeKey}` : undefined,
      batchId,
    });
  }
  const queued = await queueMessages(ctx, drafts, { action: 'notify.messages.queued', entityType: 'request', entityId: batchId, tenantId: input.tenantId, data: { channel: ch, template: input.template ?? null } });
  return {
    requestUid: batchId,
    messages: queued.map((q, i) => ({ ...q, encoding: drafts[i]!.sms?.encoding ?? null, segments: drafts[i]!.sms?.segments ?? null })),
  };
}

export const sendOperations = {
  send: defineOperation({
    summary: 'Send a message to up to 1000 recipients on one channel, from a template or as given',
    description:
      'Each recipient is a userId (the address comes from identity; needs identity.contact.read too) or an address. Messages are queued and delivered by the job queue; the answer lists each message with its status.',
    permission: MESSAGE_SEND,
    http: { method: 'POST', path: '/messages', status: 202 },
    input: sendInput,
    output: sendOut,
    handler: (ctx, input) => sendMessages(ctx, input),
  }),
};
