/**
 * An in-process cache of resolved lookups, in named areas (`masterdata:<schema>`, `messages`).
 * Writes in this process drop their area at once; the module's event listener drops it in every
 * other process. The TTL is only a safety net for an event missed by a process (core NATS
 * delivery is at most once).
 */
export class LookupCache {
  private readonly entries = new Map<string, { value: unknown; expires: number; area: string }>();
  /** Bumped by each drop of an area: a load that started before a drop must not be stored. */
  private readonly generations = new Map<string, number>();
  hits = 0;
  misses = 0;

  constructor(
    private readonly ttlMs = 5 * 60_000,
    private readonly maxEntries = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  async get<T>(area: string, key: string, load: () => Promise<T>): Promise<T> {
    const id = `${area}\u0000${key}`;
    const hit = this.entries.get(id);
    if (hit && hit.expires > this.now()) {
      this.hits++;
      return hit.value as T;
    }
    this.misses++;
    const generation = this.generations.get(area) ?? 0;
    const value = await load();
    if ((this.generations.get(area) ?? 0) === generation) {
      // Oldest first: Map keeps insertion order, so the first key is the oldest entry.
      if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
      this.entries.set(id, { value, expires: this.now() + this.ttlMs, area });
    }
    return value;
  }

  drop(area: string): void {
    this.generations.set(area, (this.generations.get(area) ?? 0) + 1);
    for (const [id, entry] of this.entries) if (entry.area === area) this.entries.delete(id);
  }

  clear(): void {
    for (const area of new Set([...this.entries.values()].map((e) => e.area))) this.drop(area);
  }
}
