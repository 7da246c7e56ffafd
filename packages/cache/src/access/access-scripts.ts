import type { LuaScript } from '../lua/lua-script.js';

/**
 * The access history's Lua: merges and sweeps run inside Redis, atomically per
 * call, so any number of api instances add into the same records without a
 * read-modify-write race, and a shard split is never seen half done.
 *
 * Layout (see access-settings.ts and access-record.ts): KEYS[1] is the
 * directory, a bitmap with bit `id` set for every shard that exists or has
 * split; shard `id` is the hash ARGV[1] .. id. Every key shares one hash tag,
 * so the shards a script derives (and does not list in KEYS) live in the
 * slot of KEYS[1]: Redis Cluster runs these scripts on one node. Shards form
 * a binary trie over the low bits of a field's hash (the first 32 bits of
 * its SHA-1): shard 2^d + s holds the fields whose hash ends in the d bits s.
 * A shard that passes the split size is replaced by its two children
 * (2^(d+1) + s and 2^(d+1) + 2^d + s) in the same call, so every shard stays
 * a small listpack-encoded hash, and a bitmap of a few bits per shard is the
 * whole directory (about 1 KB at 100,000 keys).
 */
const COMMON = `
local LN2 = math.log(2)
local W = {}
W[0] = 0
for q = 1, 15 do W[q] = 2 ^ ((q - 15) / 2) end
-- The summed weight of the two levels a profile byte holds, by byte value.
local PAIR = {}
for b = 0, 255 do PAIR[b] = W[b % 16] + W[math.floor(b / 16)] end

local dir = KEYS[1]
local shardPrefix = ARGV[1]

local function hashOf(field)
  return tonumber(string.sub(redis.sha1hex(field), 1, 8), 16)
end

-- The directory, read once per call; bits a split sets meanwhile go to \`added\`.
local bitmap = redis.call('GET', dir) or ''
local added = {}
local function exists(id)
  if added[id] then return true end
  local byte = string.byte(bitmap, math.floor(id / 8) + 1)
  if byte == nil then return false end
  return math.floor(byte / 2 ^ (7 - id % 8)) % 2 == 1
end
local function setBit(id)
  redis.call('SETBIT', dir, id, 1)
  added[id] = true
end

-- The leaf shard holding a hash. The directory has a bit for every node of the
-- trie that exists (leaf or split); along a hash's path the nodes exist down
-- to its leaf and not below, so a binary search over the depth finds it.
local function leafOf(h)
  local lo, hi = 0, 32
  while hi - lo > 1 do
    local mid = math.floor((lo + hi) / 2)
    local p = 2 ^ mid
    if exists(p + h % p) then lo = mid else hi = mid end
  end
  local p = 2 ^ lo
  return p + h % p, lo
end

local function isCold(value, coldBefore)
  if #value ~= 32 then return true end
  local _, last = struct.unpack('<fI4', value)
  return last < coldBefore
end

-- Deletes a shard's cold and undecodable records; returns how many.
local function sweep(id, coldBefore)
  local key = shardPrefix .. id
  local ok, flat = pcall(redis.call, 'HGETALL', key)
  if not ok then return 0 end
  local doomed = {}
  for i = 1, #flat, 2 do
    if isCold(flat[i + 1], coldBefore) then doomed[#doomed + 1] = flat[i] end
  end
  if #doomed > 0 then redis.call('HDEL', key, unpack(doomed)) end
  return #doomed
end
`;

/**
 * Adds buffered reads into their records: decay, add, requantise, split.
 *
 * ARGV: [1] shard key prefix, [2] now (epoch minutes), [3] half-life
 * (minutes), [4] cold after (minutes), [5] shard TTL (ms), [6] split size
 * (fields), [7] seed (1..2^31-2) for the stochastic rounding, then per key
 * three values: the field, its last read (epoch minutes), and its reads as
 * (uint8 bucket, float32 weight) pairs, the weights already decayed to that
 * last read.
 *
 * Per record, with F its decayed total and q its 48 levels: everything decays
 * to the later of the stored and the incoming last read (F scales; the shape
 * q does not change under decay, so decay costs no precision); the bucket
 * values F * w(q_i) / sum(w) gain the new reads; when a bucket outgrows the
 * top level, the lattice shifts by whole sqrt(2) steps (exact for every level
 * but the lowest); the buckets that gained reads are rounded to the lattice
 * stochastically (up with the probability that makes the rounding unbiased),
 * which keeps many small additions from vanishing in the rounding.
 *
 * Each call also sweeps one random shard of its cold records. Returns
 * {records written, corrupt records replaced, splits, cold records swept}.
 */
export const ACCESS_MERGE: LuaScript = {
  name: 'fimlAccessMerge',
  lua: `${COMMON}
local now = tonumber(ARGV[2])
local halfLife = tonumber(ARGV[3])
local coldAfter = tonumber(ARGV[4])
local ttl = ARGV[5]
local splitAt = tonumber(ARGV[6])
local seed = tonumber(ARGV[7]) % 2147483646 + 1

-- Park-Miller: products stay below 2^53, so doubles compute it exactly.
local function rand()
  seed = (seed * 16807) % 2147483647
  return seed / 2147483647
end

-- The level of a value relative to the top (0 < rel <= 1), rounded without bias.
local function roundLevel(rel)
  if rel <= 0 then return 0 end
  if rel >= 1 then return 15 end
  local x = 15 + 2 * math.log(rel) / LN2
  if x < 1 then
    if rand() < rel / W[1] then return 1 end
    return 0
  end
  local lo = math.floor(x)
  if lo >= 15 then return 15 end
  if rand() < (rel - W[lo]) / (W[lo + 1] - W[lo]) then return lo + 1 end
  return lo
end

if not exists(1) then setBit(1) end

local touched = {}
local written, corrupt, splits = 0, 0, 0

local function split(id, d)
  local key = shardPrefix .. id
  local flat = redis.call('HGETALL', key)
  local p = 2 ^ d
  local lowId, highId = id + p, id + 2 * p
  local low, high = {}, {}
  for i = 1, #flat, 2 do
    local side = low
    if math.floor(hashOf(flat[i]) / p) % 2 == 1 then side = high end
    side[#side + 1] = flat[i]
    side[#side + 1] = flat[i + 1]
  end
  redis.call('DEL', key)
  touched[key] = nil
  for _, child in ipairs({ { lowId, low }, { highId, high } }) do
    if #child[2] > 0 then
      local childKey = shardPrefix .. child[1]
      redis.call('HSET', childKey, unpack(child[2]))
      touched[childKey] = true
    end
  end
  setBit(lowId)
  setBit(highId)
  splits = splits + 1
end

local EMPTY = string.rep(string.char(0), 24)
local values = {}
for a = 8, #ARGV, 3 do
  local field = ARGV[a]
  local inLast = tonumber(ARGV[a + 1])
  local reads = ARGV[a + 2]
  local id, d = leafOf(hashOf(field))
  local key = shardPrefix .. id
  local stored = redis.call('HGET', key, field)

  local F, last, profile = 0, inLast, EMPTY
  if stored and #stored == 32 then
    local f, l = struct.unpack('<fI4', stored)
    if f == f and f >= 0 and f < math.huge then
      F, last, profile = f, l, string.sub(stored, 9)
    else
      corrupt = corrupt + 1
    end
  elseif stored then
    corrupt = corrupt + 1
  end

  local newLast = math.max(last, inLast)
  F = F * 2 ^ (-(newLast - last) / halfLife)
  local k = 2 ^ (-(newLast - inLast) / halfLife)
  local bytes = { string.byte(profile, 1, 24) }
  local total = 0
  for j = 1, 24 do total = total + PAIR[bytes[j]] end
  local top = 0
  if total > 0 then top = F / total end

  -- Buckets that gained reads: their new values, and the largest.
  local changed = {}
  local largest = 0
  for pos = 1, #reads, 5 do
    local b, weight = struct.unpack('<Bf', reads, pos)
    if b <= 47 and weight == weight and weight > 0 and weight < math.huge then
      local add = weight * k
      F = F + add
      local v = values[b]
      if v == nil then
        local byte = bytes[math.floor(b / 2) + 1]
        local q = byte % 16
        if b % 2 == 1 then q = math.floor(byte / 16) end
        v = top * W[q]
        changed[#changed + 1] = b
      end
      v = v + add
      values[b] = v
      if v > largest then largest = v end
    end
  end

  if largest > 0 then
    if top <= 0 then top = largest end
    local m = 0
    if largest > top then
      m = math.ceil(2 * math.log(largest / top) / LN2 - 1e-9)
      if m < 0 then m = 0 end
    end
    if m > 0 then
      -- The top level moves up by whole sqrt(2) steps: every other level moves down as many.
      top = top * 2 ^ (m / 2)
      for j = 1, 24 do
        local byte = bytes[j]
        if byte ~= 0 then
          local out = 0
          for half = 0, 1 do
            local q = byte % 16
            if half == 1 then q = math.floor(byte / 16) end
            local i = 2 * (j - 1) + half
            if values[i] == nil and q > 0 then
              if q - m >= 1 then
                q = q - m
              elseif rand() < W[q] * 2 ^ (-m / 2) / W[1] then
                q = 1
              else
                q = 0
              end
            end
            out = out + q * 16 ^ half
          end
          bytes[j] = out
        end
      end
    end
    for _, b in ipairs(changed) do
      local j = math.floor(b / 2) + 1
      local q = roundLevel(values[b] / top)
      if b % 2 == 0 then
        bytes[j] = bytes[j] - bytes[j] % 16 + q
      else
        bytes[j] = bytes[j] % 16 + 16 * q
      end
      values[b] = nil
    end
    profile = string.char(unpack(bytes))
  end

  local isNew = redis.call('HSET', key, field, struct.pack('<fI4', F, newLast) .. profile)
  touched[key] = true
  written = written + 1
  if isNew == 1 and d < 31 and redis.call('HLEN', key) > splitAt then split(id, d) end
end

for key in pairs(touched) do redis.call('PEXPIRE', key, ttl) end
redis.call('PEXPIRE', dir, ttl)

-- One shard swept per call, picked at random: cold keys go without a caller.
local victim = leafOf(math.floor(rand() * 4294967296))
local swept = sweep(victim, now - coldAfter)
return { written, corrupt, splits, swept }
`,
};

/**
 * Deletes cold and undecodable records from the listed shards.
 * ARGV: [1] shard key prefix, [2] cold before (epoch minutes), then shard ids.
 * Returns how many records it deleted.
 */
export const ACCESS_SWEEP: LuaScript = {
  name: 'fimlAccessSweep',
  lua: `${COMMON}
local coldBefore = tonumber(ARGV[2])
local removed = 0
for a = 3, #ARGV do removed = removed + sweep(ARGV[a], coldBefore) end
return removed
`,
};
