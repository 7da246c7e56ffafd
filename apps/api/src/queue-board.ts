import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { Cluster, type Redis } from 'ioredis';
import { isConnectionError, type Logger } from '@fiml/runtime';
import { QUEUE_NAMES, queuePrefix } from '@fiml/queue';
import { z } from 'zod';
import { HttpError, type ErrorBody } from './errors.js';

export interface QueueBoardOptions {
  /** The queue Redis (a producer-role connection is fine: the board only reads and acts on demand). */
  readonly connection: Redis | Cluster;
  /** The deployment's QUEUE_PREFIX. */
  readonly prefix: string;
  /** Job data contracts by queue name, shown on the board and used by its "add job" form. */
  readonly schemas: Readonly<
    Record<string, { readonly description: string; readonly schema: z.ZodType }>
  >;
  readonly logger: Logger;
  /** How often to look for queues the api does not know by name. @defaultValue 30000 */
  readonly discoveryIntervalMs?: number;
}

export const QUEUE_BOARD_PATH = '/admin/queues';
/** The board's data API (JSON), which reads the queue Redis on every call. */
const BOARD_API_PATH = `${QUEUE_BOARD_PATH}/api/`;
/** Redis server details (version, memory, clients): the admin key's only. */
const REDIS_STATS_PATH = `${QUEUE_BOARD_PATH}/api/redis/stats`;
/** Seconds a client waits before asking the board again while the queue Redis is down. */
const QUEUE_RETRY_AFTER_SECONDS = 5;

/** Our codes for the statuses bull-board answers with. */
const BOARD_STATUS_CODES: Readonly<Record<number, string>> = {
  400: 'FIML_BAD_REQUEST',
  403: 'FIML_FORBIDDEN',
  404: 'FIML_NOT_FOUND',
  409: 'FIML_CONFLICT',
  500: 'FIML_INTERNAL',
};

function queueUnavailable(cause: unknown): HttpError {
  return new HttpError(
    503,
    'FIML_QUEUE_UNAVAILABLE',
    'the queue Redis is unreachable; retry later',
    { 'retry-after': String(QUEUE_RETRY_AFTER_SECONDS) },
    { cause },
  );
}

function isErrorBody(payload: unknown): payload is ErrorBody {
  return (
    typeof payload === 'object' &&
    payload !== null &&
    'requestId' in payload &&
    typeof (payload as { error?: { code?: unknown } }).error?.code === 'string'
  );
}

/**
 * What a bull-board error body says, from its translation key
 * (`ERRORS.QUEUE_NOT_FOUND` → "queue not found"); undefined when it has none.
 * Its other fields (a message, the stack in development) are never shown.
 */
function boardErrorReason(payload: unknown): string | undefined {
  const key = (payload as { error?: { key?: unknown } } | null)?.error?.key;
  if (typeof key !== 'string' || !/^ERRORS\.[A-Z0-9_]{1,64}$/.test(key)) return undefined;
  return key.slice('ERRORS.'.length).toLowerCase().replace(/_/g, ' ');
}

/**
 * bull-board at /admin/queues with every queue of the deployment: the ones
 * named in @fiml/queue, plus any other queue found under the prefix (found
 * by SCAN for BullMQ's `:meta` keys), so a new queue appears without a code
 * change to the api. Viewing needs an API key; actions (retry, clean, add,
 * pause) and Redis server details need the admin key. Every error, bull-board's
 * own included, is answered in the api's error format; while the queue Redis
 * is down the data API answers 503 with Retry-After.
 */
export function registerQueueBoard(
  app: FastifyInstance,
  options: QueueBoardOptions,
): { discover(): Promise<string[]> } {
  const log = options.logger.child({ component: 'queue-board' });
  const prefix = queuePrefix(options.prefix);
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(QUEUE_BOARD_PATH);
  const board = createBullBoard({
    queues: [],
    serverAdapter,
    options: { uiConfig: { boardTitle: 'fiml-cache queues' } },
  });
  const queues = new Map<string, Queue>();

  function add(name: string): void {
    if (queues.has(name)) return;
    const queue = new Queue(name, { connection: options.connection, prefix });
    queue.on('error', (error) => log.debug({ err: error, queue: name }, 'board queue error'));
    queues.set(name, queue);
    const contract = options.schemas[name];
    board.addQueue(
      new BullMQAdapter(queue, {
        readOnlyMode: false,
        description: contract?.description ?? 'not a queue fiml-cache knows by name',
        ...(contract
          ? {
              jobDataSchema: z.toJSONSchema(contract.schema, { io: 'input' }) as Record<
                string,
                unknown
              >,
            }
          : {}),
      }),
    );
    log.info({ queue: name }, 'queue added to the dashboard');
  }

  async function discover(): Promise<string[]> {
    // While the queue Redis is unreachable the known queues are shown; the timer tries again.
    if (options.connection.status !== 'ready') return [...queues.keys()];
    const found = new Set<string>(QUEUE_NAMES);
    // On a Cluster, SCAN walks one node: walk every master (the prefix's hash
    // tag puts every queue key on one of them; the others answer at once).
    const nodes =
      options.connection instanceof Cluster
        ? options.connection.nodes('master')
        : [options.connection];
    for (const node of nodes) {
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', `${prefix}:*:meta`, 'COUNT', 1000);
        cursor = next;
        for (const key of keys) found.add(key.slice(prefix.length + 1, -':meta'.length));
      } while (cursor !== '0');
    }
    for (const name of found) add(name);
    return [...queues.keys()];
  }

  for (const name of QUEUE_NAMES) add(name);
  const timer = setInterval(() => {
    discover().catch((error: unknown) =>
      log.warn({ err: error }, 'queue discovery failed; will retry'),
    );
  }, options.discoveryIntervalMs ?? 30_000);
  timer.unref();
  app.addHook('onReady', async () => {
    await discover().catch((error: unknown) =>
      log.warn({ err: error }, 'queue discovery failed; will retry'),
    );
  });
  app.addHook('onClose', async () => {
    clearInterval(timer);
    await Promise.all([...queues.values()].map((q) => q.close()));
  });

  // Errors of bull-board's handlers go to the api's error handler (bull-board's own answers with
  // its internal message, and the stack in development): rethrown from the adapter's handler,
  // Fastify hands them to the parent's. A Redis error while the queue Redis is down is a 503.
  // Right after Redis went away the connection may not know yet: the error itself says so.
  serverAdapter.setErrorHandler((error: Error) => {
    if (options.connection.status !== 'ready' || isConnectionError(error)) {
      throw queueUnavailable(error);
    }
    throw error;
  });

  void app.register(async (scope) => {
    scope.addHook('onRequest', async (request, reply) => {
      if (request.apiKeyName === undefined) {
        void reply.header('www-authenticate', 'Basic realm="fiml-cache admin"');
        throw new HttpError(401, 'FIML_UNAUTHORIZED', 'the queue dashboard needs an API key');
      }
      const path = request.url.split('?', 1)[0]!;
      if (!request.isAdmin && (path === REDIS_STATS_PATH || path === `${REDIS_STATS_PATH}/`)) {
        throw new HttpError(
          403,
          'FIML_FORBIDDEN',
          'Redis server details are shown to the admin key only',
        );
      }
      if (request.method !== 'GET' && request.method !== 'HEAD' && !request.isAdmin) {
        throw new HttpError(
          403,
          'FIML_FORBIDDEN',
          'the queue dashboard is read-only without the admin key',
        );
      }
      // The data API needs the queue Redis; the page and its static files do not.
      if (path.startsWith(BOARD_API_PATH) && options.connection.status !== 'ready') {
        throw queueUnavailable(undefined);
      }
    });
    // bull-board answers its own refusals (an unknown queue or job, a bad status) as
    // `{ error: { key }, ...details }`: the same answers in the api's format, details left out.
    scope.addHook('preSerialization', (request, reply, payload: unknown, done) => {
      if (reply.statusCode < 400 || isErrorBody(payload)) {
        done(null, payload);
        return;
      }
      // bull-board answered a failure of its own (500) while the queue Redis is gone.
      if (reply.statusCode >= 500 && options.connection.status !== 'ready') {
        const unavailable = queueUnavailable(undefined);
        void reply.code(unavailable.statusCode).headers(unavailable.headers);
        done(null, {
          error: { code: unavailable.code, message: unavailable.message },
          requestId: request.id,
        } satisfies ErrorBody);
        return;
      }
      const reason = boardErrorReason(payload);
      const body: ErrorBody = {
        error: {
          code: BOARD_STATUS_CODES[reply.statusCode] ?? 'FIML_BAD_REQUEST',
          message: `the queue dashboard refused the request${reason ? `: ${reason}` : ''}`,
        },
        requestId: request.id,
      };
      done(null, body);
    });
    await scope.register(serverAdapter.registerPlugin(), { prefix: QUEUE_BOARD_PATH });
  });
  return { discover };
}
