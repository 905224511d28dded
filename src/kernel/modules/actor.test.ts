import { describe, expect, it } from 'vitest';
import { ANONYMOUS, can, systemActor, type Actor } from './actor.js';

const user = (permissions: string[]): Actor => ({ kind: 'user', id: 'usr_1', roles: [], permissions });

describe('can', () => {
  it('grants an exactly held permission and denies others', () => {
    expect(can(user(['identity.tenant.read']), 'identity.tenant.read')).toBe(true);
    expect(can(user(['identity.tenant.read']), 'identity.tenant.create')).toBe(false);
  });

  it('lets a prefix ending in .* grant every permission under it', () => {
    const admin = user(['identity.*']);
    expect(can(admin, 'identity.tenant.create')).toBe(true);
    expect(can(admin, 'identity.user.pii.read')).toBe(true);
    expect(can(user(['identity.tenant.*']), 'identity.tenant.update')).toBe(true);
    expect(can(user(['identity.tenant.*']), 'identity.role.create')).toBe(false);
  });

  it('does not let a prefix match a longer segment or the bare prefix', () => {
    expect(can(user(['identity.*']), 'identityx.tenant.create')).toBe(false);
    expect(can(user(['identity.*']), 'identity')).toBe(false);
  });

  it('keeps * for the platform and public for everyone', () => {
    expect(can(systemActor('test'), 'anything.at.all')).toBe(true);
    expect(can(ANONYMOUS, 'public')).toBe(true);
    expect(can(ANONYMOUS, 'identity.tenant.read')).toBe(false);
    expect(can({ ...ANONYMOUS, permissions: ['identity.*'] }, 'identity.tenant.read')).toBe(false);
  });
});
