import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readlinkSync, realpathSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SEVA_BIN = join(ROOT, 'bin', 'seva.js');

/** Settings the bench must not inherit: the CLI rows always run the embedded engine. */
const CONFIG_ENV = [
  'PORT', 'HOST', 'SEVA_DATA_DIR', 'DATABASE_URL', 'SEVA_DATABASE_POOL_SIZE', 'NATS_URL', 'SEVA_MODULES', 'SEVA_MODULE_URLS',
  'SEVA_MASTER_KEY', 'SEVA_EVENTS_NAMESPACE', 'LOG_LEVEL', 'SEVA_BODY_LIMIT', 'SEVA_PUBLIC_URL', 'SEVA_SHUTDOWN_TIMEOUT_MS', 'SEVA_CONFIG', 'SEVA_PROCESSES',
];

const live = new Set<ChildProcess>();
const tempPaths = new Set<string>();

/** Whatever happens (error, Ctrl-C, watchdog), no server outlives the bench and temp folders go. */
export function installCleanup(): void {
  process.on('exit', () => {
    for (const child of live) child.kill('SIGKILL');
    for (const path of tempPaths) rmSync(path, { recursive: true, force: true });
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(130));
}

export function removeLater(path: string): void {
  tempPaths.add(path);
}

export interface SevaProcess {
  child: ChildProcess;
  pid: number;
  url: string;
  /** Spawn to the first 200 from /health/ready. */
  readyMs: number;
  output(): string;
}

function cliEnv(settings: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of CONFIG_ENV) delete env[name];
  return Object.assign(env, settings);
}

/**
 * Runs `seva check` once, so that work the CLI does on its first run after a source change
 * (rebuilding its bundle) is not counted as start-to-ready. Returns how long it took.
 */
export async function warmCli(timeoutMs = 120_000): Promise<number> {
  const started = performance.now();
  const child = spawn(process.execPath, [SEVA_BIN, 'check'], { cwd: ROOT, env: cliEnv({ LOG_LEVEL: 'warn' }), stdio: ['ignore', 'ignore', 'pipe'] });
  live.add(child);
  let err = '';
  child.stderr!.on('data', (chunk: Buffer) => (err = (err + chunk.toString()).slice(-2000)));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  clearTimeout(timer);
  live.delete(child);
  if (code !== 0) throw new Error(`seva check failed (${code}): ${err.trim()}`);
  return performance.now() - started;
}

/** Spawns the real CLI (`node bin/seva.js start`), on the embedded engine unless `settings` say otherwise, and waits until ready. */
export async function startSeva(dataDir: string, timeoutMs = 60_000, settings: Record<string, string> = {}): Promise<SevaProcess> {
  const port = await freePort();
  const env = cliEnv({ SEVA_DATA_DIR: dataDir, PORT: String(port), LOG_LEVEL: 'warn', ...settings });
  // Several processes: ready once the primary's banner says every one serves.
  const processes = Number(settings.SEVA_PROCESSES ?? 1);
  let out = '';
  const started = performance.now();
  const child = spawn(process.execPath, [SEVA_BIN, 'start'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  child.once('exit', () => live.delete(child));
  const keep = (chunk: Buffer) => (out = (out + chunk.toString()).slice(-4000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const url = `http://127.0.0.1:${port}`;
  const deadline = started + timeoutMs;
  while (performance.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      const how = child.signalCode ? `was killed by ${child.signalCode} from outside the bench` : `exited with code ${child.exitCode}`;
      throw new Error(`seva ${how} before ready: ${out.trim() || '(no output)'}`);
    }
    if ((processes === 1 || out.includes(`processes: ${processes}`)) && (await statusOf(`${url}/health/ready`)) === 200) {
      const readyMs = performance.now() - started;
      return { child, pid: child.pid!, url, readyMs, output: () => out };
    }
    await sleep(20);
  }
  child.kill('SIGKILL');
  throw new Error(`seva not ready after ${timeoutMs} ms: ${out.trim()}`);
}

/** SIGTERM, then wait for the exit (SIGKILL after `graceMs`); returns how it ended. */
export async function stopSeva(proc: SevaProcess, graceMs = 15_000): Promise<{ ms: number; code: number | null; signal: string | null; killed: boolean }> {
  const { child } = proc;
  const started = performance.now();
  if (child.exitCode !== null || child.signalCode !== null) return { ms: 0, code: child.exitCode, signal: child.signalCode, killed: false };
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  let killed = false;
  const timer = setTimeout(() => {
    killed = true;
    child.kill('SIGKILL');
  }, graceMs);
  await exited;
  clearTimeout(timer);
  return { ms: performance.now() - started, code: child.exitCode, signal: child.signalCode, killed };
}

/** Resident set size of `pid` in MiB; checks that the process is node itself, not a wrapper. */
export function rssMiB(pid: number): number {
  const exe = readlinkSync(`/proc/${pid}/exe`);
  if (exe !== realpathSync(process.execPath)) throw new Error(`pid ${pid} runs ${exe}, not node (${process.execPath})`);
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(match[1]) / 1024;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Status code of a GET, or 0 when the server does not answer (yet). */
function statusOf(url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request(url, { agent: false, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
    req.end();
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
