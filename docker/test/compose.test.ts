// docker/compose.yml without a Docker engine. `docker compose config` is not available here (the
// docker client on these machines has no compose plugin, and Debian's docker-compose is the old
// Python v1, which checks its own schema, not the Compose Specification), so the file is
// validated by dclint (npm): the Compose Specification's JSON schema, which it always applies,
// plus its lint rules (docker/.dclintrc.json says which are off and why). Then what the schema
// cannot know: the Redis roles' settings, the replicas, every process's environment parsed by
// that process's own config schema, and Prometheus's targets matching the services.
import { describe, expect, it } from '@jest/globals';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DCLinter } from 'dclint';
import { stringify } from 'yaml';
import { apiEnv } from '@fiml/api/config';
import { batchSchedulerEnv } from '@fiml/batch-scheduler/config';
import { warmerEnv } from '@fiml/warmer/config';
import {
  composeText,
  loadCompose,
  parseCompose,
  redisFlags,
  serviceEnv,
} from './support/compose.js';
import {
  APPS,
  COMPOSE_FILE,
  PROMETHEUS_CONFIG,
  dockerPath,
  interpolateValues,
  readJson,
  readYaml,
  type AppName,
} from './support/files.js';

const raw = composeText();
const parsed = parseCompose();
const compose = loadCompose();
const envs: Record<AppName, { vars: object; parse(env: Record<string, string>): unknown }> = {
  api: apiEnv,
  'batch-scheduler': batchSchedulerEnv,
  warmer: warmerEnv,
};

/** What the tests use of dclint's linter (typed here: its declarations do not resolve for eslint). */
interface ComposeLinter {
  lintFiles(
    paths: string[],
    recursive: boolean,
  ): { messages: { rule: string; message: string }[] }[];
}
const Linter = DCLinter as unknown as new (config: unknown) => ComposeLinter;

function lint(path: string) {
  return new Linter(readJson(dockerPath('.dclintrc.json'))).lintFiles([path], false);
}

describe('the compose file', () => {
  it('is valid against the Compose Specification and passes dclint', () => {
    const [result] = lint(COMPOSE_FILE);
    expect(result!.messages).toEqual([]);
  });

  it('is still valid once its variables are filled in with their defaults', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fiml-compose-'));
    try {
      const path = join(dir, 'compose.yml');
      writeFileSync(path, stringify(compose));
      const [result] = lint(path);
      expect(result!.messages).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is a validator that can fail: a service key the specification does not know is reported', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fiml-compose-'));
    try {
      const path = join(dir, 'compose.yml');
      writeFileSync(
        path,
        raw.replace('    stop_grace_period: 10s', '    stop_grace_period: 10s\n    replicaz: 2'),
      );
      const [result] = lint(path);
      expect(result!.messages.map((m) => m.rule)).toEqual(['invalid-schema']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('stops when a required secret is missing instead of running without it', () => {
    expect(() => interpolateValues(parsed, {})).toThrow(/GRAFANA_ADMIN_PASSWORD is required/);
  });

  it('runs the queue Redis without eviction and with an append-only file', () => {
    const flags = redisFlags(compose.services['redis-queue']!);
    expect(flags).toMatchObject({ 'maxmemory-policy': 'noeviction', appendonly: 'yes' });
    expect(compose.services['redis-queue']!.volumes).toContain('redis-queue-data:/data');
  });

  it('runs the cache Redis bounded by maxmemory with LFU eviction over every key', () => {
    const flags = redisFlags(compose.services['redis-cache']!);
    expect(flags['maxmemory-policy']).toBe('allkeys-lfu');
    expect(flags.maxmemory).toMatch(/^\d+(mb|gb)$/);
  });

  it('builds every process from docker/Dockerfile with its own APP', () => {
    for (const name of [...APPS, 'sim-provider']) {
      const service = compose.services[name]!;
      expect({ name, build: service.build }).toEqual({
        name,
        build: { context: '..', dockerfile: 'docker/Dockerfile', args: { APP: name } },
      });
      expect(existsSync(join(dockerPath(service.build!.context), service.build!.dockerfile))).toBe(
        true,
      );
    }
  });

  it('lets the api scale (no fixed name, a host port range) and runs two batch-schedulers', () => {
    const api = compose.services.api!;
    expect(api.container_name).toBeUndefined();
    expect(api.ports).toEqual([{ target: 3000, host_ip: '127.0.0.1', published: '3000-3009' }]);
    expect(compose.services['batch-scheduler']!.deploy?.replicas).toBe(2);
    for (const name of APPS) {
      expect(compose.services[name]!.container_name).toBeUndefined();
      // More than the processes' own shutdown bound (SHUTDOWN_TIMEOUT_MS + 5 s): SIGTERM drains.
      expect(compose.services[name]!.stop_grace_period).toBe('20s');
      expect(compose.services[name]!.depends_on).toMatchObject({
        'redis-queue': { condition: 'service_healthy' },
        'redis-cache': { condition: 'service_healthy' },
      });
    }
  });

  it('gives each process an environment its own config schema accepts, and nothing it does not read', () => {
    for (const app of APPS) {
      const environment = serviceEnv(compose.services[app]!);
      const env = envs[app];
      const unknown = Object.keys(environment).filter((name) => !(name in env.vars));
      expect({ app, unknown }).toEqual({ app, unknown: [] });
      const config = env.parse(environment) as Record<string, unknown>;
      expect(config.REDIS_QUEUE_URL).toBe('redis://redis-queue:6379/0');
      expect(config.REDIS_CACHE_URL).toBe('redis://redis-cache:6379/0');
      expect(config.NODE_ENV).toBe('production');
    }
  });

  it('mounts Prometheus and Grafana files that exist', () => {
    for (const name of ['prometheus', 'grafana']) {
      for (const volume of compose.services[name]!.volumes ?? []) {
        const [source] = volume.split(':');
        if (!source!.startsWith('./')) {
          expect(Object.keys(compose.volumes)).toContain(source);
          continue;
        }
        expect({ volume, exists: existsSync(dockerPath(source!)) }).toEqual({
          volume,
          exists: true,
        });
      }
    }
  });

  it('has Prometheus scrape each process by its service name on the port its config gives it', () => {
    interface Job {
      job_name: string;
      dns_sd_configs: { names: string[]; port: number }[];
    }
    const [job] = readYaml<{ scrape_configs: Job[] }>(PROMETHEUS_CONFIG).scrape_configs;
    const ports: Record<string, number> = {};
    for (const sd of job!.dns_sd_configs) ports[sd.names[0]!] = sd.port;
    const environment = (app: string) => compose.services[app]!.environment ?? {};
    expect(ports).toEqual({
      api: Number(environment('api').API_PORT),
      'batch-scheduler': Number(environment('batch-scheduler').METRICS_PORT),
      warmer: Number(environment('warmer').METRICS_PORT),
    });
  });
});
