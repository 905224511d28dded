/**
 * Who is acting. HTTP requests, in-process calls, event consumers and jobs all carry one, and
 * every operation checks it the same way: deny unless a permission grants it.
 */
export interface Actor {
  kind: 'user' | 'system' | 'anonymous';
  id: string;
  /** The tenant the actor acts for; rights cover it and, where granted, its children. */
  tenantId?: string | undefined;
  roles: string[];
  /**
   * Named operations (`workflow.transition`), or a prefix ending in `.*` (`identity.*`) that
   * grants every permission under it; a bare `*` is held only by the platform itself.
   */
  permissions: string[];
}

export const ANONYMOUS: Actor = Object.freeze({ kind: 'anonymous', id: 'anonymous', roles: [], permissions: [] }) as Actor;

/** The platform acting on its own behalf (event consumers, timers, migrations, seeding). */
export function systemActor(purpose: string, tenantId?: string): Actor {
  return { kind: 'system', id: `system:${purpose}`, tenantId, roles: ['system'], permissions: ['*'] };
}

export const PUBLIC = 'public' as const;

export function can(actor: Actor, permission: string): boolean {
  if (permission === PUBLIC) return true;
  if (actor.kind === 'anonymous') return false;
  return actor.permissions.some((held) => held === '*' || held === permission || (held.endsWith('.*') && permission.startsWith(held.slice(0, -1))));
}
