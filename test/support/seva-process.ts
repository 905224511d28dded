import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Actor } from '../../src/kernel/index.js';
import { InternalTokens } from '../../src/kernel/modules/internal-token.js';
import { createFreshPostgresDatabase, dropPostgresDatabase } from './test-database.js';
import { deleteStream, TEST_MASTER_KEY } from './test-runtime.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** The CLI with the test modules, run from source. */
const FIXTURE_CLI = ['--import', 'tsx', 'test/fixtures/seva-fixtures.ts'];
/** What `npm start` runs: the shipped modules, from the bundle. */
export const SHIPPED_CLI = ['bin/seva.js'];

export interface SevaProcess {
  child: ChildProcess;
  pid: number;
  url: string;
  output(): string;
  /** SIGTERM and wait for the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL: no shutdown code runs, as in a power cut of the process. */
  kill(): Promise<void>;
}

/** Starts the real CLI (with the test modules) as a separate process and waits until it serves. */
export async function startSevaProcess(env: Record<string, string>, timeoutMs = 60_000, cli = FIXTURE_CLI): Promise<SevaProcess> {
  const child = spawn(process.execPath, [...cli, 'start'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', PORT: '0', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`seva did not become ready in ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    const check = () => {
      const match = /Seva is ready at (http:\/\/\S+)/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!.replace('localhost', '127.0.0.1'));
      }
    };
    child.stdout!.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`seva exited with ${code} before it was ready:\n${out}`));
    });
  });
  return {
    child,
    pid: child.pid!,
    url,
    output: () => out,
    stop: async () => {
      child.kill('SIGTERM');
      return exited;
    },
    kill: async () => {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

export interface ProcessStore {
  /** Environment for `startSevaProcess`: master key, events namespace, the database (and NATS) to use. */
  env: Record<string, string>;
  /** The same database, for opening it directly (`openDatabase`) while no process holds it. */
  database: { databaseUrl: string | undefined; dataDir: string };
  /** Drops what the store made: the PostgreSQL database or the data folder, and the NATS stream. */
  dispose(): Promise<void>;
}

/**
 * Where processes of one test file keep their state across restarts: a data folder on the
 * embedded database by default, a fresh PostgreSQL database (and NATS, when named) when the
 * environment names them.
 */
export async function processStore(label: string, extra: Record<string, string> = {}): Promise<ProcessStore> {
  const namespace = `${label}${randomBytes(4).toString('hex')}`;
  const dbUrl = await createFreshPostgresDatabase();
  const dataDir = dbUrl ? undefined : mkdtempSync(join(tmpdir(), `seva-${label}-`));
  return {
    env: {
      SEVA_MASTER_KEY: TEST_MASTER_KEY,
      SEVA_EVENTS_NAMESPACE: namespace,
      ...(dbUrl ? { DATABASE_URL: dbUrl } : { SEVA_DATA_DIR: dataDir! }),
      ...(process.env.NATS_URL ? { NATS_URL: process.env.NATS_URL } : {}),
      ...extra,
    },
    database: { databaseUrl: dbUrl, dataDir: dataDir ?? 'memory://' },
    dispose: async () => {
      if (dbUrl) await dropPostgresDatabase(dbUrl);
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
      if (process.env.NATS_URL) await deleteStream(process.env.NATS_URL, namespace);
    },
  };
}

/** An `x-seva-actor` token for calls into a process started with the test master key. */
export function internalTokenFor(actor: Actor, requestId: string): Promise<string> {
  return new InternalTokens(Buffer.from(TEST_MASTER_KEY, 'base64')).sign(actor, requestId);
}
