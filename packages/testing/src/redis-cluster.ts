import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import which from 'which';
import {
  RedisServerNotFoundError,
  freePort,
  resolveRedisServerBinary,
  startRedisServer,
  type RedisServer,
} from './redis-server.js';
import { waitFor } from './wait-for.js';

const run = promisify(execFile);

export interface RedisClusterOptions {
  /** Masters; each gets `replicasPerMaster` replicas. @defaultValue 3 */
  readonly masters?: number;
  /** @defaultValue 1 */
  readonly replicasPerMaster?: number;
  /**
   * How long a node may be unreachable before the others mark it failed and
   * its replica takes over (Redis's default is 15000; tests want failover
   * fast). @defaultValue 1000
   */
  readonly nodeTimeoutMs?: number;
  /** Extra `--name value` pairs for every node. */
  readonly config?: Readonly<Record<string, string>>;
  /** How long to wait for the cluster to form. @defaultValue 30000 */
  readonly startTimeoutMs?: number;
}

/** One node as `CLUSTER NODES` describes it. */
export interface ClusterNodeInfo {
  readonly id: string;
  readonly port: number;
  readonly role: 'master' | 'replica';
  /** For a replica, the id of its master. */
  readonly masterId: string | undefined;
  readonly failed: boolean;
  /** Slot ranges served (masters), e.g. [[0, 5460]]. */
  readonly slots: readonly (readonly [number, number])[];
}

/** A Redis Cluster of private redis-servers on 127.0.0.1, formed with `redis-cli --cluster create`. */
export interface RedisCluster {
  /** `redis+cluster://127.0.0.1:<port>,…` with every node as a seed (see @fiml/runtime's parseRedisUrl). */
  readonly url: string;
  /** Every node as a seed for an ioredis `Cluster`: `{ host, port }`. */
  readonly seeds: readonly { readonly host: string; readonly port: number }[];
  /** Every node's server, masters first as created (roles change after a failover). */
  readonly servers: readonly RedisServer[];
  /** The nodes as a live node sees them now. */
  nodes(): Promise<ClusterNodeInfo[]>;
  /** The server of the master that serves a key's slot now. */
  masterFor(key: string): Promise<RedisServer>;
  /**
   * Resolves once every running node reports `cluster_state:ok`, every slot
   * has a master that runs, and every replica that runs is linked to its
   * master: after a start, and after a failover.
   */
  waitUntilHealthy(timeoutMs?: number): Promise<void>;
  /** Stops every node and removes their files. Idempotent. */
  stop(): Promise<void>;
}

/** The redis-cli binary: $REDIS_CLI_BIN, beside redis-server, or on PATH. */
export function resolveRedisCliBinary(): string {
  const configured = process.env.REDIS_CLI_BIN;
  if (configured) return configured;
  try {
    const sibling = join(dirname(resolveRedisServerBinary()), 'redis-cli');
    accessSync(sibling, constants.X_OK);
    return sibling;
  } catch {
    const found = which.sync('redis-cli', { nothrow: true });
    if (!found) throw new RedisServerNotFoundError('redis-cli is not on PATH');
    return found;
  }
}

/**
 * Starts a Redis Cluster for a test file: `masters` masters with
 * `replicasPerMaster` replicas each (3 + 3 by default), each a
 * `startRedisServer` with cluster mode on, on free ports (client and bus
 * port), joined by `redis-cli --cluster create … --cluster-replicas n
 * --cluster-yes`; resolves once the cluster is healthy on every node. Start
 * one per test file (forming takes a second or two), isolate tests with
 * unique prefixes, and `stop()` it afterwards.
 */
export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisCluster> {
  const masters = options.masters ?? 3;
  const replicas = options.replicasPerMaster ?? 1;
  if (!Number.isInteger(masters) || masters < 3) {
    throw new RangeError(`a Redis Cluster needs at least 3 masters, got ${masters}`);
  }
  const cli = resolveRedisCliBinary();
  const config = {
    'cluster-enabled': 'yes',
    'cluster-config-file': 'nodes.conf',
    'cluster-node-timeout': String(options.nodeTimeoutMs ?? 1_000),
    ...options.config,
  };
  const servers: RedisServer[] = [];
  const stopAll = () => Promise.all(servers.map((s) => s.stop())).then(() => undefined);
  try {
    const count = masters * (1 + replicas);
    // Sequential: each server takes its port and bus port before the next picks.
    while (servers.length < count) servers.push(await startClusterNode(config));
    await run(
      cli,
      [
        '--cluster',
        'create',
        ...servers.map((s) => `127.0.0.1:${s.port}`),
        '--cluster-replicas',
        String(replicas),
        '--cluster-yes',
      ],
      { timeout: options.startTimeoutMs ?? 30_000 },
    );
  } catch (error) {
    await stopAll();
    throw error;
  }

  const byPort = new Map(servers.map((s) => [s.port, s]));
  const cliOn = async (server: RedisServer, ...args: string[]) =>
    (await run(cli, ['-p', String(server.port), ...args], { timeout: 5_000 })).stdout;
  const anyRunning = () => {
    const server = servers.find((s) => s.running);
    if (!server) throw new Error('no node of the cluster runs');
    return server;
  };
  const nodes = async () => parseClusterNodes(await cliOn(anyRunning(), 'cluster', 'nodes'));

  const cluster: RedisCluster = {
    url: `redis+cluster://${servers.map((s) => `127.0.0.1:${s.port}`).join(',')}`,
    seeds: servers.map((s) => ({ host: s.host, port: s.port })),
    servers,
    nodes,
    async masterFor(key) {
      const slot = Number((await cliOn(anyRunning(), 'cluster', 'keyslot', key)).trim());
      const master = (await nodes()).find(
        (n) => n.role === 'master' && !n.failed && n.slots.some(([a, b]) => slot >= a && slot <= b),
      );
      const server = master && byPort.get(master.port);
      if (!server) throw new Error(`no live master serves slot ${slot} of ${key}`);
      return server;
    },
    async waitUntilHealthy(timeoutMs = options.startTimeoutMs ?? 30_000) {
      await waitFor(
        async () => {
          const live = servers.filter((s) => s.running);
          for (const server of live) {
            if (!/cluster_state:ok/.test(await cliOn(server, 'cluster', 'info'))) return false;
          }
          // Every node that runs must agree: a node's own view is what its clients are told.
          for (const server of live) {
            const seen = parseClusterNodes(await cliOn(server, 'cluster', 'nodes'));
            const liveMasters = seen.filter(
              (n) => n.role === 'master' && !n.failed && byPort.get(n.port)?.running,
            );
            const covered = liveMasters.reduce(
              (sum, n) => sum + n.slots.reduce((s, [a, b]) => s + b - a + 1, 0),
              0,
            );
            if (covered !== 16_384) return false;
          }
          for (const server of live) {
            const info = await cliOn(server, 'info', 'replication');
            if (/role:slave/.test(info) && !/master_link_status:up/.test(info)) return false;
          }
          return true;
        },
        { timeoutMs, intervalMs: 50, description: 'the Redis Cluster to be healthy on every node' },
      );
    },
    stop: stopAll,
  };
  try {
    await cluster.waitUntilHealthy();
  } catch (error) {
    await stopAll();
    throw error;
  }
  return cluster;
}

/** A cluster-mode server on a free port whose bus port (`cluster-port`) is free too. */
async function startClusterNode(config: Record<string, string>): Promise<RedisServer> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    let bus = await freePort();
    while (bus === port) bus = await freePort();
    try {
      return await startRedisServer({ port, config: { ...config, 'cluster-port': String(bus) } });
    } catch (error) {
      if (attempt >= 5) throw error;
    }
  }
}

/** Reads `CLUSTER NODES` output. */
export function parseClusterNodes(text: string): ClusterNodeInfo[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => {
      const [id = '', address = '', flags = '', master = '-', , , , , ...slots] = line.split(' ');
      const port = Number(/:(\d+)/.exec(address)?.[1] ?? 0);
      const flagSet = new Set(flags.split(','));
      return {
        id,
        port,
        role: flagSet.has('master') ? 'master' : 'replica',
        masterId: master === '-' ? undefined : master,
        failed: flagSet.has('fail') || flagSet.has('fail?') || flagSet.has('noaddr'),
        slots: slots
          .filter((s) => !s.startsWith('['))
          .map((s) => {
            const [a, b] = s.split('-').map(Number);
            return [a!, b ?? a!] as const;
          }),
      } satisfies ClusterNodeInfo;
    });
}
