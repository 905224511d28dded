import { describe, expect, it } from 'vitest';
import { FreshCache, type FreshCacheOptions } from './fresh-cache.js';

/** A load the test settles when it chooses, to hold it under way across a drop or a second caller. */
function deferred<V>() {
  let resolve!: (v: V) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<V>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Settles pending promise callbacks (the cache's bookkeeping runs in them). */
const settle = () => new Promise((r) => setImmediate(r));

function cacheAt(options: Partial<FreshCacheOptions> = {}) {
  const clock = { ms: 1_000_000 };
  const cache = new FreshCache<string>({ ttlMs: 1_000, now: () => clock.ms, ...options });
  return { cache, clock };
}

describe('FreshCache', () => {
  it('loads a key once however many callers ask while the load is under way', async () => {
    const { cache } = cacheAt();
    const pending = deferred<string>();
    let loads = 0;
    const load = () => {
      loads++;
      return pending.promise;
    };
    const both = Promise.all([cache.get('k', load), cache.get('k', load)]);
    pending.resolve('v');
    expect(await both).toEqual(['v', 'v']);
    expect(await cache.get('k', load)).toBe('v');
    expect(loads).toBe(1);
  });

  it('serves a value until its time to live, counted from when its load began, then loads again with the old value', async () => {
    const { cache, clock } = cacheAt();
    const seen: Array<string | undefined> = [];
    let n = 0;
    const load = async (previous: string | undefined) => {
      seen.push(previous);
      return `v${++n}`;
    };
    expect(await cache.get('k', load)).toBe('v1');
    clock.ms += 999;
    expect(await cache.get('k', load)).toBe('v1');
    clock.ms += 1;
    expect(await cache.get('k', load)).toBe('v2');
    expect(seen).toEqual([undefined, 'v1']);
  });

  it('does not store a load that was under way when its key was forgotten', async () => {
    const { cache } = cacheAt();
    const stale = deferred<string>();
    const waiting = cache.get('k', () => stale.promise);
    cache.forget('k');
    const fresh = cache.get('k', async () => 'after the change');
    stale.resolve('before the change');
    // Whoever was already waiting gets what was read; the cache keeps only the later read.
    expect(await waiting).toBe('before the change');
    expect(await fresh).toBe('after the change');
    expect(await cache.get('k', async () => 'unexpected load')).toBe('after the change');
  });

  it('does not store a load raced by forgetWhere or clear either, and hands it no previous value', async () => {
    const { cache } = cacheAt();
    await cache.get('in.ka|a', async () => 'old');
    const racing = deferred<string>();
    const waiting = cache.get('in.ka|b', () => racing.promise);
    cache.forgetWhere((key) => key.startsWith('in.ka|'));
    racing.resolve('raced');
    await waiting;
    const previous: Array<string | undefined> = [];
    const load = async (p: string | undefined) => {
      previous.push(p);
      return 'new';
    };
    expect(await cache.get('in.ka|a', load)).toBe('new');
    expect(await cache.get('in.ka|b', load)).toBe('new');
    expect(previous).toEqual([undefined, undefined]);

    const cleared = deferred<string>();
    const loading = cache.get('other', () => cleared.promise);
    cache.clear();
    cleared.resolve('raced');
    await loading;
    expect(cache.size).toBe(0);
  });

  it('keeps no failed load, whether it rejects or throws before its first await', async () => {
    const { cache } = cacheAt();
    await expect(cache.get('k', async () => Promise.reject(new Error('database away')))).rejects.toThrow('database away');
    await settle();
    await expect(
      cache.get('k', () => {
        throw new Error('thrown at once');
      }),
    ).rejects.toThrow('thrown at once');
    await settle();
    expect(cache.size).toBe(0);
    expect(await cache.get('k', async () => 'back')).toBe('back');
  });

  it('refreshes in the background from refreshAfterMs on, serving the held value meanwhile', async () => {
    const { cache, clock } = cacheAt({ refreshAfterMs: 500 });
    await cache.get('k', async () => 'v1');
    clock.ms += 500;
    const refresh = deferred<string>();
    let refreshes = 0;
    const load = (previous: string | undefined) => {
      refreshes++;
      expect(previous).toBe('v1');
      return refresh.promise;
    };
    expect(await cache.get('k', load)).toBe('v1');
    expect(await cache.get('k', load)).toBe('v1'); // one refresh at a time
    expect(refreshes).toBe(1);
    refresh.resolve('v2');
    await settle();
    expect(await cache.get('k', load)).toBe('v2');
    clock.ms += 999; // the refreshed value's age counts from the refresh
    expect(await cache.get('k', async () => 'unexpected')).toBe('v2');
  });

  it('retries a failed background refresh on a later hit', async () => {
    const { cache, clock } = cacheAt({ refreshAfterMs: 500 });
    await cache.get('k', async () => 'v1');
    clock.ms += 600;
    expect(await cache.get('k', async () => Promise.reject(new Error('away')))).toBe('v1');
    await settle();
    expect(await cache.get('k', async () => 'v2')).toBe('v1');
    await settle();
    expect(await cache.get('k', async () => 'unexpected')).toBe('v2');
  });

  it('does not store a background refresh that raced a forget', async () => {
    const { cache, clock } = cacheAt({ refreshAfterMs: 500 });
    await cache.get('k', async () => 'v1');
    clock.ms += 500;
    const refresh = deferred<string>();
    await cache.get('k', () => refresh.promise);
    cache.forget('k');
    refresh.resolve('read before the change');
    await settle();
    expect(await cache.get('k', async () => 'after')).toBe('after');
  });

  it('refreshes nothing without refreshAfterMs', async () => {
    const { cache, clock } = cacheAt();
    await cache.get('k', async () => 'v1');
    clock.ms += 999;
    expect(await cache.get('k', async () => 'unexpected')).toBe('v1');
    await settle();
    expect(await cache.get('k', async () => 'unexpected')).toBe('v1');
  });

  it('reloads on demand unless the value is younger than minAgeMs', async () => {
    const { cache, clock } = cacheAt();
    await cache.get('k', async () => 'v1');
    clock.ms += 100;
    expect(await cache.reload('k', async () => 'unexpected', 500)).toBe('v1');
    clock.ms += 400;
    expect(await cache.reload('k', async (previous) => `${previous}+`, 500)).toBe('v1+');
    expect(await cache.reload('k', async (previous) => `${previous}+`)).toBe('v1++');
  });

  it('keeps at most maxEntries, dropping the value loaded longest ago', async () => {
    const { cache } = cacheAt({ maxEntries: 2 });
    await cache.get('a', async () => 'a1');
    await cache.get('b', async () => 'b1');
    await cache.reload('a', async () => 'a2'); // loaded again: now the newest
    await cache.get('c', async () => 'c1');
    expect(cache.size).toBe(2);
    expect(await cache.get('a', async () => 'unexpected')).toBe('a2');
    expect(await cache.get('b', async () => 'b2')).toBe('b2');
  });
});
