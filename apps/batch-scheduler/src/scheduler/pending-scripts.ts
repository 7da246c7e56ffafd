// Lua for the pending sets of the batch-scheduler (see pending-store.ts for the
// layout). Each script touches one group's keys, which share the queue
// prefix's hash tag, so it runs atomically on one Redis or one Cluster slot.
//
// A key's state (one hash field per key) says where it is:
//   pending     "priority|firstAt|deadline|attempts|warm"  (the key's meta)
//   in flight   "@token|" .. meta                           (claimed by a batch)
//   fresh       "=until"   (written lately: a non-urgent request skips it until then)
// Priority 0 urgent, 1 normal, 2 low; deadline 0 for none; times in epoch ms;
// warm 1 when only the warmer asked for the key, so its entry is the warmer's.
// Metas written before the warm flag existed read as not warm. One field per
// key means one lookup tells a script everything about it, and a key moves
// between states with one write: no separate in-flight, owner or fresh sets.
//
// The scripts work a whole request or batch at a time: one variadic command
// per structure (HMGET, ZADD, ZREM, HSET, HDEL of all its keys), the decisions
// in plain Lua between them. A `redis.call` costs far more than the element
// work it does, so a batch of 100 keys costs a handful of calls rather than
// several hundred.

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
-- Like call_chunked, for replies that hold nils (HMGET): indexed, not appended.
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
local IN_FLIGHT, FRESH = 64, 61 -- '@', '='
`;

/**
 * Adds keys to a group. A key already pending merges (the higher priority and
 * the earlier deadline win; its first-asked time stays); a key in flight is
 * left alone (the fetch under way answers this request too); a non-urgent key
 * fresh until later than now is skipped. A symbol given twice merges with
 * itself. A key stays the warmer's only while every request for it is a
 * warming one.
 * KEYS: groups, urgent, normal, low, state, deadlines.
 * ARGV: groupId, now, then runs of keys asked for alike (a request's keys):
 * count, priority, deadline, warm (0 or 1), then count symbols.
 * Returns per key: 0 queued, 1 merged, 2 in flight, 3 fresh; then the group's
 * urgent and normal keys pending (whether a full batch is waiting).
 */
export const ADD_PENDING = `${HELPERS}
redis.call('SADD', KEYS[1], ARGV[1])
local now = ARGV[2]
local nowMs = tonumber(now)
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
local states = lookup('HMGET', KEYS[5], syms)
local out = {}
-- symbol -> { p, at, d, a, w, was, wasD } where was is the set it sits in now (nil: new)
local rec = {}
local order = {}
for k, sym in ipairs(syms) do
  local run = runOf[k]
  local prio, dl, warm = run[1], run[2], run[3]
  local r = rec[sym]
  local s = states[k]
  local c = s and string.byte(s, 1)
  if r then
    out[k] = 1
  elseif c == IN_FLIGHT then
    out[k] = 2
  elseif c == FRESH and prio > 0 and tonumber(string.sub(s, 2)) > nowMs then
    out[k] = 3
  elseif s and c ~= FRESH then
    local p, at, d, a, w = parse(s)
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
 * first, then urgent, normal and (ARGV[2] = '1') low, oldest first. They go in
 * flight under the batch's token (ARGV[4]); the batch holds one lease
 * (ARGV[3]) for all of them, and its symbols are kept under its token so a
 * sweeper can return them if the batch is lost. A set member that is not
 * pending (it cannot happen, short of a hand edit) is dropped rather than left
 * to block the head of its set.
 * KEYS: urgent, normal, low, state, deadlines, leases, claims.
 * ARGV: max, includeLow, leaseUntil, token, deadlineBefore.
 * Returns { the symbols, space-separated; their metas, likewise; the group's
 * snapshot after the claim }: two strings are what the batch job carries, and
 * the snapshot lets the flusher decide about the next batch without another
 * round trip.
 */
export const CLAIM = `${HELPERS}${SNAPSHOT}
local max = tonumber(ARGV[1])
local sets = { KEYS[1], KEYS[2], KEYS[3] }
local metas, taken, seen, inflight = {}, {}, {}, {}
local tag = '@' .. ARGV[4] .. '|'
local function take(syms)
  if #syms == 0 then return end
  local states = lookup('HMGET', KEYS[4], syms)
  local zrem = { {}, {}, {} }
  local orphans = {}
  for k, sym in ipairs(syms) do
    local s = states[k]
    local c = s and string.byte(s, 1)
    if c and c >= 48 and c <= 50 then
      table.insert(zrem[c - 47], sym)
      taken[#taken + 1] = sym
      metas[#metas + 1] = s
      inflight[#inflight + 1] = sym
      inflight[#inflight + 1] = tag .. s
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
  write('HSET', KEYS[4], inflight)
  redis.call('ZADD', KEYS[6], ARGV[3], ARGV[4])
  redis.call('HSET', KEYS[7], ARGV[4], table.concat(taken, ' '))
end
return { table.concat(taken, ' '), table.concat(metas, ' '), snapshot() }
`;

/**
 * Extends a batch's lease while it runs; returns 1, or 0 when the batch holds
 * no lease any more (it settled, or a sweeper returned its keys).
 * KEYS: leases. ARGV: token, leaseUntil.
 */
export const RENEW = `
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
  return 1
end
return 0
`;

/**
 * Settles a batch's keys that its token still owns: done keys leave the group
 * (fresh until the given instant, when it is later than now); retried keys
 * go back to pending with their attempt counted and their first-asked time
 * moved to when they may go again; requeued keys go back as they were (the
 * budget or a 429 stopped them, or their batch is gone: no attempt spent).
 * With ARGV[3] = '1' the batch's lease and claim record are released: its
 * last settlement.
 * KEYS: urgent, normal, low, state, deadlines, leases, claims.
 * ARGV: token, now, release, then the keys as three lists: their symbols
 * (space-separated), their actions (one digit each: 0 done, 1 retry,
 * 2 requeue) and their times (space-separated; retry: when it may go again;
 * done: fresh until, 0 for none). Three strings rather than three arguments
 * per key: a batch's settlement is one short command to build and parse.
 * Returns { keys settled, of which requeued }.
 */
export const SETTLE = `${HELPERS}
local tag = '@' .. ARGV[1] .. '|'
local tagLen = #tag
local now = tonumber(ARGV[2])
local syms, ats, actions = {}, {}, ARGV[5]
for sym in string.gmatch(ARGV[4], '%S+') do syms[#syms + 1] = sym end
for at in string.gmatch(ARGV[6], '%S+') do ats[#ats + 1] = at end
local sets = { KEYS[1], KEYS[2], KEYS[3] }
local zadd = { {}, {}, {} }
local dls, hset, hdel = {}, {}, {}
local settled, requeued = 0, 0
if #syms > 0 then
  local states = lookup('HMGET', KEYS[4], syms)
  for k, sym in ipairs(syms) do
    local s = states[k]
    if s and string.sub(s, 1, tagLen) == tag then
      settled = settled + 1
      local action, at = string.sub(actions, k, k), ats[k]
      if action == '0' then
        if tonumber(at) > now then
          hset[#hset + 1] = sym; hset[#hset + 1] = '=' .. at
        else
          hdel[#hdel + 1] = sym
        end
      else
        local p, first, d, a, w = parse(string.sub(s, tagLen + 1))
        if action == '1' then first = at; a = a + 1 else requeued = requeued + 1 end
        local z = zadd[p + 1]
        z[#z + 1] = first; z[#z + 1] = sym
        if d > 0 then dls[#dls + 1] = d; dls[#dls + 1] = sym end
        hset[#hset + 1] = sym; hset[#hset + 1] = meta_of(p, first, d, a, w)
      end
    end
  end
end
for s = 1, 3 do write('ZADD', sets[s], zadd[s]) end
write('ZADD', KEYS[5], dls)
write('HSET', KEYS[4], hset)
write('HDEL', KEYS[4], hdel)
if ARGV[3] == '1' then
  redis.call('ZREM', KEYS[6], ARGV[1])
  redis.call('HDEL', KEYS[7], ARGV[1])
end
return { settled, requeued }
`;

/**
 * Forgets that keys were written lately (their entry is gone from L2): a key
 * fresh now is dropped, a pending or in-flight one left alone.
 * KEYS: state. ARGV: symbols. Returns how many it forgot.
 */
export const FORGET_FRESH = `${HELPERS}
local states = lookup('HMGET', KEYS[1], ARGV)
local gone = {}
for k, sym in ipairs(ARGV) do
  local s = states[k]
  if s and string.byte(s, 1) == FRESH then gone[#gone + 1] = sym end
end
write('HDEL', KEYS[1], gone)
return #gone
`;

/**
 * One page of the sweep of fresh marks whose time has passed (they would
 * read as absent anyway; removing them bounds the hash to the keys written
 * within their fresh time). The scan's cursor is kept in Redis, so the
 * replicas share one pass instead of each starting over.
 * KEYS: state, cursor. ARGV: now, count.
 * Returns { next cursor ('0' when a pass ended), marks removed }.
 */
export const SWEEP_FRESH = `${HELPERS}
local now = tonumber(ARGV[1])
local reply = redis.call('HSCAN', KEYS[1], redis.call('GET', KEYS[2]) or '0', 'COUNT', ARGV[2])
local pairs_ = reply[2]
local gone = {}
for i = 1, #pairs_, 2 do
  local s = pairs_[i + 1]
  if string.byte(s, 1) == FRESH and tonumber(string.sub(s, 2)) <= now then
    gone[#gone + 1] = pairs_[i]
  end
end
write('HDEL', KEYS[1], gone)
if reply[1] == '0' then redis.call('DEL', KEYS[2]) else redis.call('SET', KEYS[2], reply[1]) end
return { reply[1], #gone }
`;
