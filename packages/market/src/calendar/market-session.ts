/**
 * What the market is doing at an instant. Equities move through pre-market,
 * regular, after-hours and closed; crypto is always open.
 */
export const MarketSession = {
  /** 04:00 to the 09:30 open, trading days only. */
  PRE_MARKET: 'pre-market',
  /** 09:30 to 16:00, or to 13:00 on an early-close day. */
  REGULAR: 'regular',
  /** From the close to 20:00, or to 17:00 on an early-close day. */
  AFTER_HOURS: 'after-hours',
  /** Overnight, weekends, holidays. */
  CLOSED: 'closed',
  /** Crypto: 24/7. */
  OPEN: 'open',
} as const;
export type MarketSession = (typeof MarketSession)[keyof typeof MarketSession];

/** The sessions an equity can be in (everything but crypto's 'open'). */
export type EquitySession = Exclude<MarketSession, 'open'>;

export const EQUITY_SESSIONS: readonly EquitySession[] = [
  'pre-market',
  'regular',
  'after-hours',
  'closed',
];
