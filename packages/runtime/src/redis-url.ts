import type { RedisOptions } from 'ioredis';

/** A standalone server: ioredis reads the URL itself. */
export interface StandaloneRedisTarget {
  readonly kind: 'standalone';
  readonly url: string;
}

/** A Redis Cluster: its seed nodes and the options every node connection shares. */
export interface ClusterRedisTarget {
  readonly kind: 'cluster';
  readonly nodes: readonly { readonly host: string; readonly port: number }[];
  readonly options: Pick<RedisOptions, 'username' | 'password' | 'tls'>;
}

export type RedisTarget = StandaloneRedisTarget | ClusterRedisTarget;

/** Thrown for a Redis URL that names no reachable form; says which form is expected. */
export class RedisUrlError extends Error {
  readonly code = 'FIML_REDIS_URL_INVALID';
  constructor(detail: string) {
    super(
      `${detail}. Expected redis://[user:password@]host[:port][/db], rediss://… (TLS), or a ` +
        'Redis Cluster as redis+cluster://[user:password@]host:port[,host:port…] (rediss+cluster:// for TLS)',
    );
    this.name = 'RedisUrlError';
  }
}

const CLUSTER_URL = /^(rediss?)\+cluster:\/\/(?:([^@/]*)@)?([^/?#@]+)\/?(\d*)$/;
const SEED = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?$/;

/**
 * Reads a Redis URL. `redis://` and `rediss://` name one server. A Cluster is
 * named by `redis+cluster://` (or `rediss+cluster://` for TLS) and one or more
 * seed nodes separated by commas: `redis+cluster://10.0.0.1:7000,10.0.0.2:7000`.
 * The client discovers the rest of the Cluster from any seed that answers, so
 * a few seeds suffice; the port defaults to 6379. Credentials, when set, are
 * the same for every node. A Cluster has database 0 only, so no other is
 * accepted. Throws a {@link RedisUrlError} for anything else.
 */
export function parseRedisUrl(url: string): RedisTarget {
  if (typeof url !== 'string' || url.length === 0) throw new RedisUrlError('empty Redis URL');
  if (url.startsWith('redis://') || url.startsWith('rediss://')) {
    try {
      new URL(url);
    } catch {
      throw new RedisUrlError(`malformed Redis URL ${redactUrl(url)}`);
    }
    return { kind: 'standalone', url };
  }
  const match = CLUSTER_URL.exec(url);
  if (!match) throw new RedisUrlError(`unsupported Redis URL ${redactUrl(url)}`);
  const [, scheme, auth, seeds, db] = match;
  if (db && db !== '0') {
    throw new RedisUrlError(`a Redis Cluster has database 0 only, got /${db}`);
  }
  const nodes = seeds!.split(',').map((seed) => {
    const parts = SEED.exec(seed.trim());
    const port = Number(parts?.[2] ?? 6379);
    if (!parts || port < 1 || port > 65_535) {
      throw new RedisUrlError(`bad Cluster seed ${JSON.stringify(seed)} in ${redactUrl(url)}`);
    }
    return { host: parts[1]!.replace(/^\[|\]$/g, ''), port };
  });
  const options: { username?: string; password?: string; tls?: RedisOptions['tls'] } = {};
  if (auth) {
    const colon = auth.indexOf(':');
    const user = decodeURIComponent(colon < 0 ? auth : auth.slice(0, colon));
    const password = colon < 0 ? '' : decodeURIComponent(auth.slice(colon + 1));
    // As ioredis reads `redis://` URLs: `user@`, `user:password@`, `:password@`.
    if (user) options.username = user;
    if (password) options.password = password;
  }
  if (scheme === 'rediss') options.tls = {};
  return { kind: 'cluster', nodes, options };
}

/** Whether a URL names a Redis Cluster (`redis+cluster://`, `rediss+cluster://`). */
export function isClusterUrl(url: string): boolean {
  return /^rediss?\+cluster:\/\//.test(url);
}

/** The URL with its password replaced, for error messages and logs. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^@/]*)@/, (_, auth: string) => {
    const colon = auth.indexOf(':');
    return colon < 0 ? '//***@' : `//${auth.slice(0, colon)}:***@`;
  });
}
