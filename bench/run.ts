/**
 * `npm run bench` runs every group; `npm run bench -- outbox` (or `startup`, `http`, `auth`, `reference`, `files`, `notify`, `registry`, `workflow`, `billing`, `credentials`, several
 * names) runs some. Progress goes to stderr; stdout gets one markdown table.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { authBench } from './auth.js';
import { billingBench } from './billing.js';
import { credentialsBench } from './credentials.js';
import { filesBench } from './files.js';
import { httpBench } from './http.js';
import { machineSpeed } from './lib/machine-speed.js';
import { fmt, markdownTable, note, progress, type Row } from './lib/report.js';
import { installCleanup, removeLater } from './lib/seva-process.js';
import { notifyBench } from './notify.js';
import { outboxBench } from './outbox.js';
import { referenceBench } from './reference.js';
import { registryBench } from './registry.js';
import { startupBench } from './startup.js';
import { workflowBench } from './workflow.js';

const GROUPS: Record<string, (workDir: string) => Promise<Row[]>> = {
  startup: startupBench,
  http: httpBench,
  outbox: outboxBench,
  auth: authBench,
  reference: referenceBench,
  files: filesBench,
  notify: notifyBench,
  registry: registryBench,
  workflow: workflowBench,
  billing: billingBench,
  credentials: credentialsBench,
};

/** Whatever hangs, the bench ends: children are killed by the exit hook. */
const WATCHDOG_MS = 5 * 60_000;
/** The registry group generates and indexes a million records on PostgreSQL first. */
const REGISTRY_EXTRA_MS = 10 * 60_000;

async function main(): Promise<void> {
  const asked = process.argv.slice(2).filter((a) => a !== '--');
  const unknown = asked.filter((name) => !(name in GROUPS));
  if (unknown.length > 0) {
    process.stderr.write(`unknown bench group ${unknown.join(', ')}; known: ${Object.keys(GROUPS).join(', ')}\n`);
    process.exit(2);
  }
  const names = asked.length > 0 ? asked : Object.keys(GROUPS);

  installCleanup();
  const limitMs = WATCHDOG_MS + (names.includes('registry') && process.env.DATABASE_URL ? REGISTRY_EXTRA_MS : 0);
  const watchdog = setTimeout(() => {
    process.stderr.write(`bench: still running after ${limitMs / 1000} s; giving up\n`);
    process.exit(1);
  }, limitMs);
  watchdog.unref();

  const workDir = mkdtempSync(join(tmpdir(), 'seva-bench-'));
  removeLater(workDir);
  progress(`groups: ${names.join(', ')}; database: ${process.env.DATABASE_URL ? 'PostgreSQL too' : 'PGlite only'}; NATS: ${process.env.NATS_URL ? 'yes' : 'no'}`);

  const speedBefore = machineSpeed();
  progress(`machine speed: Ed25519 check ${fmt(speedBefore.ed25519Us, 1)} µs, JSON round trip ${fmt(speedBefore.jsonUs, 1)} µs (lower is faster)`);
  const started = performance.now();
  const rows: Row[] = [];
  let failed = false;
  for (const name of names) {
    try {
      rows.push(...(await GROUPS[name]!(workDir)));
    } catch (err) {
      failed = true;
      progress(`${name} failed: ${(err as Error).stack ?? String(err)}`);
      rows.push(note(name, '—', `failed: ${(err as Error).message.split('\n')[0]!.slice(0, 160)}`, 'FAIL'));
    }
  }
  progress(`done in ${Math.round((performance.now() - started) / 1000)} s`);
  const speedAfter = machineSpeed();
  rows.push(
    note(
      'machine speed, before / after the run (a fixed workload: OpenSSL Ed25519 check, JSON round trip; lower is faster)',
      'this machine',
      `${fmt(speedBefore.ed25519Us, 1)} / ${fmt(speedAfter.ed25519Us, 1)} µs, ${fmt(speedBefore.jsonUs, 1)} / ${fmt(speedAfter.jsonUs, 1)} µs`,
      '—',
    ),
  );
  process.stdout.write(`${markdownTable(rows)}\n`);
  process.exit(failed || rows.some((r) => r.verdict === 'FAIL') ? 1 : 0);
}

await main();
