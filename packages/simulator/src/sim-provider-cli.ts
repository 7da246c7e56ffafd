import { parseArgs } from 'node:util';
import type { SimulatedProviderServerOptions } from './simulated-provider-server.js';

/** What the sim-provider command reads from argv and the environment. */
export interface SimProviderCliConfig {
  readonly server: Omit<SimulatedProviderServerOptions, 'logger' | 'clock' | 'sleep'>;
  readonly logLevel: string;
}

export const SIM_PROVIDER_USAGE = `Usage: node dist/bin/sim-provider.js [options]

Serves the simulated market-data upstreams (market-week.md) over HTTP.
Every option can also be set in the environment (in brackets); argv wins.

  --host <host>           interface to listen on [HOST] (default 127.0.0.1)
  --port <n>              port, 0 for a free one [PORT] (default 9200)
  --seed <seed>           market seed, number or text [SEED] (default 42)
  --failure-rate <r>      share of calls answered 503, 0-1 [SIM_FAILURE_RATE] (default 0.005)
  --latency <mode>        model: wait the modeled latency; none: answer at once [SIM_LATENCY] (default model)
  --latency-scale <x>     multiply modeled latencies [SIM_LATENCY_SCALE] (default 1)
  --equities <n>          equities in the universe [SIM_EQUITIES] (default 3000)
  --crypto <n>            crypto assets in the universe [SIM_CRYPTO] (default 100)
  --log-level <level>     pino level [LOG_LEVEL] (default info)
  -h, --help              this text
The API key, if any, comes from SIM_API_KEY only (never argv, where ps shows it).`;

/** A command line that cannot work; the message says which option and why. */
export class SimProviderUsageError extends Error {
  readonly code = 'FIML_SIM_PROVIDER_USAGE';
  constructor(message: string) {
    super(message);
    this.name = 'SimProviderUsageError';
  }
}

function number(name: string, raw: string, min: number, max: number, integer = false): number {
  const value = Number(raw);
  if (
    raw.trim() === '' ||
    !Number.isFinite(value) ||
    value < min ||
    value > max ||
    (integer && !Number.isInteger(value))
  ) {
    throw new SimProviderUsageError(
      `${name}: ${JSON.stringify(raw)} is not ${integer ? 'an integer' : 'a number'} in ${min}-${max}`,
    );
  }
  return value;
}

/** Parses argv (without node and the script) and the environment. Returns undefined for --help. */
export function parseSimProviderArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): SimProviderCliConfig | undefined {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        host: { type: 'string' },
        port: { type: 'string' },
        seed: { type: 'string' },
        'failure-rate': { type: 'string' },
        latency: { type: 'string' },
        'latency-scale': { type: 'string' },
        equities: { type: 'string' },
        crypto: { type: 'string' },
        'log-level': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new SimProviderUsageError(error instanceof Error ? error.message : String(error));
  }
  if (values.help) return undefined;
  const pick = (flag: string | undefined, variable: string, fallback: string): string => {
    const fromEnv = env[variable]?.trim();
    return flag ?? (fromEnv ? fromEnv : fallback);
  };
  const latency = pick(values.latency, 'SIM_LATENCY', 'model');
  if (latency !== 'model' && latency !== 'none')
    throw new SimProviderUsageError(
      `latency: expected model or none, got ${JSON.stringify(latency)}`,
    );
  const seedText = pick(values.seed, 'SEED', '42');
  const apiKey = env.SIM_API_KEY?.trim();
  return {
    server: {
      host: pick(values.host, 'HOST', '127.0.0.1'),
      port: number('port', pick(values.port, 'PORT', '9200'), 0, 65_535, true),
      seed: /^\d+$/.test(seedText) ? Number(seedText) : seedText,
      failureRate: number(
        'failure-rate',
        pick(values['failure-rate'], 'SIM_FAILURE_RATE', '0.005'),
        0,
        1,
      ),
      delay: latency === 'model',
      latencyScale: number(
        'latency-scale',
        pick(values['latency-scale'], 'SIM_LATENCY_SCALE', '1'),
        0,
        100,
      ),
      market: {
        equities: number(
          'equities',
          pick(values.equities, 'SIM_EQUITIES', '3000'),
          0,
          100_000,
          true,
        ),
        crypto: number('crypto', pick(values.crypto, 'SIM_CRYPTO', '100'), 0, 10_000, true),
      },
      ...(apiKey ? { apiKey } : {}),
    },
    logLevel: pick(values['log-level'], 'LOG_LEVEL', 'info'),
  };
}
