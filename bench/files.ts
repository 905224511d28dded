import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { loadConfig, startRuntime, type Runtime } from '../src/kernel/index.js';
import { filesModule } from '../src/modules/files/index.js';
import { identityModule } from '../src/modules/identity/index.js';
import { fmt, progress, row, type Row } from './lib/report.js';

const ENGINE = 'PGlite, local store (in process)';
const SIZES = [
  { label: '100 KB', bytes: 100 * 1024, clients: 4 },
  { label: '5 MB', bytes: 5 * 1024 * 1024, clients: 2 },
];
const WARMUP_MS = 500;
const MEASURE_MS = 4000;

/**
 * Upload and download throughput of the files module on the local store: a runtime with identity
 * and files on in-memory PGlite, its files in the bench's work folder, listening on a free port.
 * Clients in this process send raw PDF bodies with `fetch` (a new random body per upload, so
 * every file differs) and read downloads to the end. Each phase: a warm-up, then as many
 * requests as fit in the measured window on a few concurrent clients. Uploads include sniffing,
 * SHA-256, fsync + rename, the row, audit and event; downloads include the checksum pass before
 * sending and the audit entry.
 */
export async function filesBench(workDir: string): Promise<Row[]> {
  const config = loadConfig({
    env: {},
    overrides: { dataDir: 'memory://', filesDir: join(workDir, 'files'), logLevel: 'warn', port: 0, host: '127.0.0.1' },
  });
  progress('files: starting a runtime with identity and files on in-memory PGlite');
  const runtime = await startRuntime({ config, catalog: [identityModule, filesModule], listen: true });
  progress(`files: runtime ready in ${runtime.timings.ready} ms`);
  const rows: Row[] = [];
  try {
    const headers = { 'x-seva-actor': await runtime.internalToken({ kind: 'user', id: 'usr_bench', tenantId: 'bench', roles: [], permissions: ['files.*'] }) };
    for (const size of SIZES) {
      const bodies = Array.from({ length: size.clients }, () => pdf(size.bytes));
      const ids: string[] = [];
      const upload = await measure(`upload ${size.label}`, size.clients, async (client) => {
        const res = await fetch(`${runtime.url}/api/files/v1/files?purpose=document&name=bench.pdf`, {
          method: 'POST',
          headers: { ...headers, 'content-type': 'application/pdf' },
          body: fresh(bodies[client]!),
        });
        if (res.status !== 201) throw new Error(`upload answered ${res.status}: ${await res.text()}`);
        ids.push(((await res.json()) as { id: string }).id);
      });
      const download = await measure(`download ${size.label}`, size.clients, async (client, n) => {
        const id = ids[(n * size.clients + client) % ids.length]!;
        const res = await fetch(`${runtime.url}/api/files/v1/files/${id}/content`, { headers });
        const bytes = Buffer.from(await res.arrayBuffer());
        if (res.status !== 200 || bytes.length !== size.bytes) throw new Error(`download answered ${res.status} with ${bytes.length} bytes`);
        if (n === 0 && res.headers.get('etag') !== `"${createHash('sha256').update(bytes).digest('hex')}"`) throw new Error('download does not match its checksum');
      });
      for (const [what, result] of [['upload', upload], ['download', download]] as const) {
        rows.push(row(`files ${what} ${size.label} (${size.clients} clients)`, ENGINE, result.perSecond, 'files/s', undefined, 1));
        rows.push(row(`files ${what} ${size.label} (${size.clients} clients), bytes`, ENGINE, (result.perSecond * size.bytes) / 1024 / 1024, 'MiB/s', undefined, 1));
      }
    }
  } finally {
    await stop(runtime);
  }
  return rows;
}

/** Runs `clients` loops of `request` through a warm-up and a measured window; requests per second. */
async function measure(label: string, clients: number, request: (client: number, n: number) => Promise<void>): Promise<{ perSecond: number }> {
  progress(`files: ${label}: ${WARMUP_MS} ms warm-up, ${MEASURE_MS} ms measured, ${clients} clients`);
  const started = performance.now();
  const measureFrom = started + WARMUP_MS;
  const until = measureFrom + MEASURE_MS;
  let counted = 0;
  let firstCounted = Number.POSITIVE_INFINITY;
  let lastDone = 0;
  await Promise.all(
    Array.from({ length: clients }, async (_, client) => {
      for (let n = 0; performance.now() < until; n++) {
        const begun = performance.now();
        await request(client, n);
        if (begun >= measureFrom) {
          counted++;
          firstCounted = Math.min(firstCounted, begun);
          lastDone = Math.max(lastDone, performance.now());
        }
      }
    }),
  );
  const perSecond = counted === 0 ? 0 : (counted * 1000) / (lastDone - Math.min(firstCounted, measureFrom));
  progress(`  ${counted} requests, ${fmt(perSecond, 1)}/s`);
  return { perSecond };
}

/** A PDF header and random bytes: a body the module accepts as a document. */
function pdf(bytes: number): Buffer {
  const body = randomBytes(bytes);
  body.write('%PDF-1.7\n', 0, 'latin1');
  return body;
}

/** The same size, different bytes at the end, so every upload is a new file with its own checksum. */
function fresh(template: Buffer): Buffer {
  randomBytes(16).copy(template, template.length - 16);
  return template;
}

async function stop(runtime: Runtime): Promise<void> {
  const started = performance.now();
  await runtime.stop();
  progress(`files: runtime stopped in ${Math.round(performance.now() - started)} ms`);
}
