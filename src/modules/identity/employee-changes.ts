import { defineOperation, KernelErrors, SevaError, z, type OperationContext, type TxContext } from '../../kernel/index.js';
import { locale } from './citizens.js';
import { employeeOut, MOBILE, readEmployee } from './employees.js';
import { IdentityErrors } from './errors.js';
import { hashPassword, passwordProblem, verifyPassword } from './passwords.js';
import { normaliseEmail } from './pii.js';
import { employeeTenant } from './staff.js';

/** Ends every open session of a user: their refresh tokens stop working at once. */
async function revokeSessions(tx: TxContext, userId: string): Promise<number> {
  const revoked = await tx.db.updateTable('refresh_tokens').set({ status: 'revoked' }).where('user_id', '=', userId).where('status', '=', 'active').executeTakeFirst();
  return Number(revoked.numUpdatedRows);
}

async function setPassword(ctx: OperationContext, userId: string, tenantId: string, password: string, action: string, data: Record<string, unknown>): Promise<{ sessionsRevoked: number }> {
  const passwordHash = await hashPassword(password);
  return ctx.transaction(async (tx) => {
    await tx.db
      .updateTable('users')
      .set((eb) => ({ password_hash: passwordHash, failed_logins: 0, locked_until: null, version: eb('version', '+', 1), updated_at: new Date() }))
      .where('id', '=', userId)
      .execute();
    const sessions = await revokeSessions(tx, userId);
    await tx.audit({ action, entityType: 'user', entityId: userId, tenantId, data: { ...data, sessionsRevoked: sessions } });
    return { sessionsRevoked: sessions };
  });
}

const passwordField = z.string().min(1).max(200);

export const employeeChangeOperations = {
  updateEmployee: defineOperation({
    summary: 'Change an employee’s name, contact, locale or status; disabling ends their sessions',
    permission: 'identity.user.update',
    http: { method: 'PATCH', path: '/employees/:id' },
    input: z.object({
      id: z.string().min(1).max(64),
      version: z.number().int().min(1),
      name: z.string().trim().min(1).max(200).optional(),
      mobile: z.string().regex(MOBILE, 'a 10-digit Indian mobile number').nullable().optional(),
      email: z.email().max(254).nullable().optional(),
      locale: locale.nullable().optional(),
      status: z.enum(['active', 'disabled']).optional(),
    }),
    output: employeeOut,
    async handler(ctx, input) {
      const tenantId = await employeeTenant(ctx, input.id);
      const changes: Record<string, unknown> = {};
      if (input.name !== undefined) changes.name = input.name;
      if (input.locale !== undefined) changes.locale = input.locale;
      // Sealed before the transaction: the key ring may create the tenant's data key.
      if (input.mobile !== undefined) {
        changes.mobile_enc = input.mobile ? await ctx.crypto.encrypt(tenantId, input.mobile) : null;
        changes.mobile_bidx = input.mobile ? ctx.crypto.blindIndex(tenantId, 'mobile', input.mobile) : null;
      }
      if (input.email !== undefined) {
        const email = input.email ? normaliseEmail(input.email) : null;
        changes.email_enc = email ? await ctx.crypto.encrypt(tenantId, email) : null;
        changes.email_bidx = email ? ctx.crypto.blindIndex(tenantId, 'email', email) : null;
      }
      // Enabling also lifts a lockout; the account is then as after a right password.
      if (input.status === 'active') Object.assign(changes, { status: 'active', failed_logins: 0, locked_until: null });
      if (input.status === 'disabled') changes.status = 'disabled';
      await ctx.transaction(async (tx) => {
        const row = await tx.db
          .updateTable('users')
          .set((eb) => ({ ...changes, version: eb('version', '+', 1), updated_at: new Date() }))
          .where('id', '=', input.id)
          .where('version', '=', input.version)
          .returning(['id'])
          .executeTakeFirst();
        if (!row) throw IdentityErrors.staleVersion();
        // Which fields changed, never their values (PII).
        const changed = ['name', 'mobile', 'email', 'locale', 'status'].filter((f) => input[f as keyof typeof input] !== undefined);
        const sessions = input.status === 'disabled' ? await revokeSessions(tx, input.id) : 0;
        const action = input.status === 'disabled' ? 'identity.user.disabled' : input.status === 'active' ? 'identity.user.enabled' : 'identity.user.updated';
        await tx.audit({ action, entityType: 'user', entityId: input.id, tenantId, data: { changed, ...(input.status === 'disabled' ? { sessionsRevoked: sessions } : {}) } });
        await tx.emit({ name: 'identity.user.updated', tenantId, payload: { userId: input.id, changed, status: input.status ?? null } });
      });
      return readEmployee(ctx, input.id, false);
    },
  }),

  resetEmployeePassword: defineOperation({
    summary: 'Set a new password for an employee (an administrator’s reset); lifts a lockout and ends their sessions',
    permission: 'identity.user.update',
    http: { method: 'PUT', path: '/employees/:id/password', status: 200 },
    input: z.object({ id: z.string().min(1).max(64), password: passwordField }),
    output: z.object({ sessionsRevoked: z.number().int() }),
    async handler(ctx, input) {
      const tenantId = await employeeTenant(ctx, input.id);
      const user = await ctx.db.selectFrom('users').select('username').where('id', '=', input.id).executeTakeFirstOrThrow();
      const weakness = passwordProblem(input.password, String(user.username));
      if (weakness) throw IdentityErrors.weakPassword(weakness);
      return setPassword(ctx, input.id, tenantId, input.password, 'identity.user.password_reset', { by: ctx.actor.kind === 'user' ? ctx.actor.id : ctx.actor.kind });
    },
  }),

  changeOwnPassword: defineOperation({
    summary: 'Change one’s own password (employees); ends one’s other sessions',
    permission: 'identity.session.logout',
    http: { method: 'POST', path: '/me/password', status: 200 },
    input: z.object({ currentPassword: passwordField, newPassword: passwordField }),
    output: z.object({ sessionsRevoked: z.number().int() }),
    async handler(ctx, input) {
      if (ctx.actor.kind !== 'user') throw KernelErrors.unauthenticated('This needs a signed-in user');
      const user = await ctx.db.selectFrom('users').select(['id', 'kind', 'tenant_id', 'username', 'password_hash']).where('id', '=', ctx.actor.id).executeTakeFirst();
      if (!user || user.kind !== 'employee') throw new SevaError('NO_PASSWORD', 409, 'This account signs in with one-time codes and has no password');
      if (!(await verifyPassword(String(user.password_hash), input.currentPassword))) {
        throw new SevaError('CURRENT_PASSWORD_WRONG', 422, 'The current password is not right', [{ path: 'body.currentPassword', message: 'not the current password' }]);
      }
      const weakness = passwordProblem(input.newPassword, String(user.username));
      if (weakness) throw KernelErrors.validation([{ path: 'body.newPassword', message: weakness }], 'The password does not meet the policy');
      return setPassword(ctx, ctx.actor.id, String(user.tenant_id), input.newPassword, 'identity.user.password_changed', {});
    },
  }),
};
