import { timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
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

/** Keys are 16-256 visible ASCII characters (config enforces it); a 2-byte length prefix makes padding unambiguous. */
const KEY_SLOT_BYTES = 2 + 256;

/**
 * A key in a fixed-size slot: its byte length, its bytes, zeros. Comparing two
 * slots with timingSafeEqual takes the same time whatever the keys, so neither
 * the length nor the common prefix of a guess leaks; and it is cheaper per
 * request than hashing. Undefined for a value that cannot be a key.
 */
function slot(value: string, into: Buffer = Buffer.alloc(KEY_SLOT_BYTES)): Buffer | undefined {
  // Header values are latin1: one byte per character, so the length is the byte count.
  if (value.length > KEY_SLOT_BYTES - 2) return undefined;
  into.fill(0);
  into.writeUInt16BE(value.length, 0);
  into.write(value, 2, 'latin1');
  return into;
}

/**
 * The key a request presents: `X-API-Key`, `Authorization: Bearer <key>`, or
 * the password of HTTP Basic auth (so a browser can open /admin/queues).
 */
export function presentedKey(headers: IncomingHttpHeaders): string | undefined {
  const header = headers['x-api-key'];
  if (typeof header === 'string' && header !== '') return header;
  const authorization = headers.authorization;
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
 * Who a request counts against, for the request rate limit and the upstream
 * shares: its API key's name, or its address without one.
 */
export function clientOf(request: FastifyRequest): string {
  return clientId(request.apiKeyName, request.ip);
}

/** A client's id from its key's name, or its address without a valid key (see clientOf). */
export function clientId(keyName: string | undefined, address: string | undefined): string {
  return keyName ? `key:${keyName}` : `ip:${address}`;
}

/** Who a key is: the name of the client (or "admin") it belongs to, if any. */
export interface Identity {
  readonly name: string | undefined;
  readonly isAdmin: boolean;
}

/**
 * Identifies the key a request's headers present. Keys are compared in
 * fixed-size slots with `timingSafeEqual`, against every configured key
 * without stopping early, so neither the length nor the position of a
 * match leaks through timing.
 */
export function keyIdentifier(options: AuthOptions): (headers: IncomingHttpHeaders) => Identity {
  const clients = options.keys.map(({ name, key }) => ({ name, slot: slot(key)! }));
  const admin = options.adminKey === '' ? undefined : slot(options.adminKey);
  // The presented key is written into one reused buffer: checks are synchronous, so
  // no two requests use it at once, and no request allocates one.
  const scratch = Buffer.alloc(KEY_SLOT_BYTES);
  const nobody: Identity = { name: undefined, isAdmin: false };

  return (headers) => {
    const key = presentedKey(headers);
    if (key === undefined) return nobody;
    const presented = slot(key, scratch);
    if (presented === undefined) return nobody;
    let name: string | undefined;
    for (const client of clients) {
      if (timingSafeEqual(client.slot, presented) && name === undefined) name = client.name;
    }
    const isAdmin = admin !== undefined && timingSafeEqual(admin, presented);
    return { name: isAdmin ? 'admin' : name, isAdmin };
  };
}

/** API-key authentication of every route, by its `access` level (see keyIdentifier). */
export function registerAuth(
  app: FastifyInstance,
  options: AuthOptions,
  identify: (headers: IncomingHttpHeaders) => Identity = keyIdentifier(options),
): void {
  app.decorateRequest('apiKeyName', undefined);
  app.decorateRequest('isAdmin', false);
  // A callback hook, not an async one: it runs on every request, and needs no promise.
  app.addHook('onRequest', (request, reply, done) => {
    // Set here, first, so every answer carries it, errors included (one hook, not an onSend per reply).
    void reply.header('x-request-id', request.id);
    const { name, isAdmin } = identify(request.headers);
    request.apiKeyName = name;
    request.isAdmin = isAdmin;
    const access = request.routeOptions.config.access ?? 'public';
    const needsKey =
      access === 'write' || access === 'admin' || (access === 'read' && options.readsRequireKey);
    if (!needsKey || name !== undefined) {
      done();
      return;
    }
    if (access === 'admin') void reply.header('www-authenticate', 'Basic realm="fiml-cache admin"');
    done(
      new HttpError(
        401,
        'FIML_UNAUTHORIZED',
        presentedKey(request.headers) === undefined
          ? 'an API key is required (X-API-Key header or Authorization: Bearer)'
          : 'the API key is not valid',
      ),
    );
  });
}
