// Composition root of the api process: reads the environment once, builds the
// api through createApi (the wiring the tests run too), listens, and closes
// everything in reverse on SIGTERM.
import { loadConfigOrExit, redactUrl } from '@fiml/config';
import { apiEnv } from './config.js';
import { addAcceptHandles, createProcessContext } from '@fiml/runtime';
import { createApi, type Api } from './create-api.js';

const config = loadConfigOrExit(apiEnv);
const { logger, registry, shutdown } = createProcessContext({ service: 'api', config });

/**
 * A deep accept queue: a burst of new connections (a fleet reconnecting) waits to be accepted
 * instead of having its SYNs dropped and retried seconds later. The kernel caps it at
 * net.core.somaxconn.
 */
const LISTEN_BACKLOG = 4096;

let api: Api | undefined;
try {
  api = createApi(config, { logger, registry });
} catch (error) {
  logger.fatal({ err: error }, 'could not build the api');
  await shutdown.run('start-up failed', { exitCode: 1 });
}

if (api) {
  for (const resource of api.resources) shutdown.register(resource.name, () => resource.close());
  try {
    await api.app.listen({ host: config.API_HOST, port: config.API_PORT, backlog: LISTEN_BACKLOG });
    // More handles on the same socket, so a busy loop takes more than one new connection per
    // iteration (@fiml/runtime addAcceptHandles). Registered last, so closed first on SIGTERM:
    // they stop accepting before the http server drains.
    const accept = await addAcceptHandles(api.app.server, {
      copies: config.API_ACCEPT_HANDLES - 1,
      backlog: LISTEN_BACKLOG,
    });
    shutdown.register('accept handles', () => accept.close());
    if (accept.failure) {
      logger.warn(
        { err: accept.failure, wanted: config.API_ACCEPT_HANDLES },
        'accepting new connections on one listening handle only',
      );
    }
    logger.info(
      {
        queueRedis: redactUrl(config.REDIS_QUEUE_URL),
        cacheRedis: redactUrl(config.REDIS_CACHE_URL),
        queuePrefix: config.QUEUE_PREFIX,
        routes: Object.fromEntries(
          Object.entries(config.PROVIDER_ROUTES).map(([route, ids]) => [route, ids.join(',')]),
        ),
        apiKeys: config.API_KEYS.map((k) => k.name),
        acceptHandles: 1 + accept.added,
      },
      'api ready',
    );
  } catch (error) {
    logger.fatal({ err: error }, 'api could not listen');
    await shutdown.run('listen failed', { exitCode: 1 });
  }
}
