// The benches' HTTP clients, in a worker thread so that their own work (HTTP client, JSON) does
// not run on the event loop of the server they measure. Plain JavaScript: workers do not go
// through the TypeScript loader. Each scenario is a loop per client; latencies are kept only
// after the warm-up.
import http from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';

const { scenario, base, headers, until, warmupUntil } = workerData;
const latencies = [];
let failures = 0;
let lastError = '';
/** Answers that arrived inside the measured window (the rate actually served). */
let completed = 0;
const now = () => performance.timeOrigin + performance.now();

// node:http with kept-alive sockets: about half the client CPU of fetch per request, which on a
// shared 2-core machine is CPU the server under test gets back.
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

function request(url, { method = 'GET', headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers: body === undefined ? headers : { ...headers, 'content-length': Buffer.byteLength(body) }, agent }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** One request: its latency is kept when it answered `expected` (after the warm-up), else a failure. */
async function timed(url, init, expected) {
  const started = performance.now();
  const res = await request(url, init);
  const text = res.text;
  if (res.status !== expected) {
    failures++;
    lastError = `${res.status} ${text.slice(0, 200)}`;
    return undefined;
  }
  if (now() >= warmupUntil) latencies.push(performance.now() - started);
  return text;
}

const scenarios = {
  /** Workflow: each client moves its own process back and forth (OPEN ⇄ WORKING). */
  async transitions({ processes }) {
    await Promise.all(
      processes.map(async (p) => {
        while (now() < until) {
          const body = JSON.stringify({ action: p.state === 'OPEN' ? 'TAKE' : 'BACK', version: p.version, comment: 'bench' });
          const text = await timed(`${base}/processes/${p.id}/actions`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body }, 200);
          if (text === undefined) continue;
          const next = JSON.parse(text);
          p.version = next.version;
          p.state = next.state;
        }
      }),
    );
  },
  /**
   * Workflow at a set rate: each client sends its next transition on a fixed schedule (`rate` per
   * second over all clients), and a latency runs from the moment the request was due, not from
   * when it was sent: a server that falls behind is charged for the wait it caused
   * (no coordinated omission). Each client on its own process, as in `transitions`.
   */
  async transitionsPaced({ processes, rate }) {
    const interval = (1000 * processes.length) / rate;
    const started = now();
    await Promise.all(
      processes.map(async (p, i) => {
        for (let k = 0; ; k++) {
          const due = started + (i * interval) / processes.length + k * interval;
          if (due >= until) break;
          if (due > now()) await new Promise((r) => setTimeout(r, due - now()));
          const body = JSON.stringify({ action: p.state === 'OPEN' ? 'TAKE' : 'BACK', version: p.version, comment: 'bench' });
          const res = await request(`${base}/processes/${p.id}/actions`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body });
          if (res.status !== 200) {
            failures++;
            lastError = `${res.status} ${res.text.slice(0, 200)}`;
            continue;
          }
          const at = now();
          if (due >= warmupUntil) latencies.push(at - due);
          if (at >= warmupUntil && at < until) completed++;
          const next = JSON.parse(res.text);
          p.version = next.version;
          p.state = next.state;
        }
      }),
    );
  },
  /** Workflow: the inbox, cycling through the query strings. */
  async inbox({ clients, queries }) {
    let n = 0;
    await Promise.all(Array.from({ length: clients }, async () => {
      while (now() < until) await timed(`${base}/inbox?${queries[n++ % queries.length]}`, { headers }, 200);
    }));
  },
  /** Billing: counter payments, each of the next unpaid bill (`${billPrefix}${n}`, n from 1 to `bills`). */
  async payments({ clients, tenantId, billPrefix, bills, amount }) {
    let next = 0;
    await Promise.all(Array.from({ length: clients }, async () => {
      while (now() < until && next < bills) {
        const n = ++next;
        const body = JSON.stringify({ tenantId, billId: `${billPrefix}${n}`, amount, mode: 'cash', idempotencyKey: `bench-payment-${n}` });
        await timed(`${base}/payments/counter`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body }, 201);
      }
    }));
  },
  /** POSTs each body in turn (`bodies`, JSON texts) to `path`, `clients` at once; an answer must hold `mustContain` when given. */
  async posts({ clients, path, bodies, expected = 200, mustContain }) {
    let n = 0;
    await Promise.all(Array.from({ length: clients }, async () => {
      while (now() < until) {
        const text = await timed(`${base}${path}`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: bodies[n++ % bodies.length] }, expected);
        if (text !== undefined && mustContain && !text.includes(mustContain)) {
          failures++;
          lastError = `answer without ${mustContain}: ${text.slice(0, 200)}`;
        }
      }
    }));
  },
};

await scenarios[scenario](workerData);
parentPort.postMessage({ latencies, failures, lastError, requests: latencies.length, completed });
