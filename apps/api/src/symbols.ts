import { SYMBOL_PATTERN } from '@fiml/market';
import { z } from 'zod';

/**
 * A symbol as a client may write it: SYMBOL_PATTERN in either case, checked
 * on the ASCII text as sent. Case is mapped only after the check, so a
 * character whose upper case is ASCII (`ß` → `SS`, `ı` → `I`) is refused
 * instead of naming another symbol.
 */
export const CLIENT_SYMBOL_PATTERN = new RegExp(
  SYMBOL_PATTERN.source.replace(/A-Z/g, 'A-Za-z'),
  SYMBOL_PATTERN.flags,
);

export const SYMBOL_MESSAGE =
  'not a symbol (1-10 ASCII letters or digits, optionally "." or "-" and up to 5 more)';

/** One symbol of a request (a path parameter, a body item): validated as sent, then upper-cased. */
export const apiSymbol = z
  .string()
  .regex(CLIENT_SYMBOL_PATTERN, SYMBOL_MESSAGE)
  // After the pattern: zod runs a string's checks and overwrites in the order they are written.
  .toUpperCase()
  .describe('A ticker, either case; answered upper-cased (AAPL, BRK.B, BF-B, BTC, BTC-USD)');
