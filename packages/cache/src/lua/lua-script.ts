import type { ChainableCommander, Cluster, Redis } from 'ioredis';

/**
 * A Lua script the cache runs in Redis. Each lives in its own file beside
 * this one, is defined once per connection with ioredis `defineCommand`, and
 * is then called by EVALSHA; ioredis reloads it by itself after a NOSCRIPT
 * (a restarted or failed-over Redis), so no script text travels with a call.
 */
export interface LuaScript {
  /** The command name it is defined under; unique within the cache package. */
  readonly name: string;
  readonly lua: string;
}

type ScriptTarget = Redis | Cluster | ChainableCommander;
type ScriptCall = (numKeys: number, ...keysAndArgs: (string | Buffer)[]) => Promise<unknown>;

const defined = new WeakMap<object, Set<string>>();

/** Defines the script on a connection once (a pipeline of that connection can then call it too). */
export function defineScript(redis: Redis | Cluster, script: LuaScript): void {
  let names = defined.get(redis);
  if (!names) defined.set(redis, (names = new Set()));
  if (names.has(script.name)) return;
  redis.defineCommand(script.name, { lua: script.lua });
  names.add(script.name);
}

/** Calls a defined script on a connection (resolves with its reply) or queues it on a pipeline. */
export function callScript(
  target: ScriptTarget,
  script: LuaScript,
  keys: readonly string[],
  args: readonly (string | Buffer)[],
): Promise<unknown> {
  const call = (target as unknown as Record<string, ScriptCall | undefined>)[script.name];
  if (typeof call !== 'function') {
    throw new Error(`Lua script ${script.name} is not defined on this connection`);
  }
  return call.call(target, keys.length, ...keys, ...args);
}
