// Toolchain set-up shared by `npm test` and `npm start`: everything a fresh
// machine with only Node.js and npm needs before it can build and test.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const packageJson = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
/** The pnpm version the lockfile was written with, from package.json's packageManager. */
export const PNPM_VERSION = /^pnpm@(.+)$/.exec(packageJson.packageManager)?.[1] ?? '9.15.9';

const bold = (s) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
export const say = (message) => console.log(`${bold('fiml')} ${message}`);

/** Runs a command with inherited stdio; exits the script when it fails. */
export function run(command, args, options = {}) {
  const result = spawnSync(command, args, { stdio: 'inherit', cwd: root, ...options });
  if (result.error) throw result.error;
  if (result.status !== 0) {
    console.error(
      `\n${command} ${args.join(' ')} failed (exit ${result.status ?? result.signal}).`,
    );
    process.exit(result.status ?? 1);
  }
}

function succeeds(command, args, options = {}) {
  const result = spawnSync(command, args, {
    stdio: 'pipe',
    cwd: root,
    encoding: 'utf8',
    ...options,
  });
  return result.status === 0 ? (result.stdout ?? '').trim() : undefined;
}

export function findOnPath(name, path = process.env.PATH ?? '') {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // keep looking
    }
  }
  return undefined;
}

/**
 * Makes the pinned pnpm available and returns an environment whose PATH finds
 * it (turbo runs package scripts through it). Corepack cannot fetch pnpm on
 * every network, so this installs it with npm: globally when allowed,
 * otherwise into .tools/ inside the repository.
 */
export function ensurePnpm() {
  const env = { ...process.env };
  const major = PNPM_VERSION.split('.')[0];
  const current = succeeds('pnpm', ['--version']);
  if (current?.split('.')[0] === major) return env;

  const local = join(root, '.tools', 'node_modules', '.bin');
  const localVersion = existsSync(join(local, 'pnpm'))
    ? succeeds(join(local, 'pnpm'), ['--version'])
    : undefined;
  if (localVersion !== PNPM_VERSION) {
    say(`installing pnpm ${PNPM_VERSION} with npm`);
    const global = spawnSync('npm', ['install', '--global', `pnpm@${PNPM_VERSION}`], {
      stdio: 'inherit',
      cwd: root,
    });
    if (global.status === 0 && succeeds('pnpm', ['--version'])?.split('.')[0] === major) return env;
    say('global install not possible here; installing pnpm into .tools/');
    run('npm', ['install', '--no-save', '--prefix', join(root, '.tools'), `pnpm@${PNPM_VERSION}`]);
  }
  env.PATH = `${local}${delimiter}${env.PATH ?? ''}`;
  return env;
}

/** Installs the workspace's dependencies exactly as the lockfile pins them. */
export function installDependencies(env) {
  say('installing dependencies (pnpm install --frozen-lockfile)');
  run('pnpm', ['install', '--frozen-lockfile', '--prefer-offline'], { env });
}

/**
 * The redis-server binary: $REDIS_SERVER_BIN, or on PATH, or installed with
 * apt-get when this is a Debian-like machine and we are root. Returns
 * undefined (after saying how to install it) when none can be had.
 */
export function ensureRedisServer() {
  const configured = process.env.REDIS_SERVER_BIN;
  if (configured && existsSync(configured)) return configured;
  const found = findOnPath('redis-server');
  if (found) return found;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (isRoot && findOnPath('apt-get')) {
    say('redis-server not found; installing it with apt-get');
    run('apt-get', ['update', '-qq'], {
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    run('apt-get', ['install', '-y', '-qq', 'redis-server'], {
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    return findOnPath('redis-server');
  }
  console.error(
    'redis-server is needed and was not found. Install it (Debian/Ubuntu: sudo apt-get install -y redis-server; ' +
      'macOS: brew install redis) or set REDIS_SERVER_BIN.',
  );
  return undefined;
}
