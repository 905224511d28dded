// The benches' HTTP clients, in a worker thread so that their own work (HTTP client, JSON) does
// not run on the event loop of the server they measure. Plain JavaScript: workers do not go
// through the TypeScript loader. Each scenario is a loop per client; latencies are kept only
// after the warm-up.
import net from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';

const { scenario, base, headers, until, warmupUntil } = workerData;
const latencies = [];
let failures = 0;
let lastError = '';
/** Answers that arrived inside the measured window (the rate actually served). */
let completed = 0;
const now = () => performance.timeOrigin + performance.now();

// A minimal HTTP/1.1 client on kept-alive sockets: one request in flight per connection, the
// request written as one string, the answer read by its Content-Length (Fastify's JSON answers
// carry one). Lighter per request than node:http's client (which was half of fetch's):
// on a shared 2-core machine that is CPU the server under test gets back, as it would with
// clients on other machines.
const origin = new URL(base).origin;
const { hostname, port } = new URL(base);
const idle = [];

class Connection {
  constructor() {
    this.socket = net.connect({ host: hostname, port: Number(port) });
    this.socket.setNoDelay(true);
    this.buffer = null;
    this.pending = null;
    this.socket.on('data', (chunk) => this.read(chunk));
    this.socket.on('error', (err) => this.fail(err));
    this.socket.on('close', () => this.fail(new Error('connection closed')));
  }

  send(text, resolve, reject) {
    this.pending = { resolve, reject };
    this.socket.write(text);
  }

  read(chunk) {
    this.buffer = this.buffer ? Buffer.concat([this.buffer, chunk]) : chunk;
    const end = this.buffer.indexOf('\r\n\r\n');
    if (end < 0) return;
    const head = this.buffer.toString('latin1', 0, end);
    const length = /\r\ncontent-length: *(\d+)/i.exec(head);
    if (!length) return this.fail(new Error(`an answer without Content-Length: ${head.slice(0, 200)}`));
    const total = end + 4 + Number(length[1]);
    if (this.buffer.length < total) return;
    const answer = { status: Number(head.slice(9, 12)), text: this.buffer.toString('utf8', end + 4, total) };
    this.buffer = null;
    const pending = this.pending;
    this.pending = null;
    idle.push(this);
    pending?.resolve(answer);
  }

  fail(err) {
    const at = idle.indexOf(this);
    if (at >= 0) idle.splice(at, 1);
    this.socket.destroy();
    const pending = this.pending;
    this.pending = null;
    pending?.reject(err);
  }
}

function request(url, { method = 'GET', headers = {}, body } = {}) {
  let text = `${method} ${url.slice(origin.length)} HTTP/1.1\r\nhost: ${hostname}\r\n`;
  for (const name in headers) text += `${name}: ${headers[name]}\r\n`;
  text += body === undefined ? '\r\n' : `content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
  return new Promise((resolve, reject) => (idle.pop() ?? new Connection()).send(text, resolve, reject));
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
