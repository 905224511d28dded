interface Waiter {
  count: number;
  resolve(first: number): void;
  reject(err: unknown): void;
}

/**
 * Merges concurrent allocations of one sequence in this process into one statement. Every
 * allocation of a sequence takes the same row lock and waits for the previous commit, so one
 * ID per statement is bound by commit latency; instead, while one statement is in flight the
 * next callers queue, and the next statement takes all their counts at once and splits the
 * range in arrival order. No number is skipped or given twice.
 */
export class AllocationQueue {
  private readonly queues = new Map<string, Waiter[]>();

  constructor(private readonly maxPerStatement = 10_000) {}

  allocate(key: string, count: number, run: (total: number) => Promise<number>): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      const queue = this.queues.get(key);
      if (queue) {
        queue.push({ count, resolve, reject });
        return;
      }
      this.queues.set(key, [{ count, resolve, reject }]);
      void this.drain(key, run);
    });
  }

  private async drain(key: string, run: (total: number) => Promise<number>): Promise<void> {
    const queue = this.queues.get(key)!;
    while (queue.length > 0) {
      const batch: Waiter[] = [];
      let total = 0;
      while (queue.length > 0 && (batch.length === 0 || total + queue[0]!.count <= this.maxPerStatement)) {
        const waiter = queue.shift()!;
        batch.push(waiter);
        total += waiter.count;
      }
      try {
        let next = await run(total);
        for (const waiter of batch) {
          waiter.resolve(next);
          next += waiter.count;
        }
      } catch (err) {
        for (const waiter of batch) waiter.reject(err);
      }
    }
    this.queues.delete(key);
  }
}
