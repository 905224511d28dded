import { describe, expect, it } from 'vitest';
import { createLogger } from '../log/logger.js';
import { PumpLoop } from './bus.js';

const log = createLogger({ level: 'silent' });
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** A step does I/O: it lets timers run before it answers. */
const io = () => new Promise((r) => setImmediate(r));

/** Wakes `loop` every millisecond for `ms`, as commits under load do. */
async function wakeRepeatedly(loop: PumpLoop, ms: number): Promise<void> {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    loop.wake();
    await pause(1);
  }
}

describe('PumpLoop', () => {
  it('runs a step for every wake when it has no gap', async () => {
    let steps = 0;
    const loop = new PumpLoop('test', async () => (await io(), steps++, 1), log, 10_000);
    loop.start();
    await wakeRepeatedly(loop, 200);
    await loop.stop();
    // A step that reports work runs again at once: far more than one per 50 ms.
    expect(steps).toBeGreaterThan(20);
  });

  it('with a gap, runs at most one step per gap however often it is woken', async () => {
    const starts: number[] = [];
    const loop = new PumpLoop('test', async () => (starts.push(performance.now()), await io(), 1), log, 10_000, 50);
    loop.start();
    await wakeRepeatedly(loop, 300);
    await loop.stop();
    expect(starts.length).toBeGreaterThanOrEqual(2);
    expect(starts.length).toBeLessThanOrEqual(8);
    // Timers may fire up to a millisecond early by rounding, never much earlier.
    for (let i = 1; i < starts.length; i++) expect(starts[i]! - starts[i - 1]!).toBeGreaterThanOrEqual(48);
  });

  it('with a gap, still answers a wake after an idle sleep without waiting out the idle time', async () => {
    const starts: number[] = [];
    let work = 0;
    const loop = new PumpLoop('test', async () => (starts.push(performance.now()), await io(), work > 0 ? work-- : 0), log, 10_000, 50);
    loop.start();
    await pause(100);
    expect(starts).toHaveLength(1);
    work = 1;
    const woken = performance.now();
    loop.wake();
    await pause(100);
    await loop.stop();
    // The wake ended the 10 s idle sleep: the step ran soon after, then found nothing more.
    expect(starts.length).toBeGreaterThanOrEqual(2);
    expect(starts[1]! - woken).toBeLessThan(5_000);
  });

  it('stops during a gap without waiting it out', async () => {
    const loop = new PumpLoop('test', async () => (await io(), 1), log, 10_000, 5_000);
    loop.start();
    await pause(20);
    const stopping = performance.now();
    await loop.stop();
    expect(performance.now() - stopping).toBeLessThan(1_000);
  });
});
