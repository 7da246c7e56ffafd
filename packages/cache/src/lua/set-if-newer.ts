import type { LuaScript } from './lua-script.js';

/**
 * Newer wins, atomically: writes each entry unless the one stored under its
 * key was fetched later. Every stored value starts with its `fetchedAt` as 16
 * ASCII digits (see l2/entry-header.ts), so the script compares by reading 16
 * bytes (GETRANGE), never by decoding the value. A stored value without a
 * readable header (foreign or corrupt) is overwritten. Equal times overwrite:
 * two answers of the same instant are equally new.
 *
 * KEYS[i]: entry keys. ARGV[3i-2]: fetchedAt (ms), ARGV[3i-1]: PX, ARGV[3i]: the value.
 * Returns one integer per key: 1 written, 0 skipped (a newer entry is stored).
 */
export const SET_IF_NEWER: LuaScript = {
  name: 'fimlCacheSetIfNewer',
  lua: `
local out = {}
for i = 1, #KEYS do
  local at = tonumber(ARGV[3 * i - 2])
  local stored = tonumber(redis.call('GETRANGE', KEYS[i], 0, 15))
  if stored ~= nil and stored > at then
    out[i] = 0
  else
    redis.call('SET', KEYS[i], ARGV[3 * i], 'PX', ARGV[3 * i - 1])
    out[i] = 1
  end
end
return out
`,
};
