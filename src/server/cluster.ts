import cluster, { type Worker } from 'node:cluster';
import { SevaBootError, type Logger, type SevaConfig } from '../kernel/index.js';

/**
 * `SEVA_PROCESSES=n`: one `seva start` runs n server processes that share the port (node:cluster;
 * the primary accepts connections and hands them round-robin to the processes). Node runs a
 * request's JavaScript on one thread, so this is how one machine's cores all serve: the
 * "many stateless processes" shape of a deployment, without an outside load balancer.
 *
 * The primary runs no module. It starts process 1 alone, which migrates and prepares the
 * database as a single `seva start` would, then the others; it replaces a process that dies, and
 * on SIGTERM or SIGINT stops them all (each drains as a single one does) before it exits.
 */

/** What a server process tells the primary once it serves: the banner to print once for all. */
interface ReadyMessage {
  seva: 'ready';
  banner: string[];
}

const RESTARTS_ALLOWED = 5;
const RESTART_WINDOW_MS = 60_000;
const RESTART_DELAY_MS = 1000;

/** Refuses settings under which several processes would not be one consistent deployment. */
export function checkProcessesConfig(config: SevaConfig): void {
  if (config.processes <= 1) return;
  if (!config.databaseUrl) {
    throw new SevaBootError(`SEVA_PROCESSES=${config.processes} needs DATABASE_URL: the embedded database belongs to one process`);
  }
  if (!config.natsUrl) {
    throw new SevaBootError(`SEVA_PROCESSES=${config.processes} needs NATS_URL: without it each process would see only its own events (cache refreshes, consumers)`);
  }
}

/** A process this primary forked (not one another cluster manager, such as PM2, runs). */
export function isServerProcess(): boolean {
  return !cluster.isPrimary && process.env.SEVA_PROCESS_INDEX !== undefined;
}

/** In a server process: hands the banner to the primary, and stops when the primary is gone. */
export function reportReady(banner: string[], stop: (reason: string) => void): void {
  process.send!({ seva: 'ready', banner } satisfies ReadyMessage);
  process.once('disconnect', () => stop('primary gone'));
}

/** The primary: starts, watches and stops the server processes; resolves never (it exits). */
export async function runPrimary(config: SevaConfig, log: Logger): Promise<void> {
  checkProcessesConfig(config);
  cluster.setupPrimary({ serialization: 'json' });
  const workers = new Map<Worker, number>();
  const restarts: number[] = [];
  let stopping = false;

  const fork = (index: number): Promise<ReadyMessage> => {
    const worker = cluster.fork({ SEVA_PROCESS_INDEX: String(index) });
    workers.set(worker, index);
    const ready = new Promise<ReadyMessage>((resolve, reject) => {
      worker.on('message', (message: ReadyMessage) => {
        if (message?.seva === 'ready') resolve(message);
      });
      worker.once('exit', (code) => reject(new SevaBootError(`server process ${index} exited with code ${code} before it was ready`)));
    });
    ready.catch(() => {});
    worker.once('exit', (code, signal) => {
      workers.delete(worker);
      if (stopping) return;
      const now = Date.now();
      restarts.push(now);
      while (restarts.length > 0 && restarts[0]! < now - RESTART_WINDOW_MS) restarts.shift();
      if (restarts.length > RESTARTS_ALLOWED) {
        log.error({ index, exitCode: code, signal }, 'server processes keep exiting; stopping');
        void stopAll(1);
        return;
      }
      log.error({ index, exitCode: code, signal }, 'a server process exited; starting another');
      setTimeout(() => {
        if (!stopping) fork(index).catch((err) => log.error({ err, index }, 'a replacement server process failed to start'));
      }, RESTART_DELAY_MS).unref();
    });
    return ready;
  };

  const stopAll = async (code: number) => {
    if (stopping) return;
    stopping = true;
    const force = setTimeout(() => {
      log.error('server processes did not stop in time; killing them');
      for (const worker of workers.keys()) worker.process.kill('SIGKILL');
      process.exit(1);
    }, config.shutdownTimeoutMs + 2000);
    force.unref();
    const exits = [...workers.keys()].map((worker) => new Promise<number | null>((resolve) => worker.once('exit', (c) => resolve(c))));
    for (const worker of workers.keys()) worker.process.kill('SIGTERM');
    const codes = await Promise.all(exits);
    process.exit(code !== 0 || codes.some((c) => c !== 0) ? 1 : 0);
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => void stopAll(0));

  try {
    // Process 1 first: it applies migrations and prepares an empty database, once.
    const first = await fork(1);
    await Promise.all(Array.from({ length: config.processes - 1 }, (_, i) => fork(i + 2)));
    console.log([...first.banner, `  processes: ${config.processes} (pids ${[...workers.keys()].map((w) => w.process.pid).join(', ')})`].join('\n'));
  } catch (err) {
    process.stderr.write(`seva: ${(err as Error).message}\n`);
    await stopAll(1);
  }
}
