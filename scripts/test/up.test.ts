// The local run (`npm start`, scripts/up.mjs) as a user runs it: real processes (the embedded
// redis-server, the simulated provider, the three built apps), real signals. The suite's build
// (turbo: this package's test depends on the apps' build) stands in for the launcher's own
// install and build, which FIML_UP_SKIP_INSTALL / FIML_UP_SKIP_BUILD switch off. Each launcher
// gets a private TMPDIR, so "the run dir is gone" is checked where nothing else writes, and
// FIML_UP_PORTS=free keeps it off 6379/6390 and every other test's ports.
import { afterAll, describe, expect, it } from '@jest/globals';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { freePort, waitFor, withDeadline } from '@fiml/testing';

const LAUNCHER = join(__dirname, '..', 'up.mjs');
const CLIENT_KEY = 'launcher-test-client-key-0123456789';
const ADMIN_KEY = 'launcher-test-admin-key-0123456789';
const CHILDREN = ['api', 'batch-scheduler', 'redis', 'sim-provider', 'warmer'];
/** Well under the apps' 30 s shutdown bound: a stop with no active job must not wait on it. */
const STOP_DEADLINE_MS = 10_000;

interface Launcher {
  readonly child: ChildProcess;
  readonly lines: readonly string[];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The first output line (past or future) matching `pattern`, or a timeout naming the tail. */
  waitForLine(pattern: RegExp, timeoutMs: number): Promise<string>;
}

const launchers: Launcher[] = [];
const tmpDirs: string[] = [];
afterAll(async () => {
  for (const launcher of launchers) {
    if (launcher.child.exitCode === null && launcher.child.signalCode === null) {
      launcher.child.kill('SIGKILL');
      await launcher.exited;
    }
  }
  for (const dir of tmpDirs) rmSync(dir, { recursive: true, force: true });
});

function privateTmp(): string {
  const dir = mkdtempSync(join(tmpdir(), 'fiml-launcher-test-'));
  tmpDirs.push(dir);
  return dir;
}

function startLauncher(env: Record<string, string>): Launcher {
  const inherited = { ...process.env };
  // Whatever configures the test process must not point the launcher at other servers.
  for (const name of [
    'REDIS_QUEUE_URL',
    'REDIS_CACHE_URL',
    'SIM_PROVIDER_URL',
    'API_KEYS',
    'API_ADMIN_KEY',
    'FIML_TEST_REDIS_URLS',
  ]) {
    delete inherited[name];
  }
  const child = spawn(process.execPath, [LAUNCHER], {
    env: {
      ...inherited,
      FIML_UP_SKIP_INSTALL: '1',
      FIML_UP_SKIP_BUILD: '1',
      FIML_UP_PORTS: 'free',
      FIML_DEMO_TRAFFIC: '0',
      NODE_ENV: 'development',
      LOG_LEVEL: 'warn',
      API_KEYS: `test:${CLIENT_KEY}`,
      API_ADMIN_KEY: ADMIN_KEY,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const events = new EventEmitter();
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => {
      lines.push(line);
      events.emit('line', line);
    });
  }
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const launcher: Launcher = {
    child,
    lines,
    exited,
    waitForLine(pattern, timeoutMs) {
      const seen = lines.find((line) => pattern.test(line));
      if (seen !== undefined) return Promise.resolve(seen);
      const line = new Promise<string>((resolve, reject) => {
        const onLine = (candidate: string) => {
          if (!pattern.test(candidate)) return;
          events.off('line', onLine);
          resolve(candidate);
        };
        events.on('line', onLine);
        void exited.then(({ code, signal }) => {
          events.off('line', onLine);
          reject(new Error(`the launcher exited (${code ?? signal}) before printing ${pattern}`));
        });
      });
      return withDeadline(
        line,
        timeoutMs,
        `${pattern}; last lines:\n${lines.slice(-30).join('\n')}`,
      );
    },
  };
  launchers.push(launcher);
  return launcher;
}

/** The launcher's run dir: `fiml-up-<its pid>-*` in its TMPDIR. */
function runDirOf(launcher: Launcher, tmp: string): string {
  const name = readdirSync(tmp).find((n) => n.startsWith(`fiml-up-${launcher.child.pid}-`));
  if (!name) throw new Error(`no run dir of ${launcher.child.pid} in ${tmp}`);
  return join(tmp, name);
}

function childPids(runDir: string): Record<string, number> {
  const dir = join(runDir, 'pids');
  return Object.fromEntries(
    readdirSync(dir).map((name) => [name, Number(readFileSync(join(dir, name), 'utf8'))]),
  );
}

/** Whether a process runs; a zombie (dead, not yet reaped) does not. */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2] !== 'Z';
  } catch {
    return false;
  }
}

/** The watchdogs of `runDir` (their command line names it). Linux only. */
function watchdogsOf(runDir: string): number[] {
  const text = `--watchdog\0${runDir}\0`;
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmdline.includes(text) && isRunning(Number(entry))) found.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return found;
}

/** Whether `url` (a /readyz) answers 200 with every check passing. */
async function allChecksPass(url: string): Promise<boolean> {
  const res = await fetch(url);
  const body = (await res.json()) as { checks?: Record<string, { ok: boolean }> };
  return res.status === 200 && Object.values(body.checks ?? {}).every((check) => check.ok);
}

/** A worker's metrics URL, from the table the launcher prints once the system runs. */
function metricsUrl(launcher: Launcher, name: string): string {
  const pattern = new RegExp(`^\\s+${name} metrics\\s+(http://\\S+)$`);
  for (const line of launcher.lines) {
    const match = pattern.exec(line);
    if (match) return match[1]!;
  }
  throw new Error(`the launcher printed no "${name} metrics" URL`);
}

async function status(url: string, init: RequestInit = {}): Promise<number> {
  const res = await fetch(url, init);
  await res.arrayBuffer();
  return res.status;
}

describe('npm start (scripts/up.mjs)', () => {
  it('restarts a killed redis-server while the rest keeps running, and stops everything on Ctrl-C', async () => {
    const tmp = privateTmp();
    // A run dir left by a launcher that was killed with its watchdog: its pid is dead.
    const dead = spawnSync(process.execPath, ['-e', '']).pid;
    const stale = join(tmp, `fiml-up-${dead}-stale`);
    mkdirSync(join(stale, 'redis'), { recursive: true });
    writeFileSync(join(stale, 'redis', 'appendonly.aof'), 'left behind');
    // A run dir of a launcher that still runs (this process): not the sweep's to take.
    const alive = join(tmp, `fiml-up-${process.pid}-alive`);
    mkdirSync(alive);

    const apiPort = await freePort();
    const api = `http://127.0.0.1:${apiPort}`;
    const launcher = startLauncher({ TMPDIR: tmp, API_PORT: String(apiPort) });
    await launcher.waitForLine(/fiml-cache is running/, 60_000);

    expect(existsSync(stale)).toBe(false);
    expect(launcher.lines.some((l) => l.includes(`removed ${stale}`))).toBe(true);
    expect(existsSync(alive)).toBe(true);

    const runDir = runDirOf(launcher, tmp);
    const before = childPids(runDir);
    expect(Object.keys(before).sort()).toEqual(CHILDREN);
    const read = () =>
      status(`${api}/v1/data/price/AAPL?assetType=equity`, {
        headers: { 'x-api-key': CLIENT_KEY },
      });
    expect(await read()).toBe(200);

    process.kill(before.redis!, 'SIGKILL');
    await launcher.waitForLine(
      /redis exited \(signal SIGKILL\); restarting in 1 s \(restart 1\)/,
      10_000,
    );
    // Redis is down for the second before its restart: the api still answers.
    expect(await status(`${api}/healthz`)).toBe(200);
    expect(await read()).toBe(200);

    // The run recovers by itself: a new redis-server on the same port, to which the api and both
    // workers reconnect (every readiness check passes again; the api's /readyz alone would say
    // 200 "degraded" without Redis).
    const readiness = [
      `${api}/readyz`,
      ...['batch-scheduler', 'warmer'].map((name) =>
        metricsUrl(launcher, name).replace(/metrics$/, 'readyz'),
      ),
    ];
    await waitFor(
      async () => {
        const redis = childPids(runDir).redis;
        if (redis === undefined || redis === before.redis) return false;
        return (await Promise.all(readiness.map(allChecksPass))).every(Boolean);
      },
      {
        timeoutMs: 30_000,
        intervalMs: 200,
        description: 'a new redis-server and every process ready',
      },
    );
    const after = childPids(runDir);
    expect(isRunning(after.redis!)).toBe(true);
    for (const name of ['api', 'batch-scheduler', 'sim-provider', 'warmer']) {
      expect([name, after[name]]).toEqual([name, before[name]]);
      expect([name, isRunning(before[name]!)]).toEqual([name, true]);
    }
    expect(await read()).toBe(200);
    // One line said what happened, and only the redis-server was restarted.
    expect(launcher.lines.filter((l) => /exited .*restarting in/.test(l))).toHaveLength(1);

    // Ctrl-C: everything stops in order, without waiting on the shutdown bound, and the run dir
    // (redis data included) goes with it.
    launcher.child.kill('SIGINT');
    const { code } = await withDeadline(launcher.exited, STOP_DEADLINE_MS, 'the stop after Ctrl-C');
    expect(code).toBe(0);
    expect(launcher.lines.some((l) => /stopped in [\d.]+ s; nothing left running/.test(l))).toBe(
      true,
    );
    for (const [name, pid] of Object.entries(after)) {
      expect([name, isRunning(pid)]).toEqual([name, false]);
    }
    expect(existsSync(runDir)).toBe(false);
    // The watchdog saw its pipe close and left as well.
    await waitFor(() => watchdogsOf(runDir).length === 0, {
      timeoutMs: 5_000,
      intervalMs: 50,
      description: 'the watchdog to exit',
    });
  });

  it('leaves no child and no run dir behind when the launcher itself is SIGKILLed', async () => {
    const tmp = privateTmp();
    const launcher = startLauncher({ TMPDIR: tmp, API_PORT: String(await freePort()) });
    await launcher.waitForLine(/fiml-cache is running/, 60_000);
    const runDir = runDirOf(launcher, tmp);
    const pids = childPids(runDir);
    expect(Object.keys(pids).sort()).toEqual(CHILDREN);
    expect(watchdogsOf(runDir)).toHaveLength(1); // the watchdog

    launcher.child.kill('SIGKILL');
    expect((await launcher.exited).signal).toBe('SIGKILL');

    // pdeathsig gave every child SIGTERM; the watchdog removes the dir once they are gone.
    await waitFor(() => Object.values(pids).every((pid) => !isRunning(pid)), {
      timeoutMs: STOP_DEADLINE_MS,
      intervalMs: 50,
      description: `the children (${JSON.stringify(pids)}) to exit`,
    });
    await waitFor(() => !existsSync(runDir) && watchdogsOf(runDir).length === 0, {
      timeoutMs: 5_000,
      intervalMs: 50,
      description: 'the watchdog to remove the run dir and exit',
    });
    expect(readdirSync(tmp)).toEqual([]);
  });
});
