import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Actor } from './actor.js';
import { InternalTokens } from './internal-token.js';

const actor: Actor = { kind: 'user', id: 'usr_a', tenantId: 'in', roles: ['CLERK'], permissions: ['ping.note.create'] };

describe('internal tokens', () => {
  afterEach(() => vi.useRealTimers());

  it('verify to the actor and request id, again and again, each caller with its own copy', async () => {
    const tokens = new InternalTokens(randomBytes(32));
    const token = await tokens.sign(actor, 'req-1');
    const first = await tokens.verify(token);
    expect(first).toEqual({ actor, requestId: 'req-1' });
    first!.actor.permissions.push('*');
    first!.actor.roles.length = 0;
    expect(await tokens.verify(token)).toEqual({ actor, requestId: 'req-1' });
  });

  it('refuse a token once it has expired, though it verified before', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-11-24T06:00:00Z'));
    const tokens = new InternalTokens(randomBytes(32));
    const token = await tokens.sign(actor, 'req-2');
    expect(await tokens.verify(token)).toBeDefined();
    vi.setSystemTime(new Date('2026-11-24T06:01:01Z'));
    expect(await tokens.verify(token)).toBeUndefined();
  });

  it('refuse a token signed with another key, or changed, whatever verified before', async () => {
    const ours = new InternalTokens(randomBytes(32));
    const theirs = new InternalTokens(randomBytes(32));
    const token = await ours.sign(actor, 'req-3');
    expect(await ours.verify(token)).toBeDefined();
    expect(await theirs.verify(token)).toBeUndefined();
    const [header, , signature] = token.split('.');
    const forgedPayload = Buffer.from(JSON.stringify({ act: { ...actor, permissions: ['*'] }, rid: 'req-3', aud: 'seva-internal', exp: Math.floor(Date.now() / 1000) + 60 })).toString('base64url');
    expect(await ours.verify(`${header}.${forgedPayload}.${signature}`)).toBeUndefined();
  });
});
