// `npm start`: the whole system on this machine. Installs and builds, starts an
// embedded redis-server unless REDIS_QUEUE_URL / REDIS_CACHE_URL are set, runs
// the api, batch-scheduler and warmer with prefixed logs, sends demo traffic,
// keeps every child running (one that dies is restarted, with backoff), and on
// Ctrl-C stops everything it started.
//
// Switches for tests and the impatient: FIML_UP_SKIP_INSTALL=1 and
// FIML_UP_SKIP_BUILD=1 skip the set-up (the workspace must be installed and
// built); FIML_UP_PORTS=free puts every port not set explicitly (API_PORT) on a
// free ephemeral port instead of 6390, 9200, 9101 and 9102.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createRunDir, removePid, startWatchdog, writePid } from './run-dir.mjs';
import {
  ensurePnpm,
  ensureRedisServer,
  findOnPath,
  installDependencies,
  root,
  run,
  say,
} from './toolchain.mjs';

const colors = {
  api: 36,
  'batch-scheduler': 35,
  warmer: 33,
  redis: 31,
  'sim-provider': 34,
  demo: 32,
};
const tty = process.stdout.isTTY;
const tag = (name) => {
  const label = `[${name}]`.padEnd(18);
  return tty ? `\x1b[${colors[name] ?? 37}m${label}\x1b[0m` : label;
};

/** Children run in their own process group (Ctrl-C reaches only us, and we stop them in order);
 * setpriv makes the kernel kill them if this script dies without cleaning up. */
const setpriv = process.platform === 'linux' ? findOnPath('setpriv') : undefined;
function spawnOwned(command, args, options) {
  const [cmd, argv] = setpriv
    ? [setpriv, ['--pdeathsig', 'SIGTERM', '--', command, ...args]]
    : [command, args];
  return spawn(cmd, argv, { ...options, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
}

function prefixOutput(name, child, onLine, show = () => true) {
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => {
      onLine?.(line);
      if (show(line)) process.stdout.write(`${tag(name)} ${line}\n`);
    });
  }
}

/** Redis marks warnings with "#"; its notices (start-up banner, ready) would drown the app logs,
 * and so would the "#" lines it prints on every start and stop. */
const redisChatter =
  /Redis is starting|Redis version=|Configuration loaded|Server initialized|User requested shutdown|ready to exit, bye bye/;
const redisWarning = (line) => / # /.test(line) && !redisChatter.test(line);

function portIsFree(port) {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** `preferred` if free, else a free port; `explicit`: the user asked for it (kept with FIML_UP_PORTS=free). */
async function choosePort(preferred, { explicit = false } = {}) {
  if (process.env.FIML_UP_PORTS === 'free' && !explicit) return freePort();
  if (await portIsFree(preferred)) return preferred;
  const port = await freePort();
  say(`port ${preferred} is taken; using ${port}`);
  return port;
}

// ---------------------------------------------------------------- set-up
const skipInstall = process.env.FIML_UP_SKIP_INSTALL === '1';
const skipBuild = process.env.FIML_UP_SKIP_BUILD === '1';
if (!skipInstall || !skipBuild) {
  const env = { ...ensurePnpm(), TURBO_TELEMETRY_DISABLED: '1', DO_NOT_TRACK: '1' };
  if (!skipInstall) installDependencies(env);
  if (!skipBuild) {
    say('building the apps and their packages');
    run(
      'pnpm',
      [
        'exec',
        'turbo',
        'run',
        'build',
        '--filter=./apps/*',
        '--filter=@fiml/simulator',
        '--output-logs=errors-only',
      ],
      { env },
    );
  }
}

// A .env at the repository root configures the local run as it does the apps.
if (existsSync(join(root, '.env'))) process.loadEnvFile(join(root, '.env'));

// ---------------------------------------------------------------- supervision
// Once the system is up, a child that dies is started again with the same
// command, environment and port (the embedded redis-server also keeps its data
// dir), after a pause that doubles with each quick death up to a cap, and one
// line says so; the others keep running (the apps reconnect to Redis by
// themselves). A child that dies while the system is still starting is a set-up
// problem (a bad .env, a missing build), not a crash: that stops everything, as
// a restart would only repeat it.

/** Pause before the first restart; it doubles with each quick death. */
const RESTART_DELAY_MS = 1_000;
const RESTART_DELAY_MAX_MS = 30_000;
/** A child that ran this long was healthy: its next restart waits RESTART_DELAY_MS again. */
const HEALTHY_RUN_MS = 60_000;
/** Ctrl-C sends SIGTERM to each child in turn; one that has not exited by then gets SIGKILL. */
const STOP_TIMEOUT_MS = 20_000;

const { dir: runDir, removed: swept } = createRunDir();
for (const dir of swept) say(`removed ${dir}, left by a launcher that no longer runs`);
startWatchdog(runDir, { terminate: !setpriv });

/** name -> { name, start, child, startedAt, quickDeaths, restarts, timer } */
const services = new Map();
let supervising = false;
let stopping = false;
let demoTimer;

function launch(service) {
  const child = service.start();
  service.child = child;
  service.startedAt = performance.now();
  if (child.pid) writePid(runDir, service.name, child.pid);
  let ended = false;
  const onEnd = (code, signal, error) => {
    if (ended) return;
    ended = true;
    removePid(runDir, service.name);
    if (!stopping) onUnexpectedExit(service, error ? error.message : describeExit(code, signal));
  };
  child.once('exit', (code, signal) => onEnd(code, signal));
  child.once('error', (error) => onEnd(null, null, error));
}

const describeExit = (code, signal) => (signal ? `signal ${signal}` : `code ${code}`);

function onUnexpectedExit(service, how) {
  if (!supervising) {
    say(`${service.name} exited while starting (${how}); stopping the rest`);
    void stopAll(1);
    return;
  }
  if (performance.now() - service.startedAt >= HEALTHY_RUN_MS) service.quickDeaths = 0;
  const delayMs = Math.min(RESTART_DELAY_MS * 2 ** service.quickDeaths, RESTART_DELAY_MAX_MS);
  service.quickDeaths += 1;
  service.restarts += 1;
  say(
    `${service.name} exited (${how}); restarting in ${delayMs / 1000} s (restart ${service.restarts})`,
  );
  service.timer = setTimeout(() => {
    service.timer = undefined;
    if (!stopping) launch(service);
  }, delayMs);
}

/** Starts `start()` now and keeps it running (see above). */
function supervise(name, start) {
  const service = { name, start, child: undefined, startedAt: 0, quickDeaths: 0, restarts: 0 };
  services.set(name, service);
  launch(service);
  return service;
}

const running = (child) => child && child.exitCode === null && child.signalCode === null;

async function stopAll(exitCode) {
  if (stopping) return;
  stopping = true;
  const started = performance.now();
  clearInterval(demoTimer);
  for (const service of services.values()) clearTimeout(service.timer);
  say('stopping…');
  const order = ['api', 'warmer', 'batch-scheduler', 'sim-provider', 'redis'];
  for (const name of order) {
    const child = services.get(name)?.child;
    if (!running(child)) continue;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  }
  rmSync(runDir, { recursive: true, force: true });
  const took = `${((performance.now() - started) / 1000).toFixed(1)} s`;
  say(
    exitCode === 0
      ? `stopped in ${took}; nothing left running`
      : `stopped after a failure (${took})`,
  );
  process.exit(exitCode);
}
process.on('SIGINT', () => void stopAll(0));
process.on('SIGTERM', () => void stopAll(0));
process.on('SIGHUP', () => void stopAll(0));
// npm does not always pass a SIGTERM on to its script: when whoever started us goes away, stop too.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) void stopAll(0);
}, 1_000).unref();

// ---------------------------------------------------------------- redis
let queueUrl = process.env.REDIS_QUEUE_URL;
let cacheUrl = process.env.REDIS_CACHE_URL;
if (!queueUrl || !cacheUrl) {
  const binary = ensureRedisServer();
  if (!binary) await stopAll(1);
  const port = await choosePort(6390);
  const dataDir = join(runDir, 'redis');
  let firstReady;
  const ready = new Promise((resolve) => (firstReady = resolve));
  supervise('redis', () => {
    // The append-only file keeps queued jobs and cached entries across a restart, as the queue
    // Redis of a deployment does; it lives (and dies) with the run dir.
    const redis = spawnOwned(
      binary,
      ['--port', String(port), '--bind', '127.0.0.1', '--dir', dataDir, '--save', '',
       '--appendonly', 'yes', '--appendfsync', 'everysec', '--maxmemory-policy', 'noeviction'], // prettier-ignore
      { cwd: dataDir },
    );
    prefixOutput(
      'redis',
      redis,
      (line) => {
        if (/Ready to accept connections/.test(line)) firstReady();
      },
      redisWarning,
    );
    return redis;
  });
  await ready;
  const url = `redis://127.0.0.1:${port}`;
  queueUrl ??= url;
  cacheUrl ??= url;
  say(`embedded redis-server on ${url} (data in ${dataDir}, removed on exit)`);
}

async function waitUntilReady(url, timeoutMs = 60_000) {
  const deadline = performance.now() + timeoutMs;
  while (!stopping && performance.now() < deadline) {
    try {
      if ((await fetch(url)).ok) return true;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return false;
}

// ---------------------------------------------------------------- upstream
// The simulated market-data provider is the default upstream, over real HTTP,
// unless SIM_PROVIDER_URL points elsewhere (or PROVIDER_ROUTES names real providers).
let simUrl = process.env.SIM_PROVIDER_URL;
if (!simUrl) {
  const simPort = await choosePort(9200);
  supervise('sim-provider', () => {
    const sim = spawnOwned(
      process.execPath,
      [
        join(root, 'packages', 'simulator', 'dist', 'bin', 'sim-provider.js'),
        '--port',
        String(simPort),
      ],
      {
        cwd: root,
        // A tenth of the modeled latency keeps the demo lively; the model's shape stays.
        env: {
          ...process.env,
          SIM_LATENCY_SCALE: process.env.SIM_LATENCY_SCALE ?? '0.1',
          LOG_LEVEL: 'warn',
        },
      },
    );
    prefixOutput('sim-provider', sim);
    return sim;
  });
  if (!(await waitUntilReady(`http://127.0.0.1:${simPort}/healthz`, 30_000))) {
    say('the simulated provider did not start within 30 s');
    await stopAll(1);
  }
  simUrl = `http://127.0.0.1:${simPort}`;
  say(`simulated provider on ${simUrl}`);
}

// Keys for the local run, unless configured: printed below, never written to disk.
const demoKey = randomBytes(16).toString('hex');
const apiKeys = process.env.API_KEYS || `demo:${demoKey}`;
const adminKey = process.env.API_ADMIN_KEY || randomBytes(16).toString('hex');
const clientKey = process.env.API_KEYS ? undefined : demoKey;

// ---------------------------------------------------------------- apps
const apiPort = await choosePort(Number(process.env.API_PORT ?? 3000), {
  explicit: process.env.API_PORT !== undefined,
});
const schedulerPort = await choosePort(9101);
const warmerPort = await choosePort(9102);
const common = {
  ...process.env,
  NODE_ENV: process.env.NODE_ENV ?? 'development',
  LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
  REDIS_QUEUE_URL: queueUrl,
  REDIS_CACHE_URL: cacheUrl,
  SIM_PROVIDER_URL: simUrl,
};
const apps = [
  ['batch-scheduler', { METRICS_PORT: String(schedulerPort), METRICS_HOST: '127.0.0.1' }],
  ['warmer', { METRICS_PORT: String(warmerPort), METRICS_HOST: '127.0.0.1' }],
  [
    'api',
    {
      API_PORT: String(apiPort),
      API_HOST: '127.0.0.1',
      API_KEYS: apiKeys,
      API_ADMIN_KEY: adminKey,
    },
  ],
];
for (const [name, extra] of apps) {
  supervise(name, () => {
    const child = spawnOwned(process.execPath, [join(root, 'apps', name, 'dist', 'main.js')], {
      cwd: root,
      env: { ...common, ...extra },
    });
    prefixOutput(name, child);
    return child;
  });
}

const api = `http://127.0.0.1:${apiPort}`;
if (!(await waitUntilReady(`${api}/readyz`))) {
  say('the api did not become ready within 60 s');
  await stopAll(1);
}
// From here on, a child that dies is restarted (see "supervision" above).
supervising = true;

// ---------------------------------------------------------------- urls
// Dashboards are listed once they answer (with the admin key: the queue board needs one).
const dashboards = [
  ['queue dashboard', `${api}/admin/queues`],
  ['API reference (OpenAPI)', `${api}/docs`],
  ['cache report', `${api}/v1/cache/report`],
];
const available = [];
for (const [label, url] of dashboards) {
  try {
    if ((await fetch(url, { headers: { 'x-api-key': adminKey } })).ok) available.push([label, url]);
  } catch {
    // not served by this version
  }
}
const rows = [
  ['API', api],
  ['API metrics', `${api}/metrics`],
  ['API readiness', `${api}/readyz`],
  ['batch-scheduler metrics', `http://127.0.0.1:${schedulerPort}/metrics`],
  ['warmer metrics', `http://127.0.0.1:${warmerPort}/metrics`],
  ...available,
  ['simulated provider', simUrl],
  ['Redis (queues)', queueUrl],
  ['Redis (cache)', cacheUrl],
];
const width = Math.max(...rows.map(([label]) => label.length));
console.log(`\n  fiml-cache is running:\n`);
for (const [label, url] of rows) console.log(`    ${label.padEnd(width)}  ${url}`);
console.log('');
if (clientKey) console.log(`    client API key  ${clientKey}   (X-API-Key header)`);
if (!process.env.API_ADMIN_KEY) {
  console.log(`    admin key       ${adminKey}   (the queue dashboard asks for it as a password)`);
}
console.log(`\n  Try: curl -s ${api}/v1/data/price/AAPL`);
console.log(`  Demo traffic: reads and refresh requests (FIML_DEMO_TRAFFIC=0 turns it off).`);
console.log(`  Press Ctrl-C to stop everything.\n`);

// ---------------------------------------------------------------- demo traffic
// Deterministic (mulberry32, fixed seed) so two runs show the same requests.
let seed = 0x5eed;
const random = () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const pick = (items) => items[Math.floor(random() * items.length)];
const equities = [
  'AAPL',
  'MSFT',
  'NVDA',
  'AMZN',
  'GOOGL',
  'META',
  'TSLA',
  'BRK.B',
  'JPM',
  'V',
  'JNJ',
  'WMT',
  'XOM',
  'UNH',
  'PG',
  'HD',
  'KO',
  'DIS',
  'INTC',
  'AMD',
  'NFLX',
  'SPY',
  'QQQ',
];
const cryptoAssets = ['BTC', 'ETH', 'SOL', 'XRP', 'DOGE', 'ADA', 'AVAX', 'LINK'];

// Popularity is skewed like real traffic: the first names of each list are read most.
const skewed = (items) => items[Math.floor(items.length * random() ** 2.5)];

// A failing request is shown, but at most one line per 5 s: while a restarted child comes back,
// four requests a second would otherwise bury the one line that says what happened.
const DEMO_FAILURE_LINE_MS = 5_000;
let lastFailureLineAt = -Infinity;
let unshownFailures = 0;
function demoFailed(message) {
  if (stopping) return;
  if (performance.now() - lastFailureLineAt < DEMO_FAILURE_LINE_MS) {
    unshownFailures += 1;
    return;
  }
  const more = unshownFailures > 0 ? ` (and ${unshownFailures} more failures before it)` : '';
  process.stdout.write(`${tag('demo')} ${message}${more}\n`);
  lastFailureLineAt = performance.now();
  unshownFailures = 0;
}

async function demoRequest(method, path, body) {
  try {
    const res = await fetch(`${api}${path}`, {
      method,
      headers: { 'content-type': 'application/json', 'x-api-key': clientKey ?? adminKey },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    if (res.status >= 500 || res.status === 400 || res.status === 401) {
      demoFailed(`${method} ${path} -> ${res.status}`);
    }
    await res.arrayBuffer();
  } catch (error) {
    demoFailed(`${method} ${path}: ${error.cause?.code ?? error.message}`);
  }
}

if (process.env.FIML_DEMO_TRAFFIC !== '0') {
  // About 4 reads a second, a batch read now and then, and a refresh request every 5 s.
  let tick = 0;
  demoTimer = setInterval(() => {
    tick += 1;
    const crypto = random() < 0.15;
    const dataType = pick([
      'price',
      'price',
      'price',
      'price',
      'price',
      'price',
      'news',
      'fundamentals',
    ]);
    const assetType = crypto ? 'crypto' : 'equity';
    const symbol = skewed(crypto ? cryptoAssets : equities);
    void demoRequest(
      'GET',
      `/v1/data/${dataType}/${encodeURIComponent(symbol)}?assetType=${assetType}`,
    );
    if (tick % 10 === 0) void demoRequest('GET', `/v1/data/price?symbols=${equities.join(',')}`);
    if (tick % 20 === 0) {
      void demoRequest('POST', '/v1/refresh', {
        dataType: pick(['price', 'price', 'news', 'fundamentals']),
        assetType,
        symbols: Array.from({ length: 1 + Math.floor(random() * 4) }, () =>
          skewed(crypto ? cryptoAssets : equities),
        ),
        priority: pick(['normal', 'normal', 'low', 'urgent']),
      });
    }
  }, 250);
}
