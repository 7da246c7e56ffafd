import { connect } from 'node:net';
import { withDeadline } from '@fiml/testing';

/** One HTTP response as read off a socket. */
export interface RawResponse {
  readonly status: number;
  /** Header names lower-cased. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/**
 * Sends `request` exactly as given (no client library in between, so
 * malformed requests reach the server as written) and reads the first
 * response: its headers, then Content-Length bytes of body. Rejects when
 * the connection closes before a whole response arrived.
 */
export function rawRequest(port: number, request: string | Buffer): Promise<RawResponse> {
  const done = new Promise<RawResponse>((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1' });
    let received = Buffer.alloc(0);
    let settled = false;
    const finish = (result: RawResponse | Error): void => {
      if (settled) return;
      settled = true;
      socket.destroy();
      if (result instanceof Error) reject(result);
      else resolve(result);
    };
    const tryParse = (): RawResponse | undefined => {
      const end = received.indexOf('\r\n\r\n');
      if (end === -1) return undefined;
      const head = received.subarray(0, end).toString('latin1').split('\r\n');
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head[0] ?? '')?.[1]);
      const headers: Record<string, string> = {};
      for (const line of head.slice(1)) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      const length = Number(headers['content-length'] ?? 0);
      const body = received.subarray(end + 4);
      if (body.length < length) return undefined;
      return { status, headers, body: body.subarray(0, length).toString('utf8') };
    };
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const response = tryParse();
      if (response) finish(response);
    });
    // The server may close (or reset) right after answering a request it refused.
    socket.on('error', (error) => finish(tryParse() ?? error));
    socket.on('close', () =>
      finish(tryParse() ?? new Error(`connection closed after ${received.length} bytes`)),
    );
    socket.write(request);
  });
  return withDeadline(done, 10_000, 'a raw HTTP response');
}
