import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { SHIPPED_CLI, startSevaProcess } from './support/seva-process.js';
import { eventually } from './support/test-runtime.js';

// The README's promise: `npm start` (bin/seva.js, the bundled CLI) serves on a fresh folder.
const dataDir = mkdtempSync(join(tmpdir(), 'seva-quick-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
// The first start builds the bundle, as after `npm install` or a source change.
rmSync(new URL('../dist/seva.cjs', import.meta.url), { force: true });

/** The commands of a process's children (Linux), e.g. a build tool left running. */
function childCommands(pid: number): string[] {
  const tasks = `/proc/${pid}/task`;
  if (!existsSync(`${tasks}/${pid}/children`)) return [];
  const children = readdirSync(tasks).flatMap((t) => readFileSync(`${tasks}/${t}/children`, 'utf8').trim().split(/\s+/).filter(Boolean));
  // A child that exits between the two reads is not left running: skip it.
  return children.flatMap((c) => {
    try {
      return [readFileSync(`/proc/${c}/cmdline`, 'utf8').replaceAll('\0', ' ').trim()];
    } catch {
      return [];
    }
  });
}

it('npm start serves a fresh data folder, prints the URL and the sign-in line, and stops cleanly', async () => {
  const seva = await startSevaProcess({ SEVA_DATA_DIR: dataDir }, 90_000, SHIPPED_CLI);
  try {
    expect(seva.output()).toContain(`API docs:  ${seva.url.replace('127.0.0.1', 'localhost')}/docs`);
    // Building the bundle started esbuild's service process; it must not outlive the build.
    expect(childCommands(seva.pid)).toEqual([]);
    expect(seva.output()).toContain('sign-in (shown this once)');
    expect((await fetch(`${seva.url}/health/ready`)).status).toBe(200);
    expect(((await (await fetch(`${seva.url}/openapi.json`)).json()) as { openapi: string }).openapi).toBe('3.1.0');
    expect((await fetch(`${seva.url}/docs/`)).headers.get('content-type')).toContain('text/html');
    const denied = await fetch(`${seva.url}/api/system/v1/dead-letters`);
    expect(denied.status).toBe(401);
    expect(denied.headers.get('content-type')).toContain('application/problem+json');
    // The printed demo administrator signs in, and the token opens what was closed above.
    const [, username, password] = /administrator \(tenant in\): (\S+) \/ (\S+)/.exec(seva.output()) ?? [];
    expect(username).toBe('admin');
    const token = await fetch(`${seva.url}/api/identity/v1/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'password', username: username!, password: password!, tenant: 'in' }),
    });
    expect(token.status).toBe(200);
    const { access_token } = (await token.json()) as { access_token: string };
    const allowed = await fetch(`${seva.url}/api/system/v1/dead-letters`, { headers: { authorization: `Bearer ${access_token}` } });
    expect(allowed.status).toBe(200);
  } finally {
    expect(await seva.stop()).toBe(0);
  }
}, 180_000);

it('a later start runs from V8’s code cache of the bundle, job queue included', async () => {
  const cache = new URL('../dist/seva.cjs.cache', import.meta.url);
  // A start leaves the cache once its job workers have started (or finds one it could use).
  const first = await startSevaProcess({ SEVA_DATA_DIR: dataDir }, 90_000, SHIPPED_CLI);
  try {
    await eventually(async () => existsSync(cache), 'the code cache to be written');
  } finally {
    expect(await first.stop()).toBe(0);
  }
  const seva = await startSevaProcess({ SEVA_DATA_DIR: dataDir }, 90_000, SHIPPED_CLI);
  try {
    const ready = await eventually(async () => {
      const body = (await (await fetch(`${seva.url}/health/ready`)).json()) as { checks: { jobs: string } };
      return body.checks.jobs === 'ok' || body.checks.jobs === 'failed' ? body : undefined;
    }, 'the job queue to start');
    expect(ready.checks.jobs).toBe('ok');
    expect(seva.output()).not.toContain('did not start');
  } finally {
    expect(await seva.stop()).toBe(0);
  }
}, 180_000);
