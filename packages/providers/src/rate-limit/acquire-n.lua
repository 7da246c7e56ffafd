--[[
  The shared limiter's one atomic step: takes n calls from every window of a
  provider, or none. A sliding-window log per (provider, window): a sorted set
  whose scores are call times. All windows are checked before any is written,
  so a call is counted in every window or in none (rate-limiter-flexible's
  RateLimiterUnion consumes from each limiter separately and keeps the points
  a refused call spent in the windows that had room).

  Time is the Redis server's (TIME), never the caller's: processes whose
  clocks disagree still share one budget. Redis 7 replicates scripts by
  effects, so reading TIME before writing is allowed.

  Key count: 1 + the provider's number of windows, passed by the caller.
    KEYS[1]        penalty key: epoch ms (Redis time) until which every call is refused
    KEYS[2..k+1]   one sorted set per window (score: call time in ms; member: unique call id)
    ARGV[1]        n, calls to take
    ARGV[2]        keep: grant only if every window still has MORE than keep
                   calls left after the n (-1: the n may take the last calls).
                   Checked here, in the same step that takes them, so two
                   callers can never both see room for one call and both take it.
    ARGV[3]        a member prefix unique to this request
    ARGV[2+2w], ARGV[3+2w]   windowMs and limit of window w (1-based)
    ARGV[4+2k]     m, then m ages: how many ms before now each call granted while
                   Redis was unreachable was made (backfill; ages, not instants, so
                   the caller's clock never lands in the windows)

  Returns {1, 0, 0} when granted; {0, waitMs, w} when refused, where w is the
  window that needs the longest wait (0 for a penalty). A request no window
  could ever hold (n + keep >= limit) is refused with a whole window's wait.

  Every key of a provider carries its id as a hash tag: Redis-Cluster-safe.
]]
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local n = tonumber(ARGV[1])
local keep = tonumber(ARGV[2])
local base = ARGV[3]
local k = #KEYS - 1
local m = tonumber(ARGV[4 + 2 * k])

if m > 0 then
  for w = 1, k do
    local windowMs = tonumber(ARGV[2 + 2 * w])
    for i = 1, m do
      local age = tonumber(ARGV[4 + 2 * k + i])
      if age < windowMs then redis.call('ZADD', KEYS[w + 1], now - age, base .. ':b' .. i) end
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
  -- Room for n calls that leave more than keep: used + n + keep + 1 <= limit.
  local excess = redis.call('ZCARD', key) + n + keep + 1 - limit
  if excess > 0 then
    -- The wait is until the entry whose leaving makes that room has left.
    local leaving = redis.call('ZRANGE', key, excess - 1, excess - 1, 'WITHSCORES')
    local windowWait = windowMs
    if leaving[2] then windowWait = tonumber(leaving[2]) + windowMs - now end
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
