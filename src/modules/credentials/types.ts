import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { templateVariables, TemplateSyntaxError, type FieldProblem, type OperationContext } from '../../kernel/index.js';
import { CredentialErrors } from './errors.js';
import type { Cryptosuite } from './signing.js';

// ajv-formats is CommonJS with a default export; NodeNext sees the module object.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv2020) => void;
const ajv = new Ajv2020({ allErrors: true, strict: true, logger: false });
addFormats(ajv);

/**
 * Credential types are data: a claims schema (JSON Schema 2020-12, strict: a typo in a keyword is
 * refused), the VC `type` term, and a validity period in days (none: valid until revoked).
 */
export interface CredentialType {
  tenantId: string;
  code: string;
  name: string;
  vcType: string;
  claimsSchema: Record<string, unknown>;
  validityDays: number | null;
  /** The proof's cryptosuite: `eddsa-jcs-2022` (default) or `eddsa-rdfc-2022`. */
  cryptosuite: Cryptosuite;
  /** How a certificate of this type looks, per locale (BCP 47): see `display.ts`. */
  display: Record<string, DisplayTemplate>;
  version: number;
}

/** The printed face of a credential in one locale: texts with `{{claim}}` placeholders. */
export interface DisplayTemplate {
  title: string;
  subtitle?: string | undefined;
  fields: Array<{ label: string; value: string }>;
  footer?: string | undefined;
}

/** Placeholders a display template may use besides the claims. */
export const DISPLAY_EXTRAS = ['validFrom', 'validUntil', 'issuedOn', 'credentialId', 'issuer'] as const;

/** Every placeholder of every template must be a claim of the schema or one of DISPLAY_EXTRAS. */
export function checkDisplay(schema: Record<string, unknown>, display: Record<string, DisplayTemplate>): void {
  const known = new Set<string>([...Object.keys((schema.properties as Record<string, unknown> | undefined) ?? {}), ...DISPLAY_EXTRAS]);
  const problems: FieldProblem[] = [];
  for (const [locale, template] of Object.entries(display)) {
    const texts: Array<[string, string | undefined]> = [
      ['title', template.title],
      ['subtitle', template.subtitle],
      ['footer', template.footer],
      ...template.fields.flatMap((f, i): Array<[string, string]> => [
        [`fields.${i}.label`, f.label],
        [`fields.${i}.value`, f.value],
      ]),
    ];
    for (const [path, text] of texts) {
      if (text === undefined) continue;
      try {
        for (const name of templateVariables(text)) {
          if (!known.has(name)) problems.push({ path: `body.display.${locale}.${path}`, message: `{{${name}}} is not a claim of the type` });
        }
      } catch (err) {
        if (!(err instanceof TemplateSyntaxError)) throw err;
        problems.push({ path: `body.display.${locale}.${path}`, message: err.message });
      }
    }
  }
  if (problems.length > 0) throw CredentialErrors.displayInvalid(problems);
}

const compiled = new Map<string, ValidateFunction>();

function compile(schema: Record<string, unknown>): ValidateFunction {
  const { $id: _id, ...rest } = schema;
  try {
    return ajv.compile(rest);
  } catch (err) {
    throw CredentialErrors.typeSchemaInvalid((err as Error).message);
  }
}

export function checkClaimsSchema(schema: Record<string, unknown>): void {
  if (schema.type !== 'object') throw CredentialErrors.typeSchemaInvalid('the root must be "type": "object" (claims are an object)');
  compile(schema);
}

function problems(errors: readonly ErrorObject[] | null | undefined, prefix: string): FieldProblem[] {
  return (errors ?? []).map((e) => {
    const parts = e.instancePath.split('/').slice(1);
    if (e.keyword === 'required') parts.push(String((e.params as { missingProperty: string }).missingProperty));
    if (e.keyword === 'additionalProperties') parts.push(String((e.params as { additionalProperty: string }).additionalProperty));
    return { path: [prefix, ...parts].join('.'), message: e.message ?? 'is not valid' };
  });
}

export function checkClaims(type: CredentialType, claims: Record<string, unknown>): void {
  const key = `${type.tenantId}:${type.code}:${type.version}`;
  let validate = compiled.get(key);
  if (!validate) {
    validate = compile(type.claimsSchema);
    compiled.set(key, validate);
  }
  if (!validate(claims)) throw CredentialErrors.claimsInvalid(problems(validate.errors, 'body.claims'));
}

function rowToType(r: Record<string, unknown>): CredentialType {
  return {
    tenantId: String(r.tenant_id),
    code: String(r.code),
    name: String(r.name),
    vcType: String(r.vc_type),
    claimsSchema: (typeof r.claims_schema === 'string' ? JSON.parse(r.claims_schema) : r.claims_schema) as Record<string, unknown>,
    validityDays: r.validity_days === null ? null : Number(r.validity_days),
    cryptosuite: (r.cryptosuite ?? 'eddsa-jcs-2022') as Cryptosuite,
    display: (typeof r.display === 'string' ? JSON.parse(r.display) : (r.display ?? {})) as Record<string, DisplayTemplate>,
    version: Number(r.version),
  };
}

export async function createType(ctx: OperationContext, input: Omit<CredentialType, 'version'>): Promise<CredentialType> {
  checkClaimsSchema(input.claimsSchema);
  checkDisplay(input.claimsSchema, input.display);
  return ctx.transaction(async (tx) => {
    const inserted = await tx.db
      .insertInto('credential_types')
      .values({
        tenant_id: input.tenantId,
        code: input.code,
        name: input.name,
        vc_type: input.vcType,
        claims_schema: JSON.stringify(input.claimsSchema),
        validity_days: input.validityDays,
        cryptosuite: input.cryptosuite,
        display: JSON.stringify(input.display),
      })
      .onConflict((oc) => oc.columns(['tenant_id', 'code']).doNothing())
      .returningAll()
      .executeTakeFirst();
    if (!inserted) throw CredentialErrors.typeExists(input.code);
    await tx.audit({ action: 'credentials.type.created', entityType: 'credential_type', entityId: input.code, tenantId: input.tenantId, data: { vcType: input.vcType, cryptosuite: input.cryptosuite, locales: Object.keys(input.display) } });
    await tx.emit({ name: 'credentials.type.created', tenantId: input.tenantId, payload: { tenantId: input.tenantId, code: input.code } });
    return rowToType(inserted);
  });
}

export async function findType(ctx: OperationContext, tenantId: string, code: string): Promise<CredentialType | undefined> {
  const row = await ctx.db.selectFrom('credential_types').selectAll().where('tenant_id', '=', tenantId).where('code', '=', code).executeTakeFirst();
  return row ? rowToType(row) : undefined;
}

export async function listTypes(ctx: OperationContext, tenantId: string): Promise<CredentialType[]> {
  const rows = await ctx.db.selectFrom('credential_types').selectAll().where('tenant_id', '=', tenantId).orderBy('code').execute();
  return rows.map(rowToType);
}

/** Replaces a type's display templates (all locales at once); audited, the type's version goes up. */
export async function setDisplay(ctx: OperationContext, input: { tenantId: string; code: string; display: Record<string, DisplayTemplate> }): Promise<CredentialType> {
  const type = await findType(ctx, input.tenantId, input.code);
  if (!type) throw CredentialErrors.credentialTypeMissing();
  checkDisplay(type.claimsSchema, input.display);
  return ctx.transaction(async (tx) => {
    const updated = await tx.db
      .updateTable('credential_types')
      .set((eb) => ({ display: JSON.stringify(input.display), version: eb('version', '+', 1) }))
      .where('tenant_id', '=', input.tenantId)
      .where('code', '=', input.code)
      .returningAll()
      .executeTakeFirstOrThrow();
    await tx.audit({ action: 'credentials.type.display_changed', entityType: 'credential_type', entityId: input.code, tenantId: input.tenantId, data: { locales: Object.keys(input.display) } });
    await tx.emit({ name: 'credentials.type.updated', tenantId: input.tenantId, payload: { tenantId: input.tenantId, code: input.code, version: Number(updated.version) } });
    return rowToType(updated);
  });
}
