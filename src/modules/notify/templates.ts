import { defineOperation, newId, renderTemplate, templateVariables, TemplateSyntaxError, TemplateVariablesMissing, z, type OperationContext } from '../../kernel/index.js';
import { category, channel, templateCode, type Channel } from './channels.js';
import { NotifyErrors } from './errors.js';
import { localeChain, localeTag, tenantChain, tenantCode } from './fallbacks.js';
import { smsEncoding, type SmsEncoding } from './sms-encoding.js';

export const TEMPLATE_MANAGE = 'notify.template.manage';
export const TEMPLATE_READ = 'notify.template.read';

interface TemplateRow {
  id: string;
  tenant_id: string;
  code: string;
  channel: Channel;
  locale: string;
  subject: string | null;
  body: string;
  html: string | null;
  category: string;
  version: number;
  updated_at: Date | string;
}

export interface Rendered {
  template: string;
  tenantId: string;
  locale: string;
  category: string;
  subject: string | null;
  body: string;
  html: string | null;
  sms: SmsEncoding | null;
}

/**
 * The template `tenant` sees for `code` and `channel` in `locale`: the nearest locale of
 * `hi-IN` → `hi` → `en` that has one, and within that locale the nearest tenant (city → state →
 * country), as reference resolves messages: any text in the asked language beats the default one.
 */
export async function resolveTemplate(ctx: OperationContext, tenant: string, code: string, ch: Channel, locale: string): Promise<TemplateRow | undefined> {
  const tenants = tenantChain(tenant);
  const locales = localeChain(locale);
  const rows = (await ctx.db.selectFrom('templates').selectAll().where('code', '=', code).where('channel', '=', ch).where('tenant_id', 'in', tenants).where('locale', 'in', locales).execute()) as TemplateRow[];
  const rank = (r: TemplateRow) => locales.indexOf(r.locale) * 100 + tenants.indexOf(r.tenant_id);
  return rows.sort((a, b) => rank(a) - rank(b))[0];
}

/** Fills a resolved template; a missing variable is a 422 naming each one under `valuesPath`. */
export function fill(row: TemplateRow, values: Record<string, unknown>, valuesPath: string): Rendered {
  try {
    const body = renderTemplate(row.body, values);
    return {
      template: row.code,
      tenantId: row.tenant_id,
      locale: row.locale,
      category: row.category,
      subject: row.subject === null ? null : renderTemplate(row.subject, values),
      body,
      // The HTML part escapes every value: a name like <script> arrives as text.
      html: row.html === null ? null : renderTemplate(row.html, values, 'html'),
      sms: row.channel === 'sms' ? smsEncoding(body) : null,
    };
  } catch (err) {
    if (err instanceof TemplateVariablesMissing) throw NotifyErrors.variablesMissing(err.missing, valuesPath);
    throw err;
  }
}

export async function renderFor(
  ctx: OperationContext,
  input: { tenant: string; code: string; channel: Channel; locale: string; values: Record<string, unknown> },
  paths: { template: string; values: string },
): Promise<Rendered> {
  const row = await resolveTemplate(ctx, input.tenant, input.code, input.channel, input.locale);
  if (!row) throw NotifyErrors.templateNotFound(input.code, input.channel, paths.template);
  return fill(row, input.values, paths.values);
}

function checkSyntax(field: string, text: string | undefined | null): void {
  if (text === undefined || text === null) return;
  try {
    templateVariables(text);
  } catch (err) {
    if (err instanceof TemplateSyntaxError) throw NotifyErrors.templateInvalid(`body.${field}`, err.message);
    throw err;
  }
}

const templateOut = z.object({
  id: z.string(),
  tenantId: z.string(),
  code: z.string(),
  channel,
  locale: z.string(),
  subject: z.string().nullable(),
  body: z.string(),
  html: z.string().nullable(),
  category: z.string(),
  variables: z.array(z.string()),
  version: z.number().int(),
  updatedAt: z.string(),
});

function templateView(r: TemplateRow): z.input<typeof templateOut> {
  const variables = [...new Set([...templateVariables(r.subject ?? ''), ...templateVariables(r.body), ...templateVariables(r.html ?? '')])];
  return { id: r.id, tenantId: r.tenant_id, code: r.code, channel: r.channel, locale: r.locale, subject: r.subject, body: r.body, html: r.html, category: r.category, variables, version: Number(r.version), updatedAt: new Date(r.updated_at).toISOString() };
}

const smsOut = z.object({ encoding: z.enum(['GSM-7', 'UCS-2']), units: z.number().int(), segments: z.number().int(), perSegment: z.number().int() });

export const templateOperations = {
  upsertTemplate: defineOperation({
    summary: 'Create or change the template of an event code for one channel, locale and tenant',
    description: 'Placeholders are `{{name}}` or `{{applicant.name}}`; the e-mail HTML part escapes every value. E-mail needs a subject.',
    permission: TEMPLATE_MANAGE,
    http: { method: 'PUT', path: '/templates', status: 200 },
    input: z.object({
      tenantId: tenantCode,
      code: templateCode,
      channel,
      locale: localeTag,
      subject: z.string().min(1).max(500).optional(),
      body: z.string().min(1).max(20_000),
      html: z.string().min(1).max(100_000).optional(),
      category: category.default('general'),
    }),
    output: templateOut,
    async handler(ctx, input) {
      if (input.channel === 'email' && !input.subject) throw NotifyErrors.templateInvalid('body.subject', 'an e-mail template needs a subject');
      if (input.channel !== 'email' && input.html) throw NotifyErrors.templateInvalid('body.html', 'only e-mail templates have an HTML part');
      checkSyntax('subject', input.subject);
      checkSyntax('body', input.body);
      checkSyntax('html', input.html);
      return ctx.transaction(async (tx) => {
        const values = { subject: input.subject ?? null, body: input.body, html: input.html ?? null, category: input.category };
        const row = (await tx.db
          .insertInto('templates')
          .values({ id: newId('tpl'), tenant_id: input.tenantId, code: input.code, channel: input.channel, locale: input.locale, ...values })
          .onConflict((oc) => oc.columns(['tenant_id', 'code', 'channel', 'locale']).doUpdateSet((eb) => ({ ...values, version: eb('templates.version', '+', 1), updated_at: new Date() })))
          .returningAll()
          .executeTakeFirstOrThrow()) as TemplateRow;
        await tx.audit({ action: 'notify.template.saved', entityType: 'template', entityId: row.id, tenantId: input.tenantId, data: { code: input.code, channel: input.channel, locale: input.locale, version: row.version } });
        return templateView(row);
      });
    },
  }),

  deleteTemplate: defineOperation({
    summary: 'Delete a tenant’s template for one channel and locale (a parent tenant’s or locale’s shows through)',
    permission: TEMPLATE_MANAGE,
    http: { method: 'DELETE', path: '/templates' },
    input: z.object({ tenantId: tenantCode, code: templateCode, channel, locale: localeTag }),
    output: z.object({ deleted: z.literal(true) }),
    async handler(ctx, input) {
      return ctx.transaction(async (tx) => {
        const row = await tx.db
          .deleteFrom('templates')
          .where('tenant_id', '=', input.tenantId)
          .where('code', '=', input.code)
          .where('channel', '=', input.channel)
          .where('locale', '=', input.locale)
          .returning('id')
          .executeTakeFirst();
        if (!row) throw NotifyErrors.templateNotFound(input.code, input.channel, 'query.code');
        await tx.audit({ action: 'notify.template.deleted', entityType: 'template', entityId: row.id, tenantId: input.tenantId, data: { code: input.code, channel: input.channel, locale: input.locale } });
        return { deleted: true as const };
      });
    },
  }),

  listTemplates: defineOperation({
    summary: 'A tenant’s own templates (for editing), optionally of one code',
    permission: TEMPLATE_READ,
    http: { method: 'GET', path: '/templates' },
    readsInherited: true,
    input: z.object({ tenant: tenantCode, code: templateCode.optional() }),
    output: z.object({ items: z.array(templateOut) }),
    async handler(ctx, input) {
      let query = ctx.db.selectFrom('templates').selectAll().where('tenant_id', '=', input.tenant).orderBy('code').orderBy('channel').orderBy('locale');
      if (input.code) query = query.where('code', '=', input.code);
      return { items: ((await query.execute()) as TemplateRow[]).map(templateView) };
    },
  }),

  renderTemplate: defineOperation({
    summary: 'Render a template as a tenant and locale would get it, with the SMS encoding and segment count',
    permission: TEMPLATE_READ,
    http: { method: 'POST', path: '/templates/render', status: 200 },
    readsInherited: true,
    input: z.object({ tenant: tenantCode, code: templateCode, channel, locale: localeTag, values: z.record(z.string(), z.unknown()).default({}) }),
    output: z.object({
      template: z.string(),
      tenantId: z.string().describe('the tenant whose template was used'),
      locale: z.string().describe('the locale whose template was used'),
      category: z.string(),
      subject: z.string().nullable(),
      body: z.string(),
      html: z.string().nullable(),
      sms: smsOut.nullable(),
    }),
    handler: (ctx, input) => renderFor(ctx, { tenant: input.tenant, code: input.code, channel: input.channel, locale: input.locale, values: input.values }, { template: 'body.code', values: 'body.values' }),
  }),
};
