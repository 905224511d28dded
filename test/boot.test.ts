// The `seva` command line as an operator meets it: real processes, their exit codes and output.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
const ENTRY = 'test/fixtures/seva-fixtures.ts';
/** A process still running after this is killed, so a hang fails its test instead of the suite. */
const PROCESS_LIMIT_MS = 60_000;
const TEST_TIMEOUT_MS = 90_000;

const root = mkdtempSync(join(tmpdir(), 'seva-boot-'));
const running = new Set<ChildProcess>();
afterAll(() => {
  for (const child of running) child.kill('SIGKILL');
  rmSync(root, { recursive: true, force: true });
});

let dirCount = 0;
const freshDataDir = () => join(root, `data-${++dirCount}`);

/** The parent's environment without anything that configures Seva, plus the test's settings. */
function sevaEnv(dataDir: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key.startsWith('SEVA_') || ['DATABASE_URL', 'NATS_URL', 'PORT', 'HOST', 'LOG_LEVEL'].includes(key)) continue;
    env[key] = value;
  }
  return { ...env, SEVA_DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'warn', ...extra };
}

interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

interface SevaProcess {
  child: ChildProcess;
  stdout(): string;
  /** Resolves when stdout contains `text`; rejects if the process ends first. */
  waitForStdout(text: string): Promise<void>;
  finished: Promise<Finished>;
}

function startSeva(args: string[], env: NodeJS.ProcessEnv): SevaProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', ENTRY, ...args], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let stdout = '';
  let stderr = '';
  let timedOut = false;
  const watchers: Array<() => void> = [];
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    for (const watch of [...watchers]) watch();
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, PROCESS_LIMIT_MS);
  let closed = false;
  const finished = new Promise<Finished>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      closed = true;
      clearTimeout(timer);
      running.delete(child);
      for (const watch of [...watchers]) watch();
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
  return {
    child,
    stdout: () => stdout,
    finished,
    waitForStdout: (text) =>
      new Promise<void>((resolve, reject) => {
        const watch = () => {
          if (stdout.includes(text)) {
            watchers.splice(watchers.indexOf(watch), 1);
            resolve();
          } else if (closed) {
            watchers.splice(watchers.indexOf(watch), 1);
            reject(new Error(`seva ${args.join(' ')} ended before printing "${text}"\nstdout:\n${stdout}\nstderr:\n${stderr}`));
          }
        };
        watchers.push(watch);
        watch();
      }),
  };
}

async function runSeva(args: string[], env: NodeJS.ProcessEnv): Promise<Finished> {
  const result = await startSeva(args, env).finished;
  expect(result.timedOut, `seva ${args.join(' ')} did not finish; stdout:\n${result.stdout}\nstderr:\n${result.stderr}`).toBe(false);
  return result;
}

/** Stderr without Node's own warnings, which the CLI does not control. */
function stderrLines(stderr: string): string[] {
  return stderr
    .split('\n')
    .filter((line) => line.trim() !== '')
    .filter((line) => !line.startsWith('(node:') && !line.startsWith('(Use `node'));
}

/** A failed start: exit code 1 and exactly one line on stderr, `seva: ...`; returns that line. */
function expectOneLineFailure(result: Finished): string {
  const lines = stderrLines(result.stderr);
  expect(lines, `stderr was:\n${result.stderr}`).toHaveLength(1);
  expect(lines[0]).toMatch(/^seva: /);
  expect(result.code, `stderr was:\n${result.stderr}`).toBe(1);
  return lines[0]!;
}

function expectSuccess(result: Finished): void {
  expect(result.code, `stdout:\n${result.stdout}\nstderr:\n${result.stderr}`).toBe(0);
  expect(stderrLines(result.stderr)).toEqual([]);
}

describe('seva start refuses to boot with one clear line', () => {
  it(
    'with several server processes on the embedded database, before touching the data folder',
    async () => {
      const dataDir = freshDataDir();
      const result = await runSeva(['start'], sevaEnv(dataDir, { SEVA_PROCESSES: '2' }));
      expect(expectOneLineFailure(result)).toMatch(/^seva: SEVA_PROCESSES=2 needs DATABASE_URL/);
      expect(result.stdout).not.toMatch(/Seva is ready/);
      expect(existsSync(dataDir)).toBe(false);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'on bad configuration, before touching the data folder',
    async () => {
      const dataDir = freshDataDir();
      const line = expectOneLineFailure(await runSeva(['start'], sevaEnv(dataDir, { PORT: 'notaport' })));
      expect(line).toMatch(/^seva: invalid configuration: PORT: /);
      expect(line).toContain('notaport');
      expect(existsSync(dataDir)).toBe(false);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'when a selected module needs one that neither runs here nor has a URL',
    async () => {
      const line = expectOneLineFailure(await runSeva(['start'], sevaEnv(freshDataDir(), { SEVA_MODULES: 'pong' })));
      expect(line).toContain('"pong"');
      expect(line).toContain('"ping"');
      expect(line).toContain('SEVA_MODULE_URLS');
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'when PostgreSQL or NATS cannot be reached, naming the server but never the password',
    async () => {
      const key = Buffer.alloc(32, 3).toString('base64');
      const pg = expectOneLineFailure(
        await runSeva(['start'], sevaEnv(freshDataDir(), { DATABASE_URL: 'postgres://seva:hunter22@127.0.0.1:1/nodb', SEVA_MASTER_KEY: key })),
      );
      expect(pg).toMatch(/^seva: cannot reach PostgreSQL at 127\.0\.0\.1:1\/nodb: /);
      expect(pg).not.toContain('hunter22');
      const nats = expectOneLineFailure(
        await runSeva(['start'], sevaEnv(freshDataDir(), { NATS_URL: 'nats://127.0.0.1:1', SEVA_MASTER_KEY: key })),
      );
      expect(nats).toMatch(/^seva: cannot reach NATS at nats:\/\/127\.0\.0\.1:1: /);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'when a migration fails, naming owner/migration and the database error, and frees the data folder',
    async () => {
      const dataDir = freshDataDir();
      const result = await runSeva(['start'], sevaEnv(dataDir, { SEVA_MODULES: 'broken', SEVA_TEST_BROKEN_MIGRATION: '1' }));
      const line = expectOneLineFailure(result);
      expect(line).toContain('migration broken/001_missing_table failed');
      expect(line).toContain('missing_table" does not exist');
      expect(result.stdout).not.toContain('Seva is ready');
      expect(existsSync(join(dataDir, 'seva.lock'))).toBe(false);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'when another process holds the data folder; that process then shuts down cleanly on SIGTERM',
    async () => {
      const dataDir = freshDataDir();
      const first = startSeva(['start'], sevaEnv(dataDir));
      await first.waitForStdout('Seva is ready');
      expect(existsSync(join(dataDir, 'seva.lock'))).toBe(true);

      const second = await runSeva(['start'], sevaEnv(dataDir));
      const line = expectOneLineFailure(second);
      expect(line).toContain(`in use by process ${first.child.pid}`);
      expect(line).toContain(dataDir);

      first.child.kill('SIGTERM');
      const stopped = await first.finished;
      expect(stopped.timedOut).toBe(false);
      expectSuccess(stopped);
      expect(stopped.signal).toBeNull();
      expect(existsSync(join(dataDir, 'seva.lock'))).toBe(false);
    },
    TEST_TIMEOUT_MS,
  );
});

describe('seva check and seva migrate', () => {
  it(
    'check validates the configuration and prints the module plan',
    async () => {
      const all = await runSeva(['check'], sevaEnv(freshDataDir()));
      expectSuccess(all);
      expect(all.stdout).toContain('configuration ok; modules here: system, identity, reference, files, notify, registry, workflow, credentials, billing, ping, pong');

      const split = await runSeva(['check'], sevaEnv(freshDataDir(), { SEVA_MODULES: 'pong', SEVA_MODULE_URLS: 'ping=http://127.0.0.1:9' }));
      expectSuccess(split);
      expect(split.stdout).toContain('configuration ok; modules here: system, pong\n');
      expect(split.stdout).toContain('remote modules: ping=http://127.0.0.1:9');
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'migrate applies the pending migrations once; the second run finds the database up to date',
    async () => {
      const dataDir = freshDataDir();
      const first = await runSeva(['migrate'], sevaEnv(dataDir));
      expectSuccess(first);
      expect(first.stdout).toMatch(/^applied: kernel\//m);
      expect(first.stdout).toContain('ping/001_notes');
      expect(first.stdout).toContain('pong/001_seen');

      const second = await runSeva(['migrate'], sevaEnv(dataDir));
      expectSuccess(second);
      expect(second.stdout.trim()).toBe('database is up to date');
    },
    TEST_TIMEOUT_MS,
  );
});
