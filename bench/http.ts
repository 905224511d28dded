import autocannon from 'autocannon';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fmt, note, progress, row, type Row } from './lib/report.js';
import { startSeva, stopSeva, warmCli } from './lib/seva-process.js';

const ENGINE = 'PGlite (CLI)';
const CONNECTIONS = 100;
const WARMUP_S = 1;
const DURATION_S = 5;

/** Keep-alive clients send one request at a time (1); a proxy multiplexing many users comes closer to 10. */
const SCENARIOS = [{ pipelining: 1 }, { pipelining: 10 }];

/**
 * /health/live (no database, no auth) on the real CLI server: the HTTP stack's own ceiling with
 * its hooks (request id, metrics). The server is a child process; autocannon runs here, so on
 * two cores each gets one.
 */
export async function httpBench(workDir: string): Promise<Row[]> {
  const dataDir = join(workDir, 'data-cli');
  await warmCli();
  progress(`http: starting the CLI server (${existsSync(dataDir) ? 'existing' : 'fresh'} data folder)`);
  const server = await startSeva(dataDir);
  const rows: Row[] = [];
  try {
    const url = `${server.url}/health/live`;
    for (const { pipelining } of SCENARIOS) {
      const label = `${CONNECTIONS} conns, pipelining ${pipelining}`;
      progress(`http: ${label}: ${WARMUP_S} s warm-up, ${DURATION_S} s measured`);
      await autocannon({ url, connections: CONNECTIONS, pipelining, duration: WARMUP_S });
      const result = await autocannon({ url, connections: CONNECTIONS, pipelining, duration: DURATION_S });
      const bad = result.non2xx + result.errors + result.timeouts;
      progress(`  ${fmt(result.requests.average)} req/s, p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, ${fmt(result.requests.total)} requests, non-2xx/errors/timeouts ${result.non2xx}/${result.errors}/${result.timeouts}`);
      if (bad > 0) {
        rows.push(note(`/health/live throughput (${label})`, ENGINE, `${bad} failed requests`, 'FAIL', '> 20,000 req/s'));
        continue;
      }
      rows.push(row(`/health/live throughput (${label})`, ENGINE, result.requests.average, 'req/s', { above: 20_000 }));
      rows.push(row(`/health/live p99 latency (${label})`, ENGINE, result.latency.p99, 'ms'));
    }
  } finally {
    await stopSeva(server);
  }
  return rows;
}
