import type { LuaScript } from '../lua/lua-script.js';

// The warm ledger's scripts (see warm-ledger.ts for the layout). A ledger
// field is "fetchedAt|softExpiresAt|runId": one warmed entry not yet settled.
// Every key shares one hash tag, so each script runs on one slot of a Cluster.
//
// Counters live in one hash, field "<runId>:<outcome>" (warmed, used, wasted,
// calls), with the run id "all" for the totals.

const PARSE = `
local function parse(v)
  local f, soft, run = string.match(v, '^(%d+)|(%d+)|(.*)$')
  return f, tonumber(soft), run
end
local function count(run, outcome, n)
  redis.call('HINCRBYFLOAT', KEYS[2], run .. ':' .. outcome, n)
  redis.call('HINCRBYFLOAT', KEYS[2], 'all:' .. outcome, n)
end
`;

/**
 * Entries the batch-scheduler wrote for warming requests. Each is attributed
 * to the run that planned it (the planned hash; "unplanned" when none did).
 * A warmed entry a newer one replaces before anyone read it was wasted.
 * KEYS: ledger, counters, planned.
 * ARGV per entry: key, fetchedAt, softExpiresAt, share of upstream calls.
 */
export const WARM_WRITTEN: LuaScript = {
  name: 'fimlWarmWritten',
  lua: `${PARSE}
for i = 1, #ARGV, 4 do
  local key, f, soft, share = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local planned = redis.call('HGET', KEYS[3], key)
  local run = 'unplanned'
  if planned then
    run = string.match(planned, '^(.-)|') or planned
    redis.call('HDEL', KEYS[3], key)
  end
  local old = redis.call('HGET', KEYS[1], key)
  local oldF, oldSoft, oldRun
  if old then oldF, oldSoft, oldRun = parse(old) end
  if oldF == f then
    -- The same entry again (a retried write): it keeps its run.
    run = oldRun or run
  else
    if old then count(oldRun or 'unplanned', 'wasted', 1) end
    count(run, 'warmed', 1)
    redis.call('HSET', KEYS[1], key, f .. '|' .. soft .. '|' .. run)
  end
  if tonumber(share) > 0 then count(run, 'calls', share) end
end
return 1
`,
};

/**
 * Reads of warmed entries: a read of the very entry the ledger holds, while
 * it was fresh, makes it used (once; the field goes). A read of an older or
 * newer entry, or after its freshness ended, changes nothing.
 * KEYS: ledger, counters.
 * ARGV per read: key, fetchedAt of the entry read, read time (epoch ms).
 * Returns how many entries became used.
 */
export const WARM_READ: LuaScript = {
  name: 'fimlWarmRead',
  lua: `${PARSE}
local used = 0
for i = 1, #ARGV, 3 do
  local key, f, at = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2])
  local v = redis.call('HGET', KEYS[1], key)
  if v then
    local vf, soft, run = parse(v)
    if vf == f and soft ~= nil and at < soft then
      redis.call('HDEL', KEYS[1], key)
      count(run, 'used', 1)
      used = used + 1
    end
  end
end
return used
`,
};

/**
 * Settles warmed entries whose freshness ended unread as wasted, and drops
 * planned keys older than the given instant (planned, never written: the
 * scheduler found them fresh, or failed them).
 * KEYS: ledger, counters, planned. ARGV: now, plannedBefore, then
 * "l" or "p" and a field, repeated (candidates from HSCAN).
 * Returns how many entries it settled as wasted.
 */
export const WARM_SWEEP: LuaScript = {
  name: 'fimlWarmSweep',
  lua: `${PARSE}
local now, plannedBefore = tonumber(ARGV[1]), tonumber(ARGV[2])
local wasted = 0
for i = 3, #ARGV, 2 do
  local kind, key = ARGV[i], ARGV[i + 1]
  if kind == 'l' then
    local v = redis.call('HGET', KEYS[1], key)
    if v then
      local _, soft, run = parse(v)
      if soft == nil or soft <= now then
        redis.call('HDEL', KEYS[1], key)
        count(run or 'unplanned', 'wasted', 1)
        wasted = wasted + 1
      end
    end
  else
    local v = redis.call('HGET', KEYS[3], key)
    local at = v and tonumber(string.match(v, '|(%d+)$'))
    if v and (at == nil or at < plannedBefore) then redis.call('HDEL', KEYS[3], key) end
  end
end
return wasted
`,
};
