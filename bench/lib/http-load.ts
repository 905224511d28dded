import { Worker } from 'node:worker_threads';

export interface LoadResult {
  /** Latencies in ms of the successful requests after the warm-up. */
  latencies: number[];
  failures: number;
  lastError: string;
  /** Answers that arrived inside the measured window (set by the scheduled scenarios). */
  completed: number;
}

/**
 * Warm-up before a server's first measured phase. V8 keeps optimizing the server's code for
 * seconds under load: in a billing run its optimizing compiler finished 270, 280, 194, 182, 138,
 * 48, 26, 28 functions in the first eight seconds, on the second core that the database and
 * clients need, so a phase measured after one second partly measured the JIT's warm-up
 * (676–723 payments/s against 769–921 after six seconds, alternating runs). A server runs for
 * hours: what counts is after.
 */
export const WARMUP_MS = 5_000;

/**
 * Runs one of `http-clients.mjs`'s scenarios in a worker thread for `warmupMs` + `measureMs`:
 * the clients then cost the server's event loop nothing, as separate client machines would.
 */
export function runClients(scenario: 'transitions' | 'transitionsPaced' | 'inbox' | 'payments' | 'posts', data: Record<string, unknown>, warmupMs: number, measureMs: number): Promise<LoadResult> {
  const now = performance.timeOrigin + performance.now();
  const worker = new Worker(new URL('./http-clients.mjs', import.meta.url), {
    workerData: { ...data, scenario, warmupUntil: now + warmupMs, until: now + warmupMs + measureMs },
  });
  return new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
}

/** A real access token from identity's password grant, as a client of the API holds one. */
export async function passwordLogin(origin: string, username: string, password: string, tenant: string): Promise<Record<string, string>> {
  const res = await fetch(`${origin}/api/identity/v1/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ grant_type: 'password', username, password, tenant }),
  });
  if (res.status !== 200) throw new Error(`password grant for ${username} answered ${res.status}: ${await res.text()}`);
  return { authorization: `Bearer ${((await res.json()) as { access_token: string }).access_token}` };
}
