import { describe, expect, it } from '@jest/globals';
import { Writable } from 'node:stream';
import { createLogger } from './index.js';

function capture(): { stream: Writable; lines: () => string[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString());
      callback();
    },
  });
  return { stream, lines: () => chunks.join('').split('\n').filter(Boolean) };
}

describe('createLogger', () => {
  it('writes one JSON object per line with service, level label and ISO time', () => {
    const out = capture();
    const logger = createLogger({ service: 'api', destination: out.stream });
    logger.child({ component: 'refresh' }).info({ symbols: 3 }, 'enqueued');
    const [line] = out.lines();
    const record = JSON.parse(line!) as Record<string, unknown>;
    expect(record).toMatchObject({
      level: 'info',
      service: 'api',
      component: 'refresh',
      symbols: 3,
      msg: 'enqueued',
      pid: process.pid,
    });
    expect(record.time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  });

  it('redacts secrets wherever we log them', () => {
    const out = capture();
    const logger = createLogger({ service: 'api', destination: out.stream });
    logger.info(
      {
        req: { headers: { authorization: 'Bearer abc', 'x-api-key': 'k-123', host: 'h' } },
        provider: { apiKey: 'pk-999', baseUrl: 'https://x' },
        password: 'p',
      },
      'request',
    );
    const line = out.lines()[0]!;
    expect(line).not.toMatch(/abc|k-123|pk-999|"p"/);
    const record = JSON.parse(line) as {
      req: { headers: Record<string, string> };
      provider: Record<string, string>;
    };
    expect(record.req.headers.authorization).toBe('[redacted]');
    expect(record.req.headers['x-api-key']).toBe('[redacted]');
    expect(record.req.headers.host).toBe('h');
    expect(record.provider.apiKey).toBe('[redacted]');
    expect(record.provider.baseUrl).toBe('https://x');
  });

  it('respects the level', () => {
    const out = capture();
    const logger = createLogger({ service: 'w', level: 'warn', destination: out.stream });
    logger.info('quiet');
    logger.warn('loud');
    expect(out.lines()).toHaveLength(1);
    expect(out.lines()[0]).toContain('loud');
  });

  it('writes readable lines, not JSON, when pretty', () => {
    const out = capture();
    const logger = createLogger({ service: 'w', pretty: true, destination: out.stream });
    logger.info({ jobId: '7' }, 'job done');
    const text = out.lines().join('\n');
    expect(text).toMatch(/INFO.*job done/);
    expect(text).toContain('"jobId":"7"');
    expect(out.lines()).toHaveLength(1);
    expect(() => JSON.parse(out.lines()[0]!) as unknown).toThrow();
  });
});
