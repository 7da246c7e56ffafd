import type { Registry } from 'prom-client';
import { fitGcToCpus } from './gc.js';
import { createLogger, type LogLevel, type Logger } from './logger.js';
import { createMetricsRegistry } from './metrics-registry.js';
import { startOpsServer, type OpsServer } from './ops-server.js';
import type { ReadinessCheck } from './readiness.js';

export interface ShutdownOptions {
  readonly logger: Logger;
  /**
   * Bound on the whole shutdown; past it the process exits 1 whatever is still
   * closing. Give it more than the worker's own job timeout. @defaultValue 15000
   */
  readonly timeoutMs?: number;
  /** Exits the process. Injected so tests can observe it. @defaultValue process.exit */
  readonly exit?: (code: number) => void;
}

export interface Shutdown {
  /**
   * Registers a resource to close on shutdown. Resources close in reverse
   * order of registration: register connections first, the things that use
   * them after.
   */
  register(name: string, close: () => Promise<unknown>): void;
  /**
   * Closes everything and exits: `exitCode` (default 0) when every step
   * succeeded, 1 otherwise. Runs once. Pass `exitCode: 1` when shutting down
   * because start-up failed.
   */
  run(reason: string, options?: { readonly exitCode?: number }): Promise<void>;
  /** Runs on SIGTERM and SIGINT; a second signal exits at once with status 1. */
  listen(signals?: readonly NodeJS.Signals[]): void;
}

/**
 * The process's shutdown sequence, set up by the composition root: stop
 * taking work, let work in flight finish within a bound, close connections,
 * exit 0. Every step is logged with its duration so a slow shutdown is
 * explained in the logs.
 */
export function createShutdown(options: ShutdownOptions): Shutdown {
  const log = options.logger.child({ component: 'shutdown' });
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const timeoutMs = options.timeoutMs ?? 15_000;
  const steps: { name: string; close: () => Promise<unknown> }[] = [];
  let running: Promise<void> | undefined;

  async function closeAll(): Promise<boolean> {
    let ok = true;
    for (const step of [...steps].reverse()) {
      const started = performance.now();
      try {
        await step.close();
        log.info({ step: step.name, ms: Math.round(performance.now() - started) }, 'closed');
      } catch (error) {
        ok = false;
        log.error({ step: step.name, err: error }, 'failed to close');
      }
    }
    return ok;
  }

  const shutdown: Shutdown = {
    register(name, close) {
      steps.push({ name, close });
    },
    run(reason, options = {}) {
      running ??= (async () => {
        log.info({ reason, timeoutMs }, 'shutting down');
        let timer: NodeJS.Timeout | undefined;
        const deadline = new Promise<'timeout'>((resolve) => {
          timer = setTimeout(() => resolve('timeout'), timeoutMs);
          timer.unref();
        });
        const outcome = await Promise.race([closeAll(), deadline]);
        clearTimeout(timer);
        if (outcome === 'timeout') {
          log.error({ timeoutMs }, 'shutdown did not finish in time; exiting');
          exit(1);
        } else {
          log.info({ clean: outcome }, 'shutdown complete');
          exit(outcome ? (options.exitCode ?? 0) : 1);
        }
      })();
      return running;
    },
    listen(signals = ['SIGTERM', 'SIGINT']) {
      for (const signal of signals) {
        process.on(signal, () => {
          if (running) {
            log.warn({ signal }, 'second signal during shutdown; exiting now');
            exit(1);
            return;
          }
          void shutdown.run(signal);
        });
      }
    },
  };
  return shutdown;
}

export interface ProcessContextOptions {
  /** The process name, on every log line and metric series ("api"). */
  readonly service: string;
  readonly config: {
    readonly LOG_LEVEL: LogLevel;
    readonly NODE_ENV: 'development' | 'production' | 'test';
    readonly SHUTDOWN_TIMEOUT_MS: number;
  };
}

export interface ProcessContext {
  readonly logger: Logger;
  readonly registry: Registry;
  /** Already listening for SIGTERM and SIGINT. */
  readonly shutdown: Shutdown;
}

/**
 * What every composition root starts with: the process's one logger (pretty
 * in development, JSON otherwise), its one Prometheus registry, and the
 * shutdown sequence, listening for signals; and, on one CPU, garbage
 * collection fitted to it (`fitGcToCpus`). The whole shutdown gets five
 * seconds more than the bound on active work, so connections can still close.
 */
export function createProcessContext(options: ProcessContextOptions): ProcessContext {
  const { service, config } = options;
  const logger = createLogger({
    service,
    level: config.LOG_LEVEL,
    pretty: config.NODE_ENV === 'development',
  });
  if (fitGcToCpus()) logger.debug('one CPU available: young-generation GC on the main thread only');
  const registry = createMetricsRegistry({ service });
  const shutdown = createShutdown({ logger, timeoutMs: config.SHUTDOWN_TIMEOUT_MS + 5_000 });
  shutdown.listen();
  return { logger, registry, shutdown };
}

export interface WorkerOpsOptions {
  readonly config: { readonly METRICS_HOST: string; readonly METRICS_PORT: number };
  /** Dependencies /readyz checks, by name. */
  readonly readiness: Readonly<Record<string, ReadinessCheck>>;
  /** Resources that only feed /metrics: closed right after the server, in the same step. */
  readonly closeWithServer?: () => Promise<unknown>;
}

/**
 * Starts a worker's ops server (/metrics, /healthz, /readyz) and registers it
 * for shutdown. A server that cannot listen (a port in use) shuts the process
 * down with status 1, logged, rather than leaving a worker no one can watch.
 * Resolves with the server, or undefined once the shutdown has run.
 */
export async function startWorkerOps(
  context: ProcessContext,
  options: WorkerOpsOptions,
): Promise<OpsServer | undefined> {
  const { logger, registry, shutdown } = context;
  try {
    const ops = await startOpsServer({
      registry,
      logger,
      host: options.config.METRICS_HOST,
      port: options.config.METRICS_PORT,
      readiness: options.readiness,
    });
    shutdown.register('ops server', async () => {
      await ops.close();
      await options.closeWithServer?.();
    });
    return ops;
  } catch (error) {
    logger.fatal({ err: error }, 'could not start the ops server');
    await shutdown.run('ops server failed', { exitCode: 1 });
    return undefined;
  }
}

/** Named resources closed in reverse order of adding, as a composition function owns them. */
export interface Closer {
  /** Adds a resource. Add connections first, the things that use them after. */
  add(name: string, close: () => unknown): void;
  /**
   * Closes every resource in reverse order, each step logged as `closed`
   * (with `step` and `ms`) like the shutdown's. A failed step does not stop
   * the others; the first failure rejects afterwards. Runs once.
   */
  close(): Promise<void>;
}

export function createCloser(logger: Logger): Closer {
  const log = logger.child({ component: 'shutdown' });
  const steps: { name: string; close: () => unknown }[] = [];
  let closing: Promise<void> | undefined;
  return {
    add(name, close) {
      steps.push({ name, close });
    },
    close() {
      closing ??= (async () => {
        let firstError: unknown;
        for (const step of [...steps].reverse()) {
          const started = performance.now();
          try {
            await step.close();
            log.info({ step: step.name, ms: Math.round(performance.now() - started) }, 'closed');
          } catch (error) {
            firstError ??= error;
            log.error({ step: step.name, err: error }, 'failed to close');
          }
        }
        if (firstError !== undefined) {
          throw firstError instanceof Error
            ? firstError
            : new Error('a resource failed to close', { cause: firstError });
        }
      })();
      return closing;
    },
  };
}

/** What a worker's composition function returns for {@link runWorkerProcess}. */
export interface WorkerProcess {
  /** Dependencies /readyz checks, by name. */
  readonly readiness: Readonly<Record<string, ReadinessCheck>>;
  /** Fields of the `<service> ready` log line (redacted URLs, prefixes, ...). */
  readonly summary: Readonly<Record<string, unknown>>;
  /** Runs once the ops server listens; it may keep retrying until `close()`. */
  start?(): Promise<void>;
  /** Closes everything the worker built, in reverse order of building. */
  close(): Promise<void>;
}

export interface WorkerProcessOptions<C extends ProcessContextOptions['config']> {
  /** The process name ("batch-scheduler"); also the shutdown step that closes the worker. */
  readonly service: string;
  /** The parsed configuration (loaded by the caller with loadConfigOrExit). */
  readonly config: C & WorkerOpsOptions['config'];
  /**
   * Builds the worker from the process's logger and registry: the same
   * function tests call (`createBatchScheduler`, `createWarmer`).
   */
  readonly create: (context: ProcessContext) => WorkerProcess;
}

/**
 * The start-up every worker process shares: the process context, the worker
 * built by its composition function, the ops server, the ready line, then
 * `start()`. Shutdown closes the ops server first, then the worker. A worker
 * that cannot be built (a bad provider setting) or started exits 1, logged.
 */
export async function runWorkerProcess<C extends ProcessContextOptions['config']>(
  options: WorkerProcessOptions<C>,
): Promise<void> {
  const { service, config } = options;
  const context = createProcessContext({ service, config });
  const { logger, shutdown } = context;
  let app: WorkerProcess;
  try {
    app = options.create(context);
  } catch (error) {
    logger.fatal({ err: error }, `could not build the ${service}`);
    await shutdown.run('start-up failed', { exitCode: 1 });
    return;
  }
  shutdown.register(service, () => app.close());
  const ops = await startWorkerOps(context, { config, readiness: app.readiness });
  if (!ops) return;
  logger.info({ ...app.summary, metrics: `${ops.url}/metrics` }, `${service} ready`);
  try {
    await app.start?.();
  } catch (error) {
    logger.fatal({ err: error }, `the ${service} could not start`);
    await shutdown.run('start failed', { exitCode: 1 });
  }
}
