import { describe, expect, it } from '@jest/globals';
import { parsers } from './index.js';

describe('parsers.redisUrl', () => {
  const ok = (s: string) => parsers.redisUrl().safeParse(s).success;

  it('accepts one server, and a Redis Cluster named by its seed nodes', () => {
    expect(ok('redis://127.0.0.1:6379/0')).toBe(true);
    expect(ok('rediss://user:pw@h:6380')).toBe(true);
    expect(ok('redis+cluster://10.0.0.1:7000,10.0.0.2:7000')).toBe(true);
    expect(ok('rediss+cluster://app:pw@h1:7000,h2,[::1]:7002/0')).toBe(true);
  });

  it('refuses other schemes, empty seed lists and a Cluster database other than 0', () => {
    expect(ok('http://h:1')).toBe(false);
    expect(ok('redis+cluster://')).toBe(false);
    expect(ok('redis+cluster://h:1,,h:2')).toBe(false);
    expect(ok('redis+cluster://h:1/3')).toBe(false);
    expect(parsers.redisUrl().safeParse('memcache://h').error?.issues[0]?.message).toMatch(
      /redis\+cluster:\/\//,
    );
  });
});
