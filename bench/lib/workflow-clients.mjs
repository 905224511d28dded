// Load generator for the workflow bench, in a worker thread so that the clients' own work
// (HTTP client, JSON) does not run on the server's event loop. Plain JavaScript: workers do not
// go through the TypeScript loader.
import { parentPort, workerData } from 'node:worker_threads';

const { mode, base, headers, until, warmupUntil } = workerData;
const latencies = [];
let failures = 0;
let lastError = '';

async function transitions(processes) {
  await Promise.all(
    processes.map(async (p) => {
      while (performance.now() + performance.timeOrigin < until) {
        const started = performance.now();
        const res = await fetch(`${base}/processes/${p.id}/actions`, {
          method: 'POST',
          headers: { ...headers, 'content-type': 'application/json' },
          body: JSON.stringify({ action: p.state === 'OPEN' ? 'TAKE' : 'BACK', version: p.version, comment: 'bench' }),
        });
        const body = await res.json();
        if (res.status !== 200) {
          failures++;
          lastError = `${res.status} ${JSON.stringify(body).slice(0, 200)}`;
          continue;
        }
        if (performance.now() + performance.timeOrigin >= warmupUntil) latencies.push(performance.now() - started);
        p.version = body.version;
        p.state = body.state;
      }
    }),
  );
}

async function inbox(clients, queries) {
  let n = 0;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() + performance.timeOrigin < until) {
        const q = queries[n++ % queries.length];
        const started = performance.now();
        const res = await fetch(`${base}/inbox?${q}`, { headers });
        await res.arrayBuffer();
        if (res.status !== 200) {
          failures++;
          lastError = `${res.status} for ${q}`;
          continue;
        }
        if (performance.now() + performance.timeOrigin >= warmupUntil) latencies.push(performance.now() - started);
      }
    }),
  );
}

if (mode === 'transitions') await transitions(workerData.processes);
else await inbox(workerData.clients, workerData.queries);
parentPort.postMessage({ latencies, failures, lastError });
