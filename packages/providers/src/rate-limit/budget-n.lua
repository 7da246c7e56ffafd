--[[
  What is left of a provider's budget, read at the Redis server's time (TIME)
  like the windows were written. Reads only.

  Key count: 1 + the provider's number of windows, passed by the caller.
    KEYS[1]        penalty key (epoch ms, Redis time)
    KEYS[2..k+1]   one sorted set per window
    ARGV[w]        windowMs of window w (1-based)

  Returns {blockedForMs, used_1, resetInMs_1, ..., used_k, resetInMs_k}: calls
  inside each window, and when its oldest one leaves (0 when empty).
]]
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local blockedUntil = tonumber(redis.call('GET', KEYS[1]) or '0')
local reply = {math.max(0, blockedUntil - now)}
for w = 1, #KEYS - 1 do
  local key = KEYS[w + 1]
  local windowMs = tonumber(ARGV[w])
  local after = '(' .. string.format('%d', now - windowMs)
  reply[#reply + 1] = redis.call('ZCOUNT', key, after, '+inf')
  local oldest = redis.call('ZRANGEBYSCORE', key, after, '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
  if oldest[2] then
    reply[#reply + 1] = math.max(0, tonumber(oldest[2]) + windowMs - now)
  else
    reply[#reply + 1] = 0
  end
end
return reply
