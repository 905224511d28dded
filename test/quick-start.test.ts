import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';

// The README's promise: `npm start` (bin/seva.js, the bundled CLI) serves on a fresh folder.
const root = fileURLToPath(new URL('..', import.meta.url));
const dataDir = mkdtempSync(join(tmpdir(), 'seva-quick-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

it('npm start serves a fresh data folder, prints the URL and the sign-in line, and stops cleanly', async () => {
  const child = spawn(process.execPath, ['bin/seva.js', 'start'], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', PORT: '0', SEVA_DATA_DIR: dataDir, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`not ready in time:\n${out}`)), 90_000);
      child.stdout.on('data', () => {
        const match = /Seva is ready at (http:\/\/\S+)/.exec(out);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]!.replace('localhost', '127.0.0.1'));
        }
      });
      void exited.then((code) => reject(new Error(`exited ${code}:\n${out}`)));
    });
    expect(out).toContain(`API docs:  ${url.replace('127.0.0.1', 'localhost')}/docs`);
    expect(out).toMatch(/demo sign-in/);

    expect((await fetch(`${url}/health/ready`)).status).toBe(200);
    expect(((await (await fetch(`${url}/openapi.json`)).json()) as { openapi: string }).openapi).toBe('3.1.0');
    const docs = await fetch(`${url}/docs/`);
    expect(docs.headers.get('content-type')).toContain('text/html');
    const denied = await fetch(`${url}/api/system/v1/dead-letters`);
    expect(denied.status).toBe(401);
    expect(denied.headers.get('content-type')).toContain('application/problem+json');
  } finally {
    child.kill('SIGTERM');
  }
  expect(await exited).toBe(0);
}, 180_000);
