import { describe, expect, it } from '@jest/globals';
import { RedisUrlError, isClusterUrl, parseRedisUrl, redactUrl } from './index.js';

describe('Redis URLs', () => {
  it('passes a standalone URL through for ioredis to read', () => {
    expect(parseRedisUrl('redis://127.0.0.1:6379/2')).toEqual({
      kind: 'standalone',
      url: 'redis://127.0.0.1:6379/2',
    });
    expect(parseRedisUrl('rediss://h').kind).toBe('standalone');
    expect(isClusterUrl('redis://h:1')).toBe(false);
  });

  it('reads a Cluster URL into seed nodes, default port 6379, credentials and TLS', () => {
    expect(parseRedisUrl('redis+cluster://10.0.0.1:7000,10.0.0.2,[::1]:7002')).toEqual({
      kind: 'cluster',
      nodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: '10.0.0.2', port: 6379 },
        { host: '::1', port: 7002 },
      ],
      options: {},
    });
    expect(parseRedisUrl('rediss+cluster://app:p%40ss@h:7000/0')).toEqual({
      kind: 'cluster',
      nodes: [{ host: 'h', port: 7000 }],
      options: { username: 'app', password: 'p@ss', tls: {} },
    });
    expect(parseRedisUrl('redis+cluster://:secret@h:7000')).toMatchObject({
      options: { password: 'secret' },
    });
    expect(isClusterUrl('rediss+cluster://h:1')).toBe(true);
  });

  it('refuses what it cannot connect to, naming the accepted forms and hiding the password', () => {
    for (const bad of [
      '',
      'http://h:1',
      'redis+cluster://',
      'redis+cluster://h:99999',
      'redis+cluster://h:1,,h:2',
      'redis+cluster://h:1/3',
    ]) {
      expect(() => parseRedisUrl(bad)).toThrow(RedisUrlError);
    }
    expect(() => parseRedisUrl('redis+cluster://u:hunter2@h:1/3')).toThrow(/database 0 only/);
    expect(() => parseRedisUrl('memcache://u:hunter2@h')).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining('hunter2') }),
    );
    expect(redactUrl('redis+cluster://u:hunter2@h:1')).toBe('redis+cluster://u:***@h:1');
  });
});
