--[[
  An upstream answered 429: refuse every call of this provider for
  retryAfterMs from now, now being the Redis server's time (TIME), so every
  process sees the same instant whatever its own clock says. Extends a
  penalty, never shortens it: two processes that both saw a 429 keep the
  later of the two instants.

    KEYS[1]   penalty key (epoch ms, Redis time)
    ARGV[1]   retryAfterMs

  Returns the penalty left, in ms.
]]
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local ms = tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if now + ms > current then
  redis.call('SET', KEYS[1], string.format('%d', now + ms), 'PX', ms)
  return ms
end
return current - now
