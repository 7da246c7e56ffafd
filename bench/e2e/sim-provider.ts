/**
 * The simulated provider's HTTP server for the end-to-end benchmark, in its own process: the
 * market-week provider model of ../shared/workloads/market-week.md (the default profiles of
 * @fiml/providers: equities-batch 100 symbols per call at 300 calls/min, crypto-batch 250 at
 * 30/min, reference-single 1 at 60/min, lognormal latencies waited out, 429 with Retry-After
 * past a limit, 0.5 % of calls answered 503), plus what the `sim-provider` command lacks for a
 * benchmark: counters of every call, by provider, data type and answer, served as JSON on a
 * second port. They are the upstream's own view: calls our limiters refused never reach it.
 *
 * Environment: SEED (the workload's seed, so the universe matches), PORT, COUNTERS_PORT,
 * SIM_LATENCY_SCALE (default 1). Writes one JSON line when listening; stops on SIGTERM.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DataType } from '@fiml/market';
import { startSimulatedProviderServer, type UpstreamAnswer } from '@fiml/simulator';

export type SimAnswerStatus = UpstreamAnswer['status'];

/** One provider's counters, as GET /counters serves them. */
export interface SimProviderCounters {
  /** Calls by answer (ok, rate-limited = 429, failed = 5xx, bad-request). */
  readonly calls: Record<SimAnswerStatus, number>;
  /** Calls by data type (every answer). */
  readonly byDataType: Partial<Record<DataType, number>>;
  /** Symbols asked for in calls answered ok. */
  symbolsServed: number;
  /** Modeled latency of every call, summed (ms). */
  latencyMsTotal: number;
}

const log = (msg: string, fields: Record<string, unknown> = {}): void => {
  process.stdout.write(
    `${JSON.stringify({ level: 'info', service: 'sim-provider', msg, ...fields })}\n`,
  );
};

function intFrom(name: string, fallback: number): number {
  const raw = process.env[name];
  const value = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isInteger(value) || value < 0) {
    process.stderr.write(`sim-provider (bench): ${name} must be an integer >= 0, got ${raw}\n`);
    process.exit(2);
  }
  return value;
}

const seedText = process.env.SEED ?? '1';
const seed = /^\d+$/.test(seedText) ? Number(seedText) : seedText;
const latencyScale = Number(process.env.SIM_LATENCY_SCALE ?? 1);
if (!Number.isFinite(latencyScale) || latencyScale < 0) {
  process.stderr.write(`sim-provider (bench): SIM_LATENCY_SCALE must be >= 0\n`);
  process.exit(2);
}

const server = await startSimulatedProviderServer({
  seed,
  port: intFrom('PORT', 0),
  delay: true,
  latencyScale,
});

const counters = new Map<string, SimProviderCounters>();
for (const upstream of server.upstreams.values()) {
  const mine: SimProviderCounters = {
    calls: { ok: 0, 'rate-limited': 0, failed: 0, 'bad-request': 0 },
    byDataType: {},
    symbolsServed: 0,
    latencyMsTotal: 0,
  };
  counters.set(upstream.id, mine);
  // Counting wraps the upstream's one entry point: every HTTP data call goes through it.
  const call = upstream.call.bind(upstream);
  upstream.call = (dataType, assets) => {
    const answer = call(dataType, assets);
    mine.calls[answer.status] += 1;
    mine.byDataType[dataType] = (mine.byDataType[dataType] ?? 0) + 1;
    mine.latencyMsTotal += answer.latencyMs * latencyScale;
    if (answer.status === 'ok') mine.symbolsServed += assets.length;
    return answer;
  };
}

const countersServer = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/counters') {
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify(Object.fromEntries(counters)));
    return;
  }
  res.writeHead(404).end();
});
await new Promise<void>((resolve) =>
  countersServer.listen(intFrom('COUNTERS_PORT', 0), '127.0.0.1', resolve),
);
const countersPort = (countersServer.address() as AddressInfo).port;
log('simulated provider listening', {
  url: server.url,
  counters: `http://127.0.0.1:${countersPort}/counters`,
  seed,
  latencyScale,
  providers: [...server.upstreams.values()].map((u) => u.profile),
  universe: {
    equity: server.market.universe.equity.length,
    crypto: server.market.universe.crypto.length,
  },
});

let stopping = false;
const stop = (signal: NodeJS.Signals): void => {
  if (stopping) return;
  stopping = true;
  log('simulated provider stopping', { signal });
  countersServer.closeAllConnections();
  Promise.all([server.close(), new Promise((resolve) => countersServer.close(resolve))]).then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`sim-provider (bench): did not close cleanly: ${String(error)}\n`);
      process.exit(1);
    },
  );
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
