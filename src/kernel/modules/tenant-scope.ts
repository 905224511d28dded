import { SevaError } from '../errors/seva-error.js';
import type { Actor } from './actor.js';
import type { OperationDef } from './define.js';

/** Input fields that name a tenant unless the operation declares its own (`tenantField`). */
export const DEFAULT_TENANT_FIELDS = ['tenantId', 'tenant'] as const;

/** The input fields of `op` that name the tenant it acts on. */
export function tenantFieldsOf(op: OperationDef<any, any>): readonly string[] {
  if (op.tenantField === undefined) return DEFAULT_TENANT_FIELDS;
  return typeof op.tenantField === 'string' ? [op.tenantField] : op.tenantField;
}

/** `in.ka` covers itself and `in.ka.bengaluru`, never `in.kar` or `in`. */
export function tenantCovers(actorTenant: string, target: string): boolean {
  return target === actorTenant || target.startsWith(`${actorTenant}.`);
}

/**
 * The tenant scope of a call: every tenant-bearing input field must be the actor's tenant or one
 * below it, or above it for operations that read inherited configuration. The platform
 * (`system`) acts anywhere; an actor with no tenant (anonymous callers of public operations,
 * platform tools on internal tokens) is not scoped here.
 */
export function checkTenantScope(op: OperationDef<any, any>, actor: Actor, input: unknown): void {
  if (actor.kind !== 'user' || !actor.tenantId || !input || typeof input !== 'object') return;
  for (const field of tenantFieldsOf(op)) {
    const value = (input as Record<string, unknown>)[field];
    if (typeof value !== 'string' || tenantCovers(actor.tenantId, value)) continue;
    // Inherited configuration may be read from above: the target is an ancestor of the actor.
    if (op.readsInherited && tenantCovers(value, actor.tenantId)) continue;
    throw new SevaError('TENANT_FORBIDDEN', 403, `Tenant ${value} is outside the caller's tenant ${actor.tenantId}`, [{ path: field, message: 'outside your tenant' }], { field });
  }
}
