import type { IncomingMessage } from 'node:http';
import type { CacheRead } from '@fiml/cache';
import type { LimitCount } from './leased-rate-limit.js';

/**
 * What the hot reads did before handing a request over to Fastify, so the
 * request is not counted twice: its id, its count against the request
 * limit, and a read it made but does not answer (a not-found entry).
 */
export interface HandedOver {
  readonly id: string;
  limit?: LimitCount;
  read?: { readonly value: CacheRead; readonly at: number };
}

const HANDED_OVER = Symbol('fiml.handedOver');
type Marked = IncomingMessage & { [HANDED_OVER]?: HandedOver };

/** Marks a request the hot reads hand over to Fastify with what they counted. */
export function markHandedOver(raw: IncomingMessage, handover: HandedOver): void {
  (raw as Marked)[HANDED_OVER] = handover;
}

/** What the hot reads did with a request Fastify now answers; undefined if they did not see it. */
export function handedOver(raw: IncomingMessage): HandedOver | undefined {
  return (raw as Marked)[HANDED_OVER];
}
