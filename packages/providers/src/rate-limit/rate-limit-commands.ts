import { readFileSync } from 'node:fs';
import type { Cluster, Redis } from 'ioredis';

/**
 * The shared limiter's Lua scripts, kept as files next to this module (the
 * build copies them to dist/) and defined once per client with ioredis
 * `defineCommand`: ioredis runs them by EVALSHA and reloads a script Redis
 * lost (NOSCRIPT) by itself. The key count is in the file name: `-1` one key,
 * `-n` as many as the caller passes first (1 + the provider's windows).
 */
const SCRIPT_FILES = {
  fimlRateLimitAcquire: 'acquire-n.lua',
  fimlRateLimitPenalize: 'penalize-1.lua',
  fimlRateLimitBudget: 'budget-n.lua',
} as const;

type Arg = string | number;

/** The commands {@link rateLimitCommands} defines, as the limiter calls them. */
export interface RateLimitCommands {
  /** See acquire-n.lua: `[1, 0, 0]` granted, `[0, waitMs, window]` refused. */
  fimlRateLimitAcquire(numKeys: number, ...keysAndArgs: Arg[]): Promise<[number, number, number]>;
  /** See penalize-1.lua: the penalty left, in ms. */
  fimlRateLimitPenalize(penaltyKey: string, retryAfterMs: number): Promise<number>;
  /** See budget-n.lua: `[blockedForMs, used1, resetInMs1, used2, resetInMs2, …]`. */
  fimlRateLimitBudget(numKeys: number, ...keysAndArgs: Arg[]): Promise<number[]>;
}

interface ScriptSource {
  readonly lua: string;
  /** Undefined: the caller passes the key count first. */
  readonly numberOfKeys: number | undefined;
}

let sources: ReadonlyMap<string, ScriptSource> | undefined;

/** Reads the script files once per process, relative to this module (src/ or dist/). */
function loadSources(): ReadonlyMap<string, ScriptSource> {
  if (sources) return sources;
  const loaded = new Map<string, ScriptSource>();
  for (const [name, file] of Object.entries(SCRIPT_FILES)) {
    // Under ESM (dist) import.meta.url is this file; under Jest, @swc/jest compiles it to
    // CommonJS and rewrites import.meta.url to this source file's URL.
    const lua = readFileSync(new URL(file, import.meta.url), 'utf8');
    const keys = /-(\d+)\.lua$/.exec(file)?.[1];
    loaded.set(name, { lua, numberOfKeys: keys === undefined ? undefined : Number(keys) });
  }
  sources = loaded;
  return loaded;
}

const defined = new WeakSet<Redis | Cluster>();

/** The limiter's commands on `redis`, defined on first use of that client. */
export function rateLimitCommands(redis: Redis | Cluster): RateLimitCommands {
  if (!defined.has(redis)) {
    for (const [name, { lua, numberOfKeys }] of loadSources()) {
      redis.defineCommand(name, numberOfKeys === undefined ? { lua } : { lua, numberOfKeys });
    }
    defined.add(redis);
  }
  return redis as unknown as RateLimitCommands;
}
