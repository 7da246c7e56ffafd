import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import which from 'which';

/** Thrown when no redis-server binary can be found; says how to get one. */
export class RedisServerNotFoundError extends Error {
  readonly code = 'FIML_REDIS_SERVER_NOT_FOUND';
  constructor(searched: string) {
    super(
      `redis-server was not found (${searched}). The integration tests start their own ` +
        'redis-server processes. Install it (Debian/Ubuntu: `sudo apt-get install -y redis-server`; ' +
        'macOS: `brew install redis`) or point REDIS_SERVER_BIN at the binary.',
    );
    this.name = 'RedisServerNotFoundError';
  }
}

/** Thrown when a redis-server does not start; carries the tail of its output. */
export class RedisServerStartError extends Error {
  readonly code = 'FIML_REDIS_SERVER_START_FAILED';
  constructor(
    message: string,
    readonly output: string,
  ) {
    super(
      `${message}\n--- redis-server output ---\n${output.trim().split('\n').slice(-15).join('\n')}`,
    );
    this.name = 'RedisServerStartError';
  }
}

export interface RedisServerOptions {
  /** The binary. @defaultValue $REDIS_SERVER_BIN, else `redis-server` on PATH */
  readonly binary?: string;
  /** Extra `--name value` pairs, e.g. `{ 'maxmemory-policy': 'allkeys-lfu' }`. */
  readonly config?: Readonly<Record<string, string>>;
  /** A fixed port (for "Redis comes up later" tests); no retry if it is taken. @defaultValue a free port */
  readonly port?: number;
  /** How long to wait for "Ready to accept connections". @defaultValue 10000 */
  readonly startTimeoutMs?: number;
}

/** A redis-server this process started, on 127.0.0.1 and a free port, with data in a temp dir. */
export interface RedisServer {
  readonly host: '127.0.0.1';
  readonly port: number;
  /** redis://127.0.0.1:<port> */
  readonly url: string;
  readonly dataDir: string;
  /** The server's process id while it runs. */
  readonly pid: number | undefined;
  /** Whether the server process is alive. */
  readonly running: boolean;
  /** Stops the server (SIGTERM, then SIGKILL after 5 s) and removes its data dir. Idempotent. */
  stop(): Promise<void>;
  /** Kills the server abruptly, as a crash would; keeps the port and dir for {@link start}. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts a killed server again on the same port. */
  start(): Promise<void>;
}

const READY_LINE = /Ready to accept connections/;
const PORT_TAKEN = /Address already in use|Could not create server TCP listening socket/;

/** An executable on PATH (the `which` package: PATH and, elsewhere than Linux, PATHEXT). */
function findOnPath(name: string): string | undefined {
  return which.sync(name, { nothrow: true }) ?? undefined;
}

/** The redis-server binary the harness will run, or a {@link RedisServerNotFoundError}. */
export function resolveRedisServerBinary(explicit?: string): string {
  const configured = explicit ?? process.env.REDIS_SERVER_BIN;
  if (configured) {
    try {
      accessSync(configured, constants.X_OK);
      return configured;
    } catch {
      throw new RedisServerNotFoundError(`${configured} is not an executable file`);
    }
  }
  const found = findOnPath('redis-server');
  if (!found) throw new RedisServerNotFoundError('not on PATH, and REDIS_SERVER_BIN is unset');
  return found;
}

/**
 * `setpriv --pdeathsig SIGKILL` makes the kernel kill the server when the
 * process that started it dies, even by SIGKILL: a crashed or killed test run
 * leaves no redis-server behind. Linux only; elsewhere the exit hook below is
 * the safety net.
 */
const setpriv: string | undefined = (() => {
  if (process.platform !== 'linux') return undefined;
  const path = findOnPath('setpriv');
  if (!path) return undefined;
  const probe = spawnSync(path, ['--pdeathsig', 'SIGKILL', '--', 'true'], { stdio: 'ignore' });
  return probe.status === 0 ? path : undefined;
})();

/** Every server this process started and has not stopped; killed on exit. */
const live = new Set<{ child: ChildProcess; dataDir: string }>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const { child, dataDir } of live) {
      if (child.exitCode === null && child.pid) {
        try {
          process.kill(child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
}

/**
 * Data dirs are named after the process that made them: `fiml-redis-<pid>-<start time>-*`. A
 * process that dies without running its exit hook (SIGKILL, a Jest worker force-exited with
 * SIGTERM) leaves its dir behind, empty (its servers die with it through pdeathsig and persist
 * nothing); every start removes the dirs whose owner no longer runs, so the next test run cleans
 * up after a killed one. The start time (Linux; 0 elsewhere) tells a reused pid from the owner.
 */
const DATA_DIR_PREFIX = 'fiml-redis-';
const DATA_DIR_NAME = /^fiml-redis-(\d+)-(\d+)-/;

/** A process's start time in clock ticks since boot (Linux), which with its pid names it. */
function startTimeOf(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after "(comm)": state is field 3, starttime field 22.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? '0';
  } catch {
    return '0';
  }
}

function ownerRuns(pid: number, startTime: string): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  return startTime === '0' || startTimeOf(pid) === startTime;
}

function sweepStaleDataDirs(parent: string): void {
  let names: string[];
  try {
    names = readdirSync(parent);
  } catch {
    return;
  }
  for (const name of names) {
    const match = DATA_DIR_NAME.exec(name);
    if (!match || ownerRuns(Number(match[1]), match[2]!)) continue;
    try {
      rmSync(join(parent, name), { recursive: true, force: true });
    } catch {
      // another user's, or removed meanwhile
    }
  }
}

function makeDataDir(): string {
  const parent = tmpdir();
  sweepStaleDataDirs(parent);
  return mkdtempSync(join(parent, `${DATA_DIR_PREFIX}${process.pid}-${startTimeOf(process.pid)}-`));
}

/** A port that was free a moment ago. The caller retries if it is taken before use. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.off('exit', onExit);
      resolve(false);
    }, timeoutMs);
    const onExit = () => {
      clearTimeout(timer);
      resolve(true);
    };
    child.once('exit', onExit);
  });
}

/** Spawns redis-server and resolves once it accepts connections; rejects with its output otherwise. */
function launch(
  binary: string,
  port: number,
  dataDir: string,
  options: RedisServerOptions,
): Promise<ChildProcess> {
  const args = [
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--dir', dataDir,
    '--save', '',
    '--appendonly', 'no',
    '--daemonize', 'no',
    '--maxmemory-policy', 'noeviction',
    '--loglevel', 'notice',
    ...Object.entries(options.config ?? {}).flatMap(([k, v]) => [`--${k}`, v]),
  ]; // prettier-ignore
  const [command, argv] = setpriv
    ? [setpriv, ['--pdeathsig', 'SIGKILL', '--', binary, ...args]]
    : [binary, args];
  const child = spawn(command, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  const timeoutMs = options.startTimeoutMs ?? 10_000;

  return new Promise((resolve, reject) => {
    let output = '';
    const cleanup = () => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onData);
      child.off('exit', onExit);
      child.off('error', onError);
    };
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (READY_LINE.test(output)) {
        cleanup();
        // Keep draining the pipes so a chatty server never blocks on a full pipe.
        child.stdout?.resume();
        child.stderr?.resume();
        resolve(child);
      }
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
      cleanup();
      const error = new RedisServerStartError(
        `redis-server on port ${port} exited before it was ready (code ${code}, signal ${signal})`,
        output,
      );
      reject(PORT_TAKEN.test(output) ? Object.assign(error, { portTaken: true }) : error);
    };
    const onError = (error: Error) => {
      cleanup();
      reject(new RedisServerStartError(`could not run ${command}: ${error.message}`, output));
    };
    const timer = setTimeout(() => {
      cleanup();
      child.kill('SIGKILL');
      reject(
        new RedisServerStartError(
          `redis-server on port ${port} was not ready within ${timeoutMs} ms`,
          output,
        ),
      );
    }, timeoutMs);
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
    child.once('error', onError);
  });
}

/** Picks a free port and launches there, picking another when the port is taken meanwhile. */
async function launchOnFreePort(
  binary: string,
  dataDir: string,
  options: RedisServerOptions,
): Promise<{ child: ChildProcess; port: number }> {
  if (options.port !== undefined) {
    return { child: await launch(binary, options.port, dataDir, options), port: options.port };
  }
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      return { child: await launch(binary, port, dataDir, options), port };
    } catch (error) {
      if ((error as { portTaken?: boolean }).portTaken !== true || attempt >= 5) throw error;
    }
  }
}

/**
 * Starts a private redis-server on 127.0.0.1 and a free port, with nothing
 * persisted and its working files in a temp dir. Tests that kill and restart
 * Redis use their own server from here; the rest share one per Jest worker
 * (see {@link testRedisUrl}).
 */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const binary = resolveRedisServerBinary(options.binary);
  const dataDir = makeDataDir();
  installExitHook();

  const { child, port } = await launchOnFreePort(binary, dataDir, options).catch(
    (error: unknown) => {
      rmSync(dataDir, { recursive: true, force: true });
      throw error;
    },
  );

  let entry = { child, dataDir };
  live.add(entry);
  let stopped = false;

  const server: RedisServer = {
    host: '127.0.0.1',
    port,
    url: `redis://127.0.0.1:${port}`,
    dataDir,
    get pid() {
      return entry.child.pid;
    },
    get running() {
      return entry.child.exitCode === null && entry.child.signalCode === null;
    },
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      entry.child.kill(signal);
      if (!(await waitForExit(entry.child, 5_000))) entry.child.kill('SIGKILL');
      await waitForExit(entry.child, 5_000);
    },
    async start() {
      if (stopped) throw new Error('this redis-server was stopped for good; start a new one');
      if (server.running) return;
      live.delete(entry);
      entry = { child: await launch(binary, port, dataDir, options), dataDir };
      live.add(entry);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      entry.child.kill('SIGTERM');
      if (!(await waitForExit(entry.child, 5_000))) {
        entry.child.kill('SIGKILL');
        await waitForExit(entry.child, 5_000);
      }
      live.delete(entry);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return server;
}
