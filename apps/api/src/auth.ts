import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HttpError } from './errors.js';

/** What a route needs: anyone, a client key (or anyone, for reads when configured so), or the admin key. */
export type AccessLevel = 'public' | 'read' | 'write' | 'admin';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call the route. @defaultValue 'public' */
    access?: AccessLevel;
  }
  interface FastifyRequest {
    /** The name of the API key presented ("portfolio", "admin"), if any was valid. */
    apiKeyName: string | undefined;
    /** Whether the presented key is the admin key. */
    isAdmin: boolean;
  }
}

export interface AuthOptions {
  /** Client keys by name. */
  readonly keys: readonly { readonly name: string; readonly key: string }[];
  /** The operator key; empty disables admin actions. */
  readonly adminKey: string;
  /** Whether reads need a key too. */
  readonly readsRequireKey: boolean;
}

const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * The key a request presents: `X-API-Key`, `Authorization: Bearer <key>`, or
 * the password of HTTP Basic auth (so a browser can open /admin/queues).
 */
export function presentedKey(request: FastifyRequest): string | undefined {
  const header = request.headers['x-api-key'];
  if (typeof header === 'string' && header !== '') return header;
  const authorization = request.headers.authorization;
  if (!authorization) return undefined;
  const [scheme, value] = authorization.split(' ', 2);
  if (!value) return undefined;
  if (scheme?.toLowerCase() === 'bearer') return value;
  if (scheme?.toLowerCase() === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon === -1 ? undefined : decoded.slice(colon + 1);
  }
  return undefined;
}

/**
 * API-key authentication. Keys are compared as SHA-256 digests with
 * `timingSafeEqual`, against every configured key without stopping early, so
 * neither the length nor the position of a match leaks through timing.
 */
export function registerAuth(app: FastifyInstance, options: AuthOptions): void {
  const clients = options.keys.map(({ name, key }) => ({ name, digest: digest(key) }));
  const admin = options.adminKey === '' ? undefined : digest(options.adminKey);

  function identify(key: string | undefined): { name: string | undefined; isAdmin: boolean } {
    if (key === undefined) return { name: undefined, isAdmin: false };
    const presented = digest(key);
    let name: string | undefined;
    for (const client of clients) {
      if (timingSafeEqual(client.digest, presented) && name === undefined) name = client.name;
    }
    const isAdmin = admin !== undefined && timingSafeEqual(admin, presented);
    return { name: isAdmin ? 'admin' : name, isAdmin };
  }

  app.decorateRequest('apiKeyName', undefined);
  app.decorateRequest('isAdmin', false);
  app.addHook('onRequest', async (request, reply) => {
    const key = presentedKey(request);
    const { name, isAdmin } = identify(key);
    request.apiKeyName = name;
    request.isAdmin = isAdmin;
    const access = request.routeOptions.config.access ?? 'public';
    const needsKey =
      access === 'write' || access === 'admin' || (access === 'read' && options.readsRequireKey);
    if (!needsKey) return;
    if (name === undefined) {
      if (access === 'admin')
        void reply.header('www-authenticate', 'Basic realm="fiml-cache admin"');
      throw new HttpError(
        401,
        'FIML_UNAUTHORIZED',
        key === undefined
          ? 'an API key is required (X-API-Key header or Authorization: Bearer)'
          : 'the API key is not valid',
      );
    }
  });
}
