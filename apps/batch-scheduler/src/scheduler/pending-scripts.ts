// Lua for the pending sets of the batch-scheduler (see pending-store.ts for the
// layout). Each script touches one group's keys, which share the queue
// prefix's hash tag, so it runs atomically on one Redis or one Cluster slot.
//
// A key's meta is "priority|firstAt|deadline|attempts|warm" (priority 0
// urgent, 1 normal, 2 low; deadline 0 for none; times in epoch ms; warm 1 when
// only the warmer asked for the key, so its entry is the warmer's). Metas
// written before the warm flag existed read as not warm.
//
// The scripts work a whole request or batch at a time: one variadic command
// per structure (HMGET, ZMSCORE, ZADD, ZREM, HSET, HDEL of all its keys), the
// decisions in plain Lua between them. A `redis.call` costs far more than the
// element work it does, so a batch of 100 keys costs about ten calls rather
// than several hundred (ZMSCORE needs Redis 6.2, as BullMQ does).

/** Shared helpers: variadic calls in chunks (Lua's `unpack` has a stack limit). */
const HELPERS = `
local CHUNK = 4000
local function call_chunked(cmd, key, list)
  if #list <= CHUNK then return redis.call(cmd, key, unpack(list)) end
  local out = {}
  for i = 1, #list, CHUNK do
    local reply = redis.call(cmd, key, unpack(list, i, math.min(i + CHUNK - 1, #list)))
    if type(reply) == 'table' then
      for _, v in ipairs(reply) do out[#out + 1] = v end
    end
  end
  return out
end
-- Like call_chunked, for replies that hold nils (HMGET, ZMSCORE): indexed, not appended.
local function lookup(cmd, key, list)
  -- One chunk (nearly always): the reply as it is, nils read as false.
  if #list <= CHUNK then return redis.call(cmd, key, unpack(list)) end
  local out = {}
  for i = 1, #list, CHUNK do
    local last = math.min(i + CHUNK - 1, #list)
    local reply = redis.call(cmd, key, unpack(list, i, last))
    for j = 1, last - i + 1 do out[i + j - 1] = reply[j] end
  end
  return out
end
local function write(cmd, key, list)
  if #list > 0 then call_chunked(cmd, key, list) end
end
local function parse(meta)
  local p, at, d, a, w = string.match(meta, '^(%d)|(%d+)|(%d+)|(%d+)|?(%d?)$')
  if w == '' then w = '0' end
  return tonumber(p), at, tonumber(d), tonumber(a), w
end
local function meta_of(p, at, d, a, w)
  return p .. '|' .. at .. '|' .. d .. '|' .. a .. '|' .. w
end
`;

/**
 * Adds keys to a group. A key already pending merges (the higher priority and
 * the earlier deadline win; its first-asked time stays); a key in flight is
 * left alone (the fetch under way answers this request too); a non-urgent key
 * this scheduler wrote recently enough (the fresh set, see SETTLE) is skipped.
 * A symbol given twice merges with itself. A key stays the warmer's only
 * while every request for it is a warming one.
 * KEYS: groups, urgent, normal, low, meta, deadlines, inflight, fresh.
 * ARGV: groupId, now, then runs of keys asked for alike (a request's keys):
 * count, priority, deadline, warm (0 or 1), then count symbols.
 * Returns per key: 0 queued, 1 merged, 2 in flight, 3 fresh; then the group's
 * urgent and normal keys pending (whether a full batch is waiting).
 */
export const ADD_PENDING = `${HELPERS}
redis.call('SADD', KEYS[1], ARGV[1])
local now = ARGV[2]
local sets = { KEYS[2], KEYS[3], KEYS[4] }
local syms, runOf = {}, {}
local i = 3
while i <= #ARGV do
  local count = tonumber(ARGV[i])
  local run = { tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2]), ARGV[i + 3] }
  for j = i + 4, i + 3 + count do
    syms[#syms + 1] = ARGV[j]
    runOf[#syms] = run
  end
  i = i + 4 + count
end
local inflight = lookup('ZMSCORE', KEYS[7], syms)
local fresh = lookup('ZMSCORE', KEYS[8], syms)
local metas = lookup('HMGET', KEYS[5], syms)
local out = {}
-- symbol -> { p, at, d, a, was } where was is the set it sits in now (nil: new)
local rec = {}
local order = {}
for k, sym in ipairs(syms) do
  local run = runOf[k]
  local prio, dl, warm = run[1], run[2], run[3]
  local r = rec[sym]
  if r then
    out[k] = 1
  elseif inflight[k] then
    out[k] = 2
  elseif prio > 0 and (tonumber(fresh[k]) or 0) > tonumber(now) then
    out[k] = 3
  elseif metas[k] then
    local p, at, d, a, w = parse(metas[k])
    r = { p = p, at = at, d = d, a = a, w = w, was = p, wasD = d }
    out[k] = 1
  else
    r = { p = prio, at = now, d = 0, a = 0, w = warm, was = nil, wasD = 0 }
    out[k] = 0
  end
  if r then
    if not rec[sym] then rec[sym] = r; order[#order + 1] = sym end
    if prio < r.p then r.p = prio end
    if warm ~= '1' then r.w = '0' end
    if dl > 0 and (r.d == 0 or dl < r.d) then r.d = dl end
  end
end
local zrem = { {}, {}, {} }
local zadd = { {}, {}, {} }
local dls, hset = {}, {}
for _, sym in ipairs(order) do
  local r = rec[sym]
  if r.was ~= r.p then
    if r.was then table.insert(zrem[r.was + 1], sym) end
    local z = zadd[r.p + 1]
    z[#z + 1] = r.at; z[#z + 1] = sym
  end
  if r.d ~= r.wasD then dls[#dls + 1] = r.d; dls[#dls + 1] = sym end
  hset[#hset + 1] = sym
  hset[#hset + 1] = meta_of(r.p, r.at, r.d, r.a, r.w)
end
for s = 1, 3 do
  write('ZREM', sets[s], zrem[s])
  write('ZADD', sets[s], zadd[s])
end
write('ZADD', KEYS[6], dls)
write('HSET', KEYS[5], hset)
out[#out + 1] = redis.call('ZCARD', KEYS[2]) + redis.call('ZCARD', KEYS[3])
return out
`;

/** The group's snapshot (see GroupSnapshot): counts of urgent, normal, low; oldest of each and earliest deadline ('' for none). */
const SNAPSHOT = `
local function snapshot()
  local out = {}
  for s = 1, 3 do out[s] = redis.call('ZCARD', KEYS[s]) end
  for s, key in ipairs({ KEYS[1], KEYS[2], KEYS[3], KEYS[5] }) do
    out[3 + s] = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')[2] or ''
  end
  return out
end
`;

/**
 * Claims up to ARGV[1] keys of a group for one batch: keys due by a deadline
 * first, then urgent, normal and (ARGV[2] = '1') low, oldest first. They move
 * to the in-flight set with a lease (ARGV[3]) under the batch's token (ARGV[4]).
 * A set member without meta (it cannot happen, short of a hand edit) is
 * dropped rather than left to block the head of its set.
 * KEYS: urgent, normal, low, meta, deadlines, inflight, owner (and fresh, unused here).
 * ARGV: max, includeLow, leaseUntil, token, deadlineBefore.
 * Returns { symbol, meta pairs; the group's snapshot after the claim }, so
 * the flusher decides about the next batch without another round trip.
 */
export const CLAIM = `${HELPERS}${SNAPSHOT}
local max = tonumber(ARGV[1])
local sets = { KEYS[1], KEYS[2], KEYS[3] }
local out, taken, seen = {}, {}, {}
local function take(syms)
  if #syms == 0 then return end
  local metas = lookup('HMGET', KEYS[4], syms)
  local zrem = { {}, {}, {} }
  local orphans = {}
  for k, sym in ipairs(syms) do
    local meta = metas[k]
    if meta then
      table.insert(zrem[tonumber(string.sub(meta, 1, 1)) + 1], sym)
      taken[#taken + 1] = sym
      out[#out + 1] = sym
      out[#out + 1] = meta
    else
      orphans[#orphans + 1] = sym
    end
  end
  for s = 1, 3 do
    for _, sym in ipairs(orphans) do zrem[s][#zrem[s] + 1] = sym end
    write('ZREM', sets[s], zrem[s])
  end
end
local due = {}
for _, sym in ipairs(redis.call('ZRANGEBYSCORE', KEYS[5], '-inf', ARGV[5], 'LIMIT', 0, max)) do
  seen[sym] = true
  due[#due + 1] = sym
end
take(due)
local last = 2
if ARGV[2] == '1' then last = 3 end
for s = 1, last do
  if #taken >= max then break end
  local batch = {}
  for _, sym in ipairs(redis.call('ZRANGE', sets[s], 0, max - #taken - 1)) do
    if not seen[sym] then seen[sym] = true; batch[#batch + 1] = sym end
  end
  take(batch)
end
if #taken > 0 then
  if redis.call('EXISTS', KEYS[5]) == 1 then write('ZREM', KEYS[5], taken) end
  local lease, owner = {}, {}
  for _, sym in ipairs(taken) do
    lease[#lease + 1] = ARGV[3]; lease[#lease + 1] = sym
    owner[#owner + 1] = sym; owner[#owner + 1] = ARGV[4]
  end
  write('ZADD', KEYS[6], lease)
  write('HSET', KEYS[7], owner)
end
return { out, snapshot() }
`;

/**
 * Renews the lease of the keys a token still owns; returns them.
 * KEYS: inflight, owner. ARGV: token, leaseUntil, symbols...
 */
export const RENEW = `${HELPERS}
local syms = {}
for i = 3, #ARGV do syms[#syms + 1] = ARGV[i] end
local owners = lookup('HMGET', KEYS[2], syms)
local out, lease = {}, {}
for k, sym in ipairs(syms) do
  if owners[k] == ARGV[1] then
    out[#out + 1] = sym
    lease[#lease + 1] = ARGV[2]; lease[#lease + 1] = sym
  end
end
write('ZADD', KEYS[1], lease)
return out
`;

/**
 * Moves the keys a token owns back to pending: `at` is when each may go
 * again (its new first-asked time for a retry, its old one for a requeue),
 * `bump` whether an attempt was spent. Shared by SETTLE and REQUEUE.
 */
const BACK_TO_PENDING = `
local function back_to_pending(syms, ats, bump)
  if #syms == 0 then return end
  local metas = lookup('HMGET', KEYS[4], syms)
  local sets = { KEYS[1], KEYS[2], KEYS[3] }
  local zadd = { {}, {}, {} }
  local dls, hset = {}, {}
  for k, sym in ipairs(syms) do
    if metas[k] then
      local p, first, d, a, w = parse(metas[k])
      local at = ats[k] or first
      local z = zadd[p + 1]
      z[#z + 1] = at; z[#z + 1] = sym
      if d > 0 then dls[#dls + 1] = d; dls[#dls + 1] = sym end
      if bump then a = a + 1 end
      hset[#hset + 1] = sym
      hset[#hset + 1] = meta_of(p, at, d, a, w)
    end
  end
  for s = 1, 3 do write('ZADD', sets[s], zadd[s]) end
  write('ZADD', KEYS[5], dls)
  write('HSET', KEYS[4], hset)
end
-- The keys of syms that token owns, out of flight (their owner and lease dropped).
local function owned_by(token, syms)
  local owners = lookup('HMGET', KEYS[7], syms)
  local mine = {}
  for k, sym in ipairs(syms) do
    if owners[k] == token then mine[#mine + 1] = sym end
  end
  write('ZREM', KEYS[6], mine)
  write('HDEL', KEYS[7], mine)
  return mine, owners
end
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
export const SETTLE = `${HELPERS}${BACK_TO_PENDING}
local now = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[8], '-inf', ARGV[2])
local syms, fresh = {}, {}
for i = 3, #ARGV, 3 do
  local sym, action, at = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  syms[#syms + 1] = sym
  if action == '0' and tonumber(at) > now then
    fresh[#fresh + 1] = at; fresh[#fresh + 1] = sym
  end
end
write('ZADD', KEYS[8], fresh)
local mine = owned_by(ARGV[1], syms)
local isMine = {}
for _, sym in ipairs(mine) do isMine[sym] = true end
local done, retry, retryAt = {}, {}, {}
for k, sym in ipairs(syms) do
  if isMine[sym] then
    isMine[sym] = nil
    local base = 3 * k
    if ARGV[base + 1] == '1' then
      retry[#retry + 1] = sym
      retryAt[#retryAt + 1] = ARGV[base + 2]
    else
      done[#done + 1] = sym
    end
  end
end
write('HDEL', KEYS[4], done)
back_to_pending(retry, retryAt, true)
return #done + #retry
`;

/**
 * Returns in-flight keys of the given tokens to pending (their batch is gone:
 * its worker crashed, or it was never added). Keys whose owner changed are
 * left alone.
 * KEYS: urgent, normal, low, meta, deadlines, inflight, owner (and fresh, unused here).
 * ARGV: token, symbols...
 * Returns how many keys it returned.
 */
export const REQUEUE = `${HELPERS}${BACK_TO_PENDING}
local syms = {}
for i = 2, #ARGV do syms[#syms + 1] = ARGV[i] end
local mine = owned_by(ARGV[1], syms)
back_to_pending(mine, {}, false)
return #mine
`;
