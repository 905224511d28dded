import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

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
