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
 * A loop that runs `step` until it reports no work, then sleeps until woken or `idleMs` passes.
 * Errors are logged and retried after a pause; `stop` waits for the step in flight.
 */
export class PumpLoop {
  private running = false;
  private timer: NodeJS.Timeout | undefined;
  private wakeUp: (() => void) | undefined;
  private done: Promise<void> | undefined;
  private woken = false;

  constructor(
    private readonly name: string,
    private readonly step: () => Promise<number>,
    private readonly log: Logger,
    private readonly idleMs = 250,
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
    this.wake();
    await this.done;
  }

  private async loop(): Promise<void> {
    while (this.running) {
      let worked = 0;
      this.woken = false;
      try {
        worked = await this.step();
      } catch (err) {
        if (!this.running) break;
        this.log.error({ err, loop: this.name }, 'event loop step failed; retrying');
        await this.sleep(1000);
        continue;
      }
      if (worked === 0 && !this.woken) await this.sleep(this.idleMs);
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
}
