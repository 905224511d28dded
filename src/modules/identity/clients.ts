import { randomBytes } from 'node:crypto';
import { can, defineOperation, newId, z, type Actor, type OperationContext } from '../../kernel/index.js';
import { signAccessToken } from './access-tokens.js';
import { IdentityErrors, OAuthErrors, SecondFactorErrors } from './errors.js';
import { hashPassword, verifyAgainstDummy, verifyPassword } from './passwords.js';
import { findRoleFor, ROLE_CODE } from './roles.js';
import { activeSigningKey } from './signing-keys.js';
import { tenantCode, tenantExists } from './tenants.js';
import { ACCESS_TOKEN_SECONDS } from './token-settings.js';

/**
 * System clients: other systems that call Seva as themselves (the OAuth client_credentials
 * grant). A client belongs to a tenant and holds roles of that tenant (or above); its access
 * token's `sub` is the client id (`cli_...`) and it acts as a user-kind actor with those roles.
 */
const clientOut = z.object({
  client_id: z.string(),
  client_secret: z.string(),
  tenantId: z.string(),
  name: z.string(),
  roles: z.array(z.string()),
});

export const clientOperations = {
  createClient: defineOperation({
    summary: 'Register a system client; its secret is returned only this once',
    permission: 'identity.client.create',
    http: { method: 'POST', path: '/clients' },
    input: z.object({
      tenantId: tenantCode,
      name: z.string().trim().min(1).max(200),
      roles: z.array(z.string().regex(ROLE_CODE, 'a role code such as ADMIN')).max(50).default([]),
    }),
    output: clientOut,
    async handler(ctx, input) {
      if (!(await tenantExists(ctx, input.tenantId))) throw IdentityErrors.tenantNotFound('body.tenantId');
      const roleIds: string[] = [];
      for (const [index, code] of input.roles.entries()) {
        const role = await findRoleFor(ctx, code, input.tenantId);
        if (!role) throw IdentityErrors.roleNotFound(index, code);
        roleIds.push(role.id);
      }
      const id = newId('cli');
      const secret = randomBytes(32).toString('base64url');
      const secretHash = await hashPassword(secret);
      await ctx.transaction(async (tx) => {
        await tx.db.insertInto('clients').values({ id, tenant_id: input.tenantId, name: input.name, secret_hash: secretHash }).execute();
        for (const roleId of new Set(roleIds)) await tx.db.insertInto('client_roles').values({ client_id: id, role_id: roleId }).execute();
        await tx.audit({ action: 'identity.client.created', entityType: 'client', entityId: id, tenantId: input.tenantId, data: { name: input.name, roles: input.roles } });
      });
      return { client_id: id, client_secret: secret, tenantId: input.tenantId, name: input.name, roles: input.roles };
    },
  }),
};

export const clientCredentialsInput = z.object({
  grant_type: z.literal('client_credentials'),
  client_id: z.string().min(1).max(100),
  client_secret: z.string().min(1).max(200),
  scope: z.string().max(2000).optional(),
});

/** Client credentials from an HTTP Basic header (RFC 6749 §2.3.1), merged over the body's. */
export function withBasicCredentials(body: Record<string, unknown>, authorization: string | undefined): Record<string, unknown> {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(authorization ?? '');
  if (!match) return body;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return body;
  try {
    return { ...body, client_id: decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, ' ')), client_secret: decodeURIComponent(decoded.slice(colon + 1).replace(/\+/g, ' ')) };
  } catch {
    return body;
  }
}

/** The client_credentials grant: an access token for the client itself, no refresh token. */
export async function clientCredentialsGrant(ctx: OperationContext, input: z.output<typeof clientCredentialsInput>) {
  const key = await activeSigningKey(ctx);
  const client = await ctx.db
    .selectFrom('clients')
    .innerJoin('tenants', 'tenants.code', 'clients.tenant_id')
    .select(['clients.id as id', 'clients.tenant_id as tenant_id', 'clients.secret_hash as secret_hash', 'clients.status as status', 'tenants.status as tenant_status'])
    .where('clients.id', '=', input.client_id)
    .executeTakeFirst();
  if (!client) {
    await verifyAgainstDummy(input.client_secret);
    throw SecondFactorErrors.invalidClient();
  }
  const matches = await verifyPassword(String(client.secret_hash), input.client_secret);
  if (!matches || client.status !== 'active' || client.tenant_status !== 'active') {
    await ctx.transaction((tx) => tx.audit({ action: 'identity.client.auth_failed', entityType: 'client', entityId: String(client.id), tenantId: String(client.tenant_id) }));
    throw SecondFactorErrors.invalidClient();
  }
  const rows = await ctx.db
    .selectFrom('client_roles')
    .innerJoin('roles', 'roles.id', 'client_roles.role_id')
    .select(['roles.code as code', 'roles.permissions as permissions'])
    .where('client_roles.client_id', '=', String(client.id))
    .orderBy('roles.code')
    .execute();
  const roles = [...new Set(rows.map((r) => String(r.code)))];
  let perms = [...new Set(rows.flatMap((r) => (typeof r.permissions === 'string' ? JSON.parse(r.permissions) : r.permissions) as string[]))];
  const scope = input.scope?.trim() || null;
  if (scope) {
    const holder: Actor = { kind: 'user', id: String(client.id), roles: [], permissions: perms };
    const asked = scope.split(' ').filter(Boolean);
    if (asked.some((s) => !can(holder, s))) throw OAuthErrors.invalidRequest('The scope asks for permissions the client does not hold', [{ path: 'body.scope', message: 'not held by the client' }]);
    perms = [...new Set(asked)];
  }
  const access = await signAccessToken(key, { id: String(client.id), tenantId: String(client.tenant_id) }, { roles, perms: perms.sort() });
  await ctx.transaction((tx) =>
    tx.audit({ action: 'identity.client.token_issued', entityType: 'client', entityId: String(client.id), tenantId: String(client.tenant_id), data: { grant: 'client_credentials', roles, ...(scope ? { scope } : {}) } }),
  );
  return { access_token: access, token_type: 'Bearer' as const, expires_in: ACCESS_TOKEN_SECONDS, ...(scope ? { scope } : {}) };
}
