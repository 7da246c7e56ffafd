// `npm start`: the whole system on this machine. Installs and builds, starts an
// embedded redis-server unless REDIS_QUEUE_URL / REDIS_CACHE_URL are set, runs
// the api, batch-scheduler and warmer with prefixed logs, sends demo traffic,
// and on Ctrl-C stops everything it started.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
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

/** Redis marks warnings with "#"; its notices (start-up banner, ready) would drown the app logs. */
const redisWarning = (line) => / # /.test(line);

function portIsFree(port) {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

async function choosePort(preferred) {
  if (await portIsFree(preferred)) return preferred;
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  say(`port ${preferred} is taken; using ${port}`);
  return port;
}

// ---------------------------------------------------------------- set-up
const env = { ...ensurePnpm(), TURBO_TELEMETRY_DISABLED: '1', DO_NOT_TRACK: '1' };
installDependencies(env);
say('building the apps and their packages');
run(
  'pnpm',
  [
    'exec',
    'turbo',
    'run',
    'build',
    '--filter=./apps/*',
    '--filter=@fiml/providers',
    '--output-logs=errors-only',
  ],
  { env },
);

// A .env at the repository root configures the local run as it does the apps.
if (existsSync(join(root, '.env'))) process.loadEnvFile(join(root, '.env'));

const children = new Map(); // name -> ChildProcess
let stopping = false;
let redisDir;
let demoTimer;

async function stopAll(exitCode) {
  if (stopping) return;
  stopping = true;
  clearInterval(demoTimer);
  say('stopping…');
  const order = ['api', 'warmer', 'batch-scheduler', 'sim-provider', 'redis'];
  for (const name of order) {
    const child = children.get(name);
    if (!child || child.exitCode !== null || child.signalCode !== null) continue;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(timer);
  }
  if (redisDir) rmSync(redisDir, { recursive: true, force: true });
  say(exitCode === 0 ? 'stopped; nothing left running' : 'stopped after a failure');
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

function watch(name, child) {
  children.set(name, child);
  child.once('exit', (code, signal) => {
    if (stopping) return;
    say(`${name} exited unexpectedly (code ${code}, signal ${signal}); stopping the rest`);
    void stopAll(1);
  });
}

// ---------------------------------------------------------------- redis
let queueUrl = process.env.REDIS_QUEUE_URL;
let cacheUrl = process.env.REDIS_CACHE_URL;
if (!queueUrl || !cacheUrl) {
  const binary = ensureRedisServer();
  if (!binary) process.exit(1);
  const port = await choosePort(6390);
  redisDir = mkdtempSync(join(tmpdir(), 'fiml-up-redis-'));
  const redis = spawnOwned(
    binary,
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', redisDir, '--save', '',
     '--appendonly', 'no', '--maxmemory-policy', 'noeviction'], // prettier-ignore
    { cwd: redisDir },
  );
  const ready = new Promise((resolve) =>
    prefixOutput(
      'redis',
      redis,
      (line) => {
        if (/Ready to accept connections/.test(line)) resolve();
      },
      redisWarning,
    ),
  );
  watch('redis', redis);
  await ready;
  const url = `redis://127.0.0.1:${port}`;
  queueUrl ??= url;
  cacheUrl ??= url;
  say(`embedded redis-server on ${url} (data in ${redisDir}, removed on exit)`);
}

async function waitUntilReady(url, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (!stopping && Date.now() < deadline) {
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
  const sim = spawnOwned(
    process.execPath,
    [
      join(root, 'packages', 'providers', 'dist', 'bin', 'sim-provider.js'),
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
  watch('sim-provider', sim);
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
const apiPort = await choosePort(Number(process.env.API_PORT ?? 3000));
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
  const child = spawnOwned(process.execPath, [join(root, 'apps', name, 'dist', 'main.js')], {
    cwd: root,
    env: { ...common, ...extra },
  });
  prefixOutput(name, child);
  watch(name, child);
}

const api = `http://127.0.0.1:${apiPort}`;
if (!(await waitUntilReady(`${api}/readyz`))) {
  say('the api did not become ready within 60 s');
  await stopAll(1);
}

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

async function demoRequest(method, path, body) {
  try {
    const res = await fetch(`${api}${path}`, {
      method,
      headers: { 'content-type': 'application/json', 'x-api-key': clientKey ?? adminKey },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    if (res.status >= 500 || res.status === 400 || res.status === 401) {
      process.stdout.write(`${tag('demo')} ${method} ${path} -> ${res.status}\n`);
    }
    await res.arrayBuffer();
  } catch (error) {
    if (!stopping) process.stdout.write(`${tag('demo')} ${error.message}\n`);
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
