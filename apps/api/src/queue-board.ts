import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type { Logger } from '@fiml/observability';
import { QUEUE_NAMES, queuePrefix } from '@fiml/queue';
import { z } from 'zod';
import { HttpError } from './errors.js';

export interface QueueBoardOptions {
  /** The queue Redis (a producer-role connection is fine: the board only reads and acts on demand). */
  readonly connection: Redis;
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

/**
 * bull-board at /admin/queues with every queue of the deployment: the ones
 * named in @fiml/queue, plus any other queue found under the prefix (found
 * by SCAN for BullMQ's `:meta` keys), so a new queue appears without a code
 * change to the api. Viewing needs an API key; actions (retry, clean, add,
 * pause) need the admin key.
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
    let cursor = '0';
    do {
      const [next, keys] = await options.connection.scan(
        cursor,
        'MATCH',
        `${prefix}:*:meta`,
        'COUNT',
        1000,
      );
      cursor = next;
      for (const key of keys) found.add(key.slice(prefix.length + 1, -':meta'.length));
    } while (cursor !== '0');
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

  void app.register(async (scope) => {
    scope.addHook('onRequest', async (request, reply) => {
      if (request.apiKeyName === undefined) {
        void reply.header('www-authenticate', 'Basic realm="fiml-cache admin"');
        throw new HttpError(401, 'FIML_UNAUTHORIZED', 'the queue dashboard needs an API key');
      }
      if (request.method !== 'GET' && request.method !== 'HEAD' && !request.isAdmin) {
        throw new HttpError(
          403,
          'FIML_FORBIDDEN',
          'the queue dashboard is read-only without the admin key',
        );
      }
    });
    await scope.register(serverAdapter.registerPlugin(), { prefix: QUEUE_BOARD_PATH });
  });
  return { discover };
}
