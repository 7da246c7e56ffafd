// The launcher's run directory: one temp dir per `npm start`, named
// `fiml-up-<launcher pid>-<random>` in the system temp dir, holding the embedded
// redis-server's data (redis/) and one pid file per running child (pids/<name>).
//
// No way of ending may leave it behind, so three hands remove it:
// 1. A normal stop (Ctrl-C, SIGTERM, a failed start-up): the launcher stops its
//    children, then removes the dir itself.
// 2. The launcher is SIGKILLed or crashes: a watchdog process holds the read end
//    of a pipe whose write end only the launcher holds. The kernel closes that end
//    when the launcher dies, however it dies, so the watchdog reads end-of-file at
//    once (no polling, no timing guess). It waits for the children the pid files
//    name to exit (pdeathsig has already sent them SIGTERM; where there is no
//    setpriv it sends SIGTERM itself), SIGKILLs any still there after the apps'
//    own shutdown bound, removes the dir and exits. It runs in its own session,
//    so a Ctrl-C in the terminal does not reach it.
// 3. The launcher and the watchdog die together (kill -9 of both, the OOM
//    killer): the next start sweeps every `fiml-up-*` dir whose owner no longer
//    runs. The owner's pid is in the name and its start time in the `owner` file,
//    so a pid reused by another process is not taken for a live owner.
import { spawn } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const RUN_DIR_PREFIX = 'fiml-up-';
const RUN_DIR_NAME = /^fiml-up-(\d+)-/;

/** How long the watchdog lets children shut down before SIGKILL: the apps' 30 s bound and some. */
const CHILDREN_GRACE_MS = 40_000;

/**
 * The kernel's start time of a process (clock ticks since boot; Linux only), which
 * with the pid identifies it: a later process given the same pid starts later.
 */
function startTimeOf(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after "(comm)": state is field 3, starttime field 22.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** Whether a process runs (a zombie, dead but not yet reaped, does not count). */
export function isRunning(pid) {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if (error.code !== 'EPERM') return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2] !== 'Z';
  } catch {
    return true; // no /proc (macOS): kill(0) is all we know
  }
}

function ownerRuns(dir, pid) {
  if (!isRunning(pid)) return false;
  try {
    const owner = JSON.parse(readFileSync(join(dir, 'owner'), 'utf8'));
    return owner.startTime === undefined || owner.startTime === startTimeOf(pid);
  } catch {
    return true; // the owner is alive and has not written its file yet
  }
}

/** Removes the run dirs in `parent` whose launcher no longer runs; returns their paths. */
export function sweepStaleRunDirs(parent = tmpdir()) {
  const removed = [];
  let names;
  try {
    names = readdirSync(parent);
  } catch {
    return removed;
  }
  for (const name of names) {
    const match = RUN_DIR_NAME.exec(name);
    if (!match) continue;
    const dir = join(parent, name);
    if (ownerRuns(dir, Number(match[1]))) continue;
    try {
      rmSync(dir, { recursive: true, force: true });
      removed.push(dir);
    } catch {
      // another user's dir, or gone meanwhile: not ours to worry about
    }
  }
  return removed;
}

/** Creates this launcher's run dir (after sweeping stale ones) with redis/ and pids/ inside. */
export function createRunDir() {
  const removed = sweepStaleRunDirs();
  const dir = mkdtempSync(join(tmpdir(), `${RUN_DIR_PREFIX}${process.pid}-`));
  writeFileSync(
    join(dir, 'owner'),
    JSON.stringify({ pid: process.pid, startTime: startTimeOf(process.pid) }),
  );
  mkdirSync(join(dir, 'redis'));
  mkdirSync(join(dir, 'pids'));
  return { dir, removed };
}

export function writePid(runDir, name, pid) {
  writeFileSync(join(runDir, 'pids', name), String(pid));
}

export function removePid(runDir, name) {
  try {
    unlinkSync(join(runDir, 'pids', name));
  } catch {
    // already gone (the dir was removed on stop)
  }
}

/** The children whose pid files are in the run dir: name -> pid. */
export function readPids(runDir) {
  const pids = new Map();
  let names = [];
  try {
    names = readdirSync(join(runDir, 'pids'));
  } catch {
    return pids;
  }
  for (const name of names) {
    try {
      const pid = Number(readFileSync(join(runDir, 'pids', name), 'utf8'));
      if (Number.isInteger(pid) && pid > 0) pids.set(name, pid);
    } catch {
      // removed while we read
    }
  }
  return pids;
}

/**
 * Starts the watchdog for `runDir` (see the top of this file). `terminate`: the
 * children have no pdeathsig, so the watchdog sends them SIGTERM itself. The
 * launcher must keep the returned process's stdin open until it exits.
 */
export function startWatchdog(runDir, { terminate }) {
  const watchdog = spawn(
    process.execPath,
    [fileURLToPath(import.meta.url), '--watchdog', runDir, ...(terminate ? ['--terminate'] : [])],
    { detached: true, stdio: ['pipe', 'ignore', 'inherit'] },
  );
  // Neither the process nor the pipe keeps the launcher's event loop alive.
  watchdog.unref();
  watchdog.stdin.unref();
  watchdog.stdin.on('error', () => {}); // EPIPE if the watchdog is killed first
  return watchdog;
}

const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function runWatchdog(runDir, terminate) {
  process.stderr.on('error', () => {}); // whoever read the launcher's output may be gone
  await new Promise((resolve) => {
    process.stdin.on('end', resolve);
    process.stdin.on('close', resolve);
    process.stdin.on('error', resolve);
    process.stdin.resume();
  });
  const pids = [...readPids(runDir).values()];
  if (terminate) for (const pid of pids) signal(pid, 'SIGTERM');
  const deadline = performance.now() + CHILDREN_GRACE_MS;
  while (pids.some(isRunning) && performance.now() < deadline) await pause(100);
  for (const pid of pids.filter(isRunning)) signal(pid, 'SIGKILL');
  const killed = performance.now() + 5_000;
  while (pids.some(isRunning) && performance.now() < killed) await pause(100);
  let existed = false;
  try {
    readdirSync(runDir);
    existed = true;
    rmSync(runDir, { recursive: true, force: true });
  } catch {
    // removed by the launcher on a normal stop
  }
  if (existed) {
    process.stderr.write(`fiml the launcher is gone; its children stopped and ${runDir} removed\n`);
  }
}

function signal(pid, name) {
  try {
    process.kill(pid, name);
  } catch {
    // gone already
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] === '--watchdog') {
  const runDir = process.argv[3];
  if (!runDir?.startsWith(join(tmpdir(), RUN_DIR_PREFIX))) {
    console.error(`run-dir watchdog: refusing to watch ${runDir}`);
    process.exit(2);
  }
  await runWatchdog(runDir, process.argv.includes('--terminate'));
}
