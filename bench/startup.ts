import { join } from 'node:path';
import { median, progress, row, type Row } from './lib/report.js';
import { rssMiB, sleep, startSeva, stopSeva, warmCli, type SevaProcess } from './lib/seva-process.js';

const ENGINE = 'PGlite (CLI)';
const RUNS_ON_EXISTING = 3;
const IDLE_MS = 2000;

/** `startRuntime`'s own figure, printed by the CLI: the part of start-to-ready after imports. */
function bootMs(proc: SevaProcess): string {
  return /ready at \S+ \((\d+) ms\)/.exec(proc.output())?.[1] ?? '?';
}

/**
 * Start-to-ready of the real CLI on a new data folder, then three times on the same folder,
 * with the idle RSS of each process and how long SIGTERM takes to end it.
 */
export async function startupBench(workDir: string): Promise<Row[]> {
  const dataDir = join(workDir, 'data-cli');
  const rows: Row[] = [];

  progress(`startup: seva check (warms the CLI) took ${Math.round(await warmCli())} ms`);
  progress('startup: fresh data folder');
  const fresh = await startSeva(dataDir);
  progress(`  ready in ${Math.round(fresh.readyMs)} ms (startRuntime ${bootMs(fresh)} ms)`);
  await sleep(IDLE_MS);
  const freshRss = rssMiB(fresh.pid);
  const freshStop = await stopSeva(fresh);
  rows.push(row('start-to-ready, fresh data folder', ENGINE, fresh.readyMs, 'ms'));

  const ready: number[] = [];
  const rss: number[] = [];
  const stops: number[] = [];
  for (let i = 0; i < RUNS_ON_EXISTING; i++) {
    progress(`startup: existing data folder, run ${i + 1}/${RUNS_ON_EXISTING}`);
    const proc = await startSeva(dataDir);
    ready.push(proc.readyMs);
    progress(`  ready in ${Math.round(proc.readyMs)} ms (startRuntime ${bootMs(proc)} ms)`);
    await sleep(IDLE_MS);
    rss.push(rssMiB(proc.pid));
    const stopped = await stopSeva(proc);
    if (stopped.killed || stopped.code !== 0) progress(`  warning: exit code ${stopped.code} signal ${stopped.signal}${stopped.killed ? ' (SIGKILLed)' : ''}`);
    stops.push(stopped.ms);
  }
  rows.push(row(`start-to-ready, existing data folder (median of ${RUNS_ON_EXISTING})`, ENGINE, median(ready), 'ms', { below: 1000 }));
  rows.push(row(`idle RSS after ready + 2 s, existing data folder (median of ${RUNS_ON_EXISTING})`, ENGINE, median(rss), 'MiB'));
  rows.push(row('idle RSS after ready + 2 s, fresh data folder', ENGINE, freshRss, 'MiB'));
  rows.push(row(`shutdown, SIGTERM to exit (median of ${RUNS_ON_EXISTING + 1})`, ENGINE, median([freshStop.ms, ...stops]), 'ms'));
  return rows;
}
