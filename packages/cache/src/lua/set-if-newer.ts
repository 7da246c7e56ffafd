import type { LuaScript } from './lua-script.js';

/**
 * Newer wins, atomically: writes each entry unless the one stored under its
 * key was fetched later. Every stored value starts with its `fetchedAt` as 16
 * ASCII digits (see l2/entry-header.ts), so the script compares by reading 16
 * bytes (GETRANGE), never by decoding the value. A stored value without a
 * readable header (shorter than 16 bytes, or any of them not a digit: foreign
 * or corrupt) is overwritten. Equal times overwrite: two answers of the same
 * instant are equally new.
 *
 * KEYS[i]: entry keys. ARGV[1]: every entry of the call packed in one string
 * (l2/packed-writes.ts): the entry count (uint32 LE), then per key, in the
 * order of KEYS, a record in `struct` format `<dBc0I4c0`: fetchedAt (float64,
 * the number in the value's header), PX (ASCII digits after a one-byte
 * length), the value (after a uint32 length). A count that does not match
 * KEYS is an error before anything is written.
 * Returns one integer per key: 1 written, 0 skipped (a newer entry is stored).
 *
 * Written for Redis CPU, measured with bench/tiered/l2-write.ts:
 * - One argument instead of three per key: Redis parses one bulk string and
 *   makes one Lua string instead of three per key (and ioredis formats one).
 * - A key is first tried with SET NX while the keys before it were absent: an
 *   absent key then costs one command instead of two (GETRANGE + SET). Keys
 *   of a batch tend to be all absent (misses, first fills) or all held
 *   (refreshes); after a held key the script goes straight to GETRANGE, so a
 *   batch of held keys pays one failed SET NX, and alternating ones one per
 *   held key.
 * - Numbers passed to redis.call are formatted with printf by Redis, so the
 *   GETRANGE bounds are strings.
 * - The stored header is compared as a number (exact: headers are at most
 *   2^53 - 1), not as a string: Lua's string `<` calls strcoll, which follows
 *   the locale redis-server runs in. The all-digits check runs only when the
 *   comparison would skip, so writes pay none.
 */
export const SET_IF_NEWER: LuaScript = {
  name: 'fimlCacheSetIfNewer',
  lua: `
local record = struct.unpack
local find = string.find
local call = redis.call
local packed = ARGV[1]
local count, pos = record('<I4', packed)
if count ~= #KEYS then
  return redis.error_reply('ERR fiml set-if-newer: ' .. count .. ' packed entries for ' .. #KEYS .. ' keys')
end
local out = {}
-- Guess whether the key is absent from the one before it: batches are mostly
-- all new keys (misses, first fills) or all held ones (refreshes).
local absent = true
for i = 1, #KEYS do
  local key = KEYS[i]
  local at, px, value
  at, px, value, pos = record('<dBc0I4c0', packed, pos)
  if absent and call('SET', key, value, 'NX', 'PX', px) then
    out[i] = 1
  else
    local stored = call('GETRANGE', key, '0', '15')
    absent = #stored == 0
    if #stored == 16 and (tonumber(stored) or -1) > at and not find(stored, '%D') then
      out[i] = 0
    else
      call('SET', key, value, 'PX', px)
      out[i] = 1
    end
  end
end
return out
`,
};
