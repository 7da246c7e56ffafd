import type { LuaScript } from './lua-script.js';

/**
 * Releases fetch locks held under one token: deletes each key only if it
 * still holds that token (a lock that expired and was taken by another
 * instance is left to its new owner). ARGV[1]: the token. Returns how many it deleted.
 */
export const RELEASE_LOCKS: LuaScript = {
  name: 'fimlCacheReleaseLocks',
  lua: `
local released = 0
for i = 1, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[1] then
    released = released + redis.call('DEL', KEYS[i])
  end
end
return released
`,
};

/**
 * Extends fetch locks still held under a token (the fetch is still running).
 * ARGV[1]: the token, ARGV[2]: the new lease in ms. Returns how many it extended.
 */
export const RENEW_LOCKS: LuaScript = {
  name: 'fimlCacheRenewLocks',
  lua: `
local renewed = 0
for i = 1, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[1] then
    renewed = renewed + redis.call('PEXPIRE', KEYS[i], ARGV[2])
  end
end
return renewed
`,
};
