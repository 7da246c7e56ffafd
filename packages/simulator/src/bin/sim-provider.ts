#!/usr/bin/env node
/**
 * The simulated market-data provider as a process: the default upstream the
 * run command starts, so a local deployment exercises the real HTTP adapter
 * path. Logs JSON lines; stops gracefully on SIGTERM and SIGINT.
 */
import { createLogger, type LogLevel } from '@fiml/runtime';
import {
  SIM_PROVIDER_USAGE,
  SimProviderUsageError,
  parseSimProviderArgs,
} from '../sim-provider-cli.js';
import { startSimulatedProviderServer } from '../simulated-provider-server.js';

async function main(): Promise<void> {
  let config;
  try {
    config = parseSimProviderArgs(process.argv.slice(2), process.env);
  } catch (error) {
    if (!(error instanceof SimProviderUsageError)) throw error;
    process.stderr.write(`sim-provider: ${error.message}\n\n${SIM_PROVIDER_USAGE}\n`);
    process.exitCode = 2;
    return;
  }
  if (!config) {
    process.stdout.write(`${SIM_PROVIDER_USAGE}\n`);
    return;
  }
  const logger = createLogger({ service: 'sim-provider', level: config.logLevel as LogLevel });
  const server = await startSimulatedProviderServer({ ...config.server, logger });
  logger.info(
    {
      url: server.url,
      port: server.port,
      seed: config.server.seed,
      delay: config.server.delay,
      failureRate: config.server.failureRate,
      providers: [...server.upstreams.keys()],
      universe: {
        equity: server.market.universe.equity.length,
        crypto: server.market.universe.crypto.length,
      },
    },
    'simulated provider listening',
  );

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'simulated provider stopping');
    server.close().then(
      () => {
        logger.info('simulated provider stopped');
        process.exitCode = 0;
      },
      (error: unknown) => {
        logger.error({ err: error }, 'simulated provider did not close cleanly');
        process.exitCode = 1;
      },
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(
    `sim-provider: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
