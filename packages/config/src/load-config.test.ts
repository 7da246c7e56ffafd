import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, batchSchedulerEnv, loadConfig } from './index.js';

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
    writeFileSync(file, 'REDIS_QUEUE_URL=redis://from-file:6379\nWORKER_CONCURRENCY=3\nLOG_LEVEL=debug\n');
    const config = loadConfig(batchSchedulerEnv, {
      env: { LOG_LEVEL: 'warn' },
      dotenvPath: file,
    });
    expect(config.REDIS_QUEUE_URL).toBe('redis://from-file:6379');
    expect(config.WORKER_CONCURRENCY).toBe(3);
    expect(config.LOG_LEVEL).toBe('warn');
  });

  it('writes nothing to stdout (dotenv 17+ would, without quiet)', () => {
    const file = join(dir, '.env');
    writeFileSync(file, 'REDIS_QUEUE_URL=redis://h:6379\n');
    const write = jest.spyOn(process.stdout, 'write');
    try {
      loadConfig(batchSchedulerEnv, { env: {}, dotenvPath: file });
      expect(write).not.toHaveBeenCalled();
    } finally {
      write.mockRestore();
    }
  });

  it('is fine without a .env file, and does not touch process.env', () => {
    const before = { ...process.env };
    const config = loadConfig(batchSchedulerEnv, {
      env: { REDIS_QUEUE_URL: 'redis://h:6379' },
      dotenvPath: join(dir, 'missing.env'),
    });
    expect(config.METRICS_PORT).toBe(9101);
    expect(process.env).toEqual(before);
  });

  it('reports an unreadable .env file instead of ignoring it', () => {
    if (process.getuid?.() === 0) {
      // root reads files whatever their mode; use a directory, which no one can read as a file.
      expect(() => loadConfig(batchSchedulerEnv, { env: {}, dotenvPath: dir })).toThrow(
        /Could not read/,
      );
      return;
    }
    const file = join(dir, '.env');
    writeFileSync(file, 'X=1\n');
    chmodSync(file, 0o000);
    expect(() => loadConfig(batchSchedulerEnv, { env: {}, dotenvPath: file })).toThrow(
      /Could not read/,
    );
  });

  it('throws ConfigError for the merged environment', () => {
    expect(() => loadConfig(batchSchedulerEnv, { env: {}, dotenvPath: false })).toThrow(ConfigError);
  });
});
