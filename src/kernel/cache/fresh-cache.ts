export interface FreshCacheOptions {
  /** How long a value is served after its load began (ms): the bound on staleness when a drop is missed. */
  ttlMs: number;
  /**
   * From this age on (ms), a hit starts a load in the background and is still served, so callers
   * rarely wait on a hot key. Unset: no background loads; an expired value is loaded on demand.
   */
  refreshAfterMs?: number;
  /** Values kept at most; past it, the value loaded longest ago goes. Default 10,000. */
  maxEntries?: number;
  /** Milliseconds since the epoch; tests move it instead of waiting. */
  now?: () => number;
}

/** What a load is handed: the value it replaces (expired, refreshed or reloaded; not a forgotten one). */
export type CacheLoader<V> = (previous: V | undefined) => Promise<V>;

/**
 * A per-process cache of promises with a time to live, for values whose source of truth is
 * elsewhere (the database, another module) and whose changes this process hears about through
 * events it may miss.
 *
 * - A key is loaded once however many callers ask while its load is under way (single flight).
 * - A failed load is not kept: the next caller tries again.
 * - `forget` (and `forgetWhere`, `clear`) drops a key, and a load that was under way when it was
 *   dropped is never stored: a change that caused the drop cannot be undone by a read that began
 *   before it. Callers already waiting on that load still get its value.
 * - The age of a value counts from when its load began, since it may hold what was read then.
 */
export class FreshCache<V> {
  private readonly entries = new Map<string, Entry<V>>();
  private readonly ttlMs: number;
  private readonly refreshAfterMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(options: FreshCacheOptions) {
    this.ttlMs = options.ttlMs;
    this.refreshAfterMs = options.refreshAfterMs ?? Infinity;
    this.maxEntries = options.maxEntries ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  get(key: string, load: CacheLoader<V>): Promise<V> {
    const hit = this.entries.get(key);
    const age = hit ? this.now() - hit.loadedAt : Infinity;
    if (hit && age < this.ttlMs) {
      if (hit.loaded && !hit.refreshing && age >= this.refreshAfterMs) this.refresh(key, hit, load);
      return hit.value;
    }
    return this.load(key, load, hit?.settled);
  }

  /**
   * Loads again now, unless the value's load began less than `minAgeMs` ago (so a burst of
   * callers that each found the value lacking causes one load, not one each).
   */
  reload(key: string, load: CacheLoader<V>, minAgeMs = 0): Promise<V> {
    const hit = this.entries.get(key);
    if (hit && this.now() - hit.loadedAt < minAgeMs) return hit.value;
    return this.load(key, load, hit?.settled);
  }

  forget(key: string): void {
    this.entries.delete(key);
  }

  forgetWhere(test: (key: string) => boolean): void {
    for (const key of [...this.entries.keys()]) if (test(key)) this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }

  /** Keys held, loaded or loading. */
  get size(): number {
    return this.entries.size;
  }

  private load(key: string, load: CacheLoader<V>, previous: V | undefined): Promise<V> {
    const entry = this.start(load, previous);
    this.store(key, entry);
    entry.value.catch(() => {
      if (this.entries.get(key) === entry) this.entries.delete(key);
    });
    return entry.value;
  }

  private refresh(key: string, hit: Entry<V>, load: CacheLoader<V>): void {
    hit.refreshing = true;
    const next = this.start(load, hit.settled);
    next.value.then(
      () => {
        // Dropped or replaced meanwhile: what this load read may predate the change.
        if (this.entries.get(key) === hit) this.store(key, next);
      },
      () => {
        hit.refreshing = false;
      },
    );
  }

  /** Map order is insertion order: deleting first makes the first key the one loaded longest ago. */
  private store(key: string, entry: Entry<V>): void {
    this.entries.delete(key);
    this.entries.set(key, entry);
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
  }

  private start(load: CacheLoader<V>, previous: V | undefined): Entry<V> {
    const loadedAt = this.now();
    let value: Promise<V>;
    try {
      value = load(previous);
    } catch (err) {
      // A loader that throws before its first await fails like one that rejects: nothing kept.
      value = Promise.reject(err);
    }
    const entry: Entry<V> = { value, loadedAt, loaded: false, refreshing: false, settled: undefined };
    value.then(
      (v) => {
        entry.loaded = true;
        entry.settled = v;
      },
      () => {},
    );
    return entry;
  }
}

interface Entry<V> {
  value: Promise<V>;
  /** When the load began. */
  loadedAt: number;
  /** The load has succeeded: only then is a background refresh worth starting. */
  loaded: boolean;
  refreshing: boolean;
  settled: V | undefined;
}
