import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { systemActor, type Actor } from './actor.js';
import { defineOperation } from './define.js';
import { checkTenantScope, tenantCovers } from './tenant-scope.js';

const op = (extra: { readsInherited?: boolean; tenantField?: string | string[] } = {}) =>
  defineOperation({ summary: 'x', permission: 'x.y', input: z.object({ tenantId: z.string(), code: z.string() }), output: z.object({}), handler: async () => ({}), ...extra });
const city: Actor = { kind: 'user', id: 'usr_1', tenantId: 'in.ka.bengaluru', roles: [], permissions: ['x.y'] };
const scope = (o: ReturnType<typeof op>, actor: Actor, input: Record<string, unknown>) => () => checkTenantScope(o, actor, input);

describe('tenant scope', () => {
  it('covers a tenant and those below it, by whole segments', () => {
    expect(tenantCovers('in.ka', 'in.ka.bengaluru')).toBe(true);
    expect(tenantCovers('in.ka', 'in.kar')).toBe(false);
    expect(tenantCovers('in.ka', 'in')).toBe(false);
  });

  it('lets a user act on its tenant and below, and refuses a sibling or a parent', () => {
    expect(scope(op(), city, { tenantId: 'in.ka.bengaluru.ward1' })).not.toThrow();
    expect(scope(op(), city, { tenantId: 'in.ka.mysuru' })).toThrow(expect.objectContaining({ code: 'TENANT_FORBIDDEN', status: 403 }));
    expect(scope(op(), city, { tenantId: 'in' })).toThrow(expect.objectContaining({ code: 'TENANT_FORBIDDEN' }));
  });

  it('lets an operation that reads inherited configuration name a parent, never a sibling', () => {
    expect(scope(op({ readsInherited: true }), city, { tenantId: 'in' })).not.toThrow();
    expect(scope(op({ readsInherited: true }), city, { tenantId: 'in.ka' })).not.toThrow();
    expect(scope(op({ readsInherited: true }), city, { tenantId: 'in.tn' })).toThrow(expect.objectContaining({ code: 'TENANT_FORBIDDEN' }));
  });

  it('checks the field an operation names instead, and leaves the platform unscoped', () => {
    expect(scope(op({ tenantField: 'code' }), city, { tenantId: 'in.tn', code: 'in.ka.bengaluru' })).not.toThrow();
    expect(scope(op({ tenantField: 'code' }), city, { tenantId: 'in.ka.bengaluru', code: 'in.tn' })).toThrow();
    expect(scope(op(), systemActor('t'), { tenantId: 'in.tn' })).not.toThrow();
  });

  it('checks every element of a nested path such as roles[].tenant, naming the element', () => {
    const nested = op({ tenantField: ['tenantId', 'roles[].tenant'] });
    const roles = (...tenants: string[]) => tenants.map((tenant) => ({ role: 'CLERK', tenant }));
    expect(scope(nested, city, { tenantId: 'in.ka.bengaluru', roles: roles('in.ka.bengaluru', 'in.ka.bengaluru.ward1') })).not.toThrow();
    let refused: unknown;
    try {
      checkTenantScope(nested, city, { tenantId: 'in.ka.bengaluru', roles: roles('in.ka.bengaluru', 'in.ka') });
    } catch (err) {
      refused = err;
    }
    expect(refused).toMatchObject({ code: 'TENANT_FORBIDDEN', errors: [{ path: 'roles.1.tenant' }] });
  });
});
