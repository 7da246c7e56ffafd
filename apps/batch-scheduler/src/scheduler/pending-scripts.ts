// Lua for the pending sets of the batch-scheduler (see pending-store.ts for the
// layout). Each script touches one group's keys, which share the queue
// prefix's hash tag, so it runs atomically on one Redis or one Cluster slot.
//
// A key's meta is "priority|firstAt|deadline|attempts" (priority 0 urgent,
// 1 normal, 2 low; deadline 0 for none; times in epoch ms).

/**
 * Adds keys to a group. A key already pending merges (the higher priority and
 * the earlier deadline win; its first-asked time stays); a key in flight is
 * left alone (the fetch under way answers this request too); a non-urgent key
 * this scheduler wrote recently enough (the fresh set, see SETTLE) is skipped.
 * KEYS: groups, urgent, normal, low, meta, deadlines, inflight, fresh.
 * ARGV: groupId, now, then per key: symbol, priority, deadline.
 * Returns per key: 0 queued, 1 merged, 2 in flight, 3 fresh; then the group's
 * urgent and normal keys pending (whether a full batch is waiting).
 */
export const ADD_PENDING = `
redis.call('SADD', KEYS[1], ARGV[1])
local now = ARGV[2]
local sets = { KEYS[2], KEYS[3], KEYS[4] }
local out = {}
for i = 3, #ARGV, 3 do
  local sym, prio, dl = ARGV[i], tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2])
  if redis.call('ZSCORE', KEYS[7], sym) then
    out[#out + 1] = 2
  elseif prio > 0 and (tonumber(redis.call('ZSCORE', KEYS[8], sym)) or 0) > tonumber(now) then
    out[#out + 1] = 3
  else
    local meta = redis.call('HGET', KEYS[5], sym)
    if meta then
      local p, at, d, a = string.match(meta, '^(%d)|(%d+)|(%d+)|(%d+)$')
      p = tonumber(p); d = tonumber(d)
      local np = math.min(p, prio)
      if np ~= p then
        redis.call('ZREM', sets[p + 1], sym)
        redis.call('ZADD', sets[np + 1], at, sym)
      end
      if dl > 0 and (d == 0 or dl < d) then
        d = dl
        redis.call('ZADD', KEYS[6], dl, sym)
      end
      redis.call('HSET', KEYS[5], sym, np .. '|' .. at .. '|' .. d .. '|' .. a)
      out[#out + 1] = 1
    else
      redis.call('ZADD', sets[prio + 1], now, sym)
      if dl > 0 then redis.call('ZADD', KEYS[6], dl, sym) end
      redis.call('HSET', KEYS[5], sym, prio .. '|' .. now .. '|' .. dl .. '|0')
      out[#out + 1] = 0
    end
  end
end
out[#out + 1] = redis.call('ZCARD', KEYS[2]) + redis.call('ZCARD', KEYS[3])
return out
`;

/**
 * Claims up to ARGV[1] keys of a group for one batch: keys due by a deadline
 * first, then urgent, normal and (ARGV[2] = '1') low, oldest first. They move
 * to the in-flight set with a lease (ARGV[3]) under the batch's token (ARGV[4]).
 * KEYS: urgent, normal, low, meta, deadlines, inflight, owner (and fresh, unused here).
 * ARGV: max, includeLow, leaseUntil, token, deadlineBefore.
 * Returns symbol, meta pairs.
 */
export const CLAIM = `
local max = tonumber(ARGV[1])
local out = {}
local taken = 0
local sets = { KEYS[1], KEYS[2], KEYS[3] }
local function take(sym)
  local meta = redis.call('HGET', KEYS[4], sym)
  if not meta then return end
  local p = tonumber(string.sub(meta, 1, 1))
  redis.call('ZREM', sets[p + 1], sym)
  if string.match(meta, '^%d|%d+|(%d+)|') ~= '0' then redis.call('ZREM', KEYS[5], sym) end
  redis.call('ZADD', KEYS[6], ARGV[3], sym)
  redis.call('HSET', KEYS[7], sym, ARGV[4])
  out[#out + 1] = sym
  out[#out + 1] = meta
  taken = taken + 1
end
for _, sym in ipairs(redis.call('ZRANGEBYSCORE', KEYS[5], '-inf', ARGV[5], 'LIMIT', 0, max)) do
  take(sym)
end
local last = 2
if ARGV[2] == '1' then last = 3 end
for s = 1, last do
  if taken >= max then break end
  for _, sym in ipairs(redis.call('ZRANGE', sets[s], 0, max - taken - 1)) do take(sym) end
end
return out
`;

/**
 * Renews the lease of the keys a token still owns; returns them.
 * KEYS: inflight, owner. ARGV: token, leaseUntil, symbols...
 */
export const RENEW = `
local out = {}
for i = 3, #ARGV do
  if redis.call('HGET', KEYS[2], ARGV[i]) == ARGV[1] then
    redis.call('ZADD', KEYS[1], ARGV[2], ARGV[i])
    out[#out + 1] = ARGV[i]
  end
end
return out
`;

/**
 * Settles a batch's keys that its token still owns: done keys leave the
 * group (and enter the fresh set until the given instant, when one is given);
 * retried keys go back to pending with their attempt counted and their
 * first-asked time moved to when they may go again.
 * KEYS: urgent, normal, low, meta, deadlines, inflight, owner, fresh.
 * ARGV: token, now, then per key: symbol, action (0 done, 1 retry), at
 * (retry: when it may go again; done: fresh until, 0 for none).
 * Returns how many keys it settled.
 */
export const SETTLE = `
local sets = { KEYS[1], KEYS[2], KEYS[3] }
local settled = 0
redis.call('ZREMRANGEBYSCORE', KEYS[8], '-inf', ARGV[2])
for i = 3, #ARGV, 3 do
  local sym, action, at = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  if action == '0' and tonumber(at) > tonumber(ARGV[2]) then
    redis.call('ZADD', KEYS[8], at, sym)
  end
  if redis.call('HGET', KEYS[7], sym) == ARGV[1] then
    redis.call('ZREM', KEYS[6], sym)
    redis.call('HDEL', KEYS[7], sym)
    local meta = false
    if action == '1' then meta = redis.call('HGET', KEYS[4], sym) end
    if meta then
      local p, _, d, a = string.match(meta, '^(%d)|(%d+)|(%d+)|(%d+)$')
      redis.call('ZADD', sets[tonumber(p) + 1], at, sym)
      if tonumber(d) > 0 then redis.call('ZADD', KEYS[5], d, sym) end
      redis.call('HSET', KEYS[4], sym, p .. '|' .. at .. '|' .. d .. '|' .. (tonumber(a) + 1))
    else
      redis.call('HDEL', KEYS[4], sym)
    end
    settled = settled + 1
  end
end
return settled
`;

/**
 * Returns in-flight keys of the given tokens to pending (their batch is gone:
 * its worker crashed, or it was never added). Keys whose owner changed are
 * left alone.
 * KEYS: urgent, normal, low, meta, deadlines, inflight, owner (and fresh, unused here).
 * ARGV: token, symbols...
 * Returns how many keys it returned.
 */
export const REQUEUE = `
local sets = { KEYS[1], KEYS[2], KEYS[3] }
local n = 0
for i = 2, #ARGV do
  local sym = ARGV[i]
  if redis.call('HGET', KEYS[7], sym) == ARGV[1] then
    redis.call('ZREM', KEYS[6], sym)
    redis.call('HDEL', KEYS[7], sym)
    local meta = redis.call('HGET', KEYS[4], sym)
    if meta then
      local p, at, d = string.match(meta, '^(%d)|(%d+)|(%d+)|')
      redis.call('ZADD', sets[tonumber(p) + 1], at, sym)
      if tonumber(d) > 0 then redis.call('ZADD', KEYS[5], d, sym) end
    end
    n = n + 1
  end
end
return n
`;
