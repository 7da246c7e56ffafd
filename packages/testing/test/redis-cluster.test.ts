import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync } from 'node:fs';
import { Cluster } from 'ioredis';
import { retireRedis } from '@fiml/runtime';
import { startRedisCluster, type RedisCluster } from '../src/index.js';

describe('startRedisCluster', () => {
  let cluster: RedisCluster;
  let client: Cluster;
  beforeAll(async () => {
    cluster = await startRedisCluster();
    const seeds = cluster.url.replace('redis+cluster://', '').split(',');
    client = new Cluster(
      seeds.map((s) => ({ host: '127.0.0.1', port: Number(s.split(':')[1]) })),
      { slotsRefreshInterval: 500, retryDelayOnFailover: 100, maxRedirections: 100 },
    );
  }, 60_000);
  afterAll(async () => {
    client.disconnect();
    // Closed for good: ioredis can re-arm the slot-refresh timer from a refresh in flight at the
    // disconnect, and would then refresh forever.
    retireRedis(client);
    await cluster.stop();
  });

  it('forms 3 masters and 3 replicas, every slot served, named by a redis+cluster:// URL', async () => {
    const nodes = await cluster.nodes();
    expect(nodes.filter((n) => n.role === 'master')).toHaveLength(3);
    expect(nodes.filter((n) => n.role === 'replica')).toHaveLength(3);
    expect(cluster.servers).toHaveLength(6);
    expect(cluster.url).toMatch(/^redis\+cluster:\/\/127\.0\.0\.1:\d+(,127\.0\.0\.1:\d+){5}$/);
    await client.set('{a}x', '1');
    await client.set('{b}x', '2');
    expect(await client.get('{a}x')).toBe('1');
    expect(await client.get('{b}x')).toBe('2');
  });

  it('fails a killed master over to its replica and settles healthy again', async () => {
    const master = await cluster.masterFor('{a}x');
    await master.kill('SIGKILL');
    await cluster.waitUntilHealthy(20_000);
    const promoted = await cluster.masterFor('{a}x');
    expect(promoted.port).not.toBe(master.port);
    expect(await client.get('{a}x')).toBe('1');
  }, 30_000);

  it('removes every node’s files when stopped', async () => {
    const dirs = cluster.servers.map((s) => s.dataDir);
    await cluster.stop();
    expect(dirs.filter((d) => existsSync(d))).toEqual([]);
    expect(cluster.servers.filter((s) => s.running)).toEqual([]);
  });
});
