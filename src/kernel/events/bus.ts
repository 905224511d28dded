import type { Logger } from '../log/logger.js';
import type { SevaEvent } from './types.js';

/** Moves committed outbox events to consumers; `wake` is a hint that new events were committed. */
export interface EventBus {
  readonly kind: 'local' | 'nats';
  start(): Promise<void>;
  stop(): Promise<void>;
  wake(): void;
  readonly stats: BusStats;
}

/** A module's listener as the buses see it: runs in this process for each committed event it names. */
export interface RegisteredListener {
  key: string;
  events: ReadonlySet<string>;
  run(event: SevaEvent): void | Promise<void>;
}

/** Hands committed events to this process's listeners; a failing listener is logged, never retried. */
export async function notifyListeners(listeners: readonly RegisteredListener[], events: readonly SevaEvent[], log: Logger): Promise<void> {
  for (const listener of listeners) {
    for (const event of events) {
      if (!listener.events.has(event.name)) continue;
      try {
        await listener.run(event);
      } catch (err) {
        log.warn({ err, listener: listener.key, event: event.name }, 'event listener failed');
      }
    }
  }
}

export interface BusStats {
  published: number;
  delivered: number;
  duplicates: number;
  failed: number;
}

/**
 * Least time between two rounds of an outbox relay (local or NATS). Every commit wakes the relay,
 * and a round costs its statements whatever it carries: under 1,000 commits a second, rounds of
 * one or two events each marked them published at 0.35 ms a statement, as much database time as
 * the transitions' own writes. Events wait up to this long more before they are relayed.
 */
export const RELAY_GAP_MS = 20;

/**
 * A loop that runs `step` until it reports no work, then sleeps until woken or `idleMs` passes.
 * Errors are logged and retried after a pause; `stop` waits for the step in flight.
 *
 * `gapMs` puts at least that long between the starts of two steps, whatever wakes it: work that
 * arrives meanwhile waits and is done in one step. For a loop woken by every commit (the audit
 * sealer), that turns one small round per commit into one round per gap: under 1,000 commits a
 * second, rounds of one to a few entries kept a database backend half busy on the rounds' own
 * statements.
 */
export class PumpLoop {
  private running = false;
  private timer: NodeJS.Timeout | undefined;
  private wakeUp: (() => void) | undefined;
  private done: Promise<void> | undefined;
  private woken = false;
  private endGap: (() => void) | undefined;

  constructor(
    private readonly name: string,
    private readonly step: () => Promise<number>,
    private readonly log: Logger,
    private readonly idleMs = 250,
    private readonly gapMs = 0,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.done = this.loop();
  }

  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.endGap?.();
    this.wake();
    await this.done;
  }

  private async loop(): Promise<void> {
    while (this.running) {
      let worked = 0;
      this.woken = false;
      const started = performance.now();
      try {
        worked = await this.step();
      } catch (err) {
        if (!this.running) break;
        this.log.error({ err, loop: this.name }, 'event loop step failed; retrying');
        await this.sleep(1000);
        continue;
      }
      if (worked === 0 && !this.woken) await this.sleep(this.idleMs);
      await this.gap(started + this.gapMs - performance.now());
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wakeUp = () => {
        clearTimeout(this.timer);
        this.wakeUp = undefined;
        resolve();
      };
      this.timer = setTimeout(() => this.wakeUp?.(), ms);
    });
  }

  /** Waits `ms` whatever wakes the loop; only `stop` ends it early. */
  private gap(ms: number): Promise<void> {
    if (ms <= 0 || !this.running) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.endGap = undefined;
        resolve();
      }, ms);
      this.endGap = () => {
        clearTimeout(timer);
        this.endGap = undefined;
        resolve();
      };
    });
  }
}
