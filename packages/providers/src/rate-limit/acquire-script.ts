import { createHash } from 'node:crypto';

/**
 * The shared limiter's one atomic step, run by Redis (EVALSHA). A sliding-
 * window log per (provider, window): a sorted set whose scores are call
 * times. All windows are checked before any is written, so a call is either
 * counted in every window or in none (rate-limiter-flexible's RateLimiterUnion
 * consumes from each limiter separately and keeps the points a rejected call
 * spent in the windows that had room).
 *
 * KEYS[1]        penalty key: epoch ms until which every call is refused (an upstream 429)
 * KEYS[2..k+1]   one sorted set per window (score: call time in ms; member: unique call id)
 * ARGV[1]        now (epoch ms, from the caller's Clock)
 * ARGV[2]        n, calls to take
 * ARGV[3]        a member prefix unique to this request
 * ARGV[2+2w], ARGV[3+2w]   windowMs and limit of window w (1-based)
 * ARGV[4+2k]     m, then m call times granted while Redis was unreachable (backfill)
 *
 * Returns {1, 0, 0} when granted; {0, waitMs, w} when refused, where w is the
 * window that needs the longest wait (0 for a penalty).
 *
 * Every key of a provider carries its id as a hash tag, so the script is
 * Redis-Cluster-safe.
 */
export const ACQUIRE_SCRIPT = `
local now = tonumber(ARGV[1])
local n = tonumber(ARGV[2])
local base = ARGV[3]
local k = #KEYS - 1
local m = tonumber(ARGV[4 + 2 * k])
for w = 1, k do
  local windowMs = tonumber(ARGV[2 + 2 * w])
  if m > 0 then
    for i = 1, m do
      local at = tonumber(ARGV[4 + 2 * k + i])
      if at > now - windowMs then redis.call('ZADD', KEYS[w + 1], at, base .. ':b' .. i) end
    end
    redis.call('PEXPIRE', KEYS[w + 1], windowMs)
  end
end
local blockedUntil = tonumber(redis.call('GET', KEYS[1]) or '0')
if blockedUntil > now then return {0, blockedUntil - now, 0} end
local wait = 0
local which = 0
for w = 1, k do
  local key = KEYS[w + 1]
  local windowMs = tonumber(ARGV[2 + 2 * w])
  local limit = tonumber(ARGV[3 + 2 * w])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - windowMs)
  local excess = redis.call('ZCARD', key) + n - limit
  if excess > 0 then
    local leaving = redis.call('ZRANGE', key, excess - 1, excess - 1, 'WITHSCORES')
    local windowWait = tonumber(leaving[2]) + windowMs - now
    if windowWait < 1 then windowWait = 1 end
    if windowWait > wait then
      wait = windowWait
      which = w
    end
  end
end
if wait > 0 then return {0, wait, which} end
for w = 1, k do
  local key = KEYS[w + 1]
  for i = 1, n do redis.call('ZADD', key, now, base .. ':' .. i) end
  redis.call('PEXPIRE', key, tonumber(ARGV[2 + 2 * w]))
end
return {1, 0, 0}
`;

/**
 * Extends a penalty, never shortens it: two processes that both saw a 429
 * keep the later of their Retry-After instants.
 * KEYS[1] penalty key; ARGV[1] until (epoch ms); ARGV[2] ttl ms.
 */
export const PENALIZE_SCRIPT = `
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > current then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
end
return 1
`;

export const sha1 = (script: string): string => createHash('sha1').update(script).digest('hex');
