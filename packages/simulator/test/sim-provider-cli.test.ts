import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from '@jest/globals';
import { waitFor, waitForEvent } from '@fiml/testing';
import { SimProviderUsageError, parseSimProviderArgs } from '../src/sim-provider-cli.js';

describe('parseSimProviderArgs', () => {
  it('reads the environment, lets argv win, and keeps the key out of argv', () => {
    const config = parseSimProviderArgs(['--port', '0', '--latency=none'], {
      PORT: '9300',
      SEED: 'market-week',
      SIM_FAILURE_RATE: '0',
      SIM_API_KEY: 'secret',
    });
    expect(config).toEqual({
      server: {
        host: '127.0.0.1',
        port: 0,
        seed: 'market-week',
        failureRate: 0,
        delay: false,
        latencyScale: 1,
        market: { equities: 3000, crypto: 100 },
        apiKey: 'secret',
      },
      logLevel: 'info',
    });
    expect(parseSimProviderArgs([], {})?.server).toMatchObject({
      port: 9200,
      seed: 42,
      failureRate: 0.005,
      delay: true,
    });
    expect(parseSimProviderArgs(['--help'], {})).toBeUndefined();
  });

  it.each([['--port', 'x'], ['--failure-rate', '2'], ['--latency', 'slow'], ['--nope']])(
    'rejects %s %s',
    (...argv) => {
      expect(() => parseSimProviderArgs(argv, {})).toThrow(SimProviderUsageError);
    },
  );
});

describe('sim-provider command', () => {
  const children: ReturnType<typeof spawn>[] = [];
  afterEach(() => {
    for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  });

  it('starts, logs JSON with its URL, serves, and exits 0 on SIGTERM', async () => {
    const root = join(__dirname, '..');
    const child = spawn(
      process.execPath,
      [
        '--conditions=@fiml/source',
        '--import',
        'tsx',
        'src/bin/sim-provider.ts',
        '--port',
        '0',
        '--latency',
        'none',
      ],
      {
        cwd: root,
        env: { ...process.env, SEED: '7', SIM_EQUITIES: '20', SIM_CRYPTO: '5' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    children.push(child);
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    const exited = waitForEvent<[number | null]>(child, 'exit', { timeoutMs: 20_000 });

    const ready = await waitFor(
      () =>
        out
          .split('\n')
          .map((line) =>
            line.startsWith('{') ? (JSON.parse(line) as Record<string, unknown>) : undefined,
          )
          .find((l) => l?.msg === 'simulated provider listening'),
      { timeoutMs: 15_000, description: `the listening log line (stderr: ${err})` },
    );
    expect(ready).toMatchObject({
      level: 'info',
      service: 'sim-provider',
      seed: 7,
      providers: ['sim-equities', 'sim-crypto', 'sim-reference'],
    });
    const url = ready.url as string;
    const res = await fetch(`${url}/v1/providers/sim-equities/price?assetType=equity&symbols=AAPL`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { data: Record<string, unknown> }).data.AAPL).toBeDefined();

    child.kill('SIGTERM');
    const [code] = await exited;
    expect(code).toBe(0);
    expect(out).toContain('simulated provider stopped');
  });
});
