import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ConfigError,
  defineEnv,
  envVar,
  loadConfig,
  loadConfigOrExit,
  opsServerVars,
  parsers,
  processVars,
} from './index.js';

/** A worker-like environment built from the machinery alone (apps assemble theirs the same way). */
const demoEnv = defineEnv('demo-worker', {
  ...processVars,
  ...opsServerVars('9101'),
  REDIS_QUEUE_URL: envVar(parsers.redisUrl(), {
    description: 'queue Redis',
    expected: 'redis URL',
  }),
  REDIS_CACHE_URL: envVar(parsers.redisUrl(), {
    description: 'cache Redis',
    expected: 'redis URL',
  }),
  WORKER_CONCURRENCY: envVar(parsers.integer(1, 1000), {
    description: 'jobs at once',
    expected: 'integer 1-1000',
    default: '8',
  }),
});

describe('loadConfig', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'fiml-config-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads the .env file, with the real environment winning', () => {
    const file = join(dir, '.env');
    writeFileSync(
      file,
      'REDIS_QUEUE_URL=redis://from-file:6379\nREDIS_CACHE_URL=redis://from-file:6380\nWORKER_CONCURRENCY=3\nLOG_LEVEL=debug\n',
    );
    const config = loadConfig(demoEnv, {
      env: { LOG_LEVEL: 'warn' },
      dotenvPath: file,
    });
    expect(config.REDIS_QUEUE_URL).toBe('redis://from-file:6379');
    expect(config.WORKER_CONCURRENCY).toBe(3);
    expect(config.LOG_LEVEL).toBe('warn');
  });

  it('writes nothing to stdout (dotenv 17+ would, without quiet)', () => {
    const file = join(dir, '.env');
    writeFileSync(file, 'REDIS_QUEUE_URL=redis://h:6379\nREDIS_CACHE_URL=redis://h:6380\n');
    const write = jest.spyOn(process.stdout, 'write');
    try {
      loadConfig(demoEnv, { env: {}, dotenvPath: file });
      expect(write).not.toHaveBeenCalled();
    } finally {
      write.mockRestore();
    }
  });

  it('is fine without a .env file, and does not touch process.env', () => {
    const before = { ...process.env };
    const config = loadConfig(demoEnv, {
      env: { REDIS_QUEUE_URL: 'redis://h:6379', REDIS_CACHE_URL: 'redis://h:6380' },
      dotenvPath: join(dir, 'missing.env'),
    });
    expect(config.METRICS_PORT).toBe(9101);
    expect(process.env).toEqual(before);
  });

  it('reports an unreadable .env file instead of ignoring it', () => {
    if (process.getuid?.() === 0) {
      // root reads files whatever their mode; use a directory, which no one can read as a file.
      expect(() => loadConfig(demoEnv, { env: {}, dotenvPath: dir })).toThrow(/Could not read/);
      return;
    }
    const file = join(dir, '.env');
    writeFileSync(file, 'X=1\n');
    chmodSync(file, 0o000);
    expect(() => loadConfig(demoEnv, { env: {}, dotenvPath: file })).toThrow(/Could not read/);
  });

  it('throws ConfigError for the merged environment', () => {
    expect(() => loadConfig(demoEnv, { env: {}, dotenvPath: false })).toThrow(ConfigError);
  });
});

describe('loadConfigOrExit', () => {
  it('prints every problem to stderr and exits 1', () => {
    let written = '';
    const exit = ((code: number) => {
      throw new Error(`exit ${code}`);
    }) as (code: number) => never;
    expect(() =>
      loadConfigOrExit(demoEnv, {
        env: { REDIS_CACHE_URL: 'redis://h:6380', WORKER_CONCURRENCY: 'many' },
        dotenvPath: false,
        exit,
        stderr: { write: (text: string) => (written += text) },
      }),
    ).toThrow('exit 1');
    expect(written).toContain('Invalid configuration for demo-worker: 2 variables to fix.');
    expect(written).toContain('REDIS_QUEUE_URL: is required but not set');
    expect(written).toContain('WORKER_CONCURRENCY: "many" is invalid (not an integer)');
  });

  it('returns the config when it is valid', () => {
    const config = loadConfigOrExit(demoEnv, {
      env: { REDIS_QUEUE_URL: 'redis://h:1', REDIS_CACHE_URL: 'redis://h:2' },
      dotenvPath: false,
    });
    expect(config.REDIS_QUEUE_URL).toBe('redis://h:1');
  });
});
