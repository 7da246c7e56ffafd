import { describe, expect, it } from '@jest/globals';
import {
  decideFlush,
  type BudgetSnapshot,
  type FlushSettings,
  type GroupSnapshot,
} from './flush-policy.js';

const NOW = 1_000_000;
const settings: FlushSettings = {
  maxBatchSize: 100,
  intervalMs: 5_000,
  deadlineLeadMs: 2_000,
  lowLoadHour: false,
};
// 5 calls a minute, none spent in the window yet... except one (not idle).
const plenty: BudgetSnapshot = {
  remaining: 4,
  limit: 5,
  windowMs: 60_000,
  resetInMs: 50_000,
  blockedForMs: 0,
  reserved: 2,
};
const empty: GroupSnapshot = { urgent: 0, normal: 0, low: 0 };

describe('decideFlush', () => {
  it('does nothing for an empty group', () => {
    expect(decideFlush(empty, plenty, settings, NOW)).toMatchObject({
      flush: false,
      reason: 'empty',
    });
  });

  it('flushes urgent keys at once while the budget has calls to spare', () => {
    const group = { ...empty, urgent: 1, oldestUrgentAt: NOW };
    expect(decideFlush(group, plenty, settings, NOW)).toMatchObject({
      flush: true,
      reason: 'urgent',
    });
  });

  it('paces urgent keys when the budget is short, so they share one call', () => {
    const short = { ...plenty, remaining: 3 }; // reserved 2 + 1: the api is refusing misses
    const group = { ...empty, urgent: 1, oldestUrgentAt: NOW - 1_000 };
    // One call's share of the window: 60 s / 5 = 12 s.
    expect(decideFlush(group, short, settings, NOW)).toEqual({
      flush: false,
      reason: 'pacing',
      recheckInMs: 11_000,
    });
    expect(decideFlush(group, short, settings, NOW + 11_000)).toMatchObject({
      flush: true,
      reason: 'paced',
    });
  });

  it('keeps normal keys until the oldest has waited the interval, or the batch is full', () => {
    const group = { ...empty, normal: 10, oldestNormalAt: NOW - 3_000 };
    expect(decideFlush(group, plenty, settings, NOW)).toEqual({
      flush: false,
      reason: 'collecting',
      recheckInMs: 2_000,
    });
    expect(decideFlush(group, plenty, settings, NOW + 2_000)).toMatchObject({
      flush: true,
      reason: 'interval',
    });
    expect(decideFlush({ ...group, normal: 100 }, plenty, settings, NOW)).toMatchObject({
      flush: true,
      reason: 'full',
    });
  });

  it('flushes before a deadline', () => {
    const group = { ...empty, normal: 1, oldestNormalAt: NOW, earliestDeadline: NOW + 2_500 };
    expect(decideFlush(group, plenty, settings, NOW)).toMatchObject({
      flush: false,
      recheckInMs: 500,
    });
    expect(decideFlush(group, plenty, settings, NOW + 500)).toMatchObject({
      flush: true,
      reason: 'deadline',
    });
  });

  it('holds low keys outside the low-load hours, unless the budget is idle', () => {
    const group = { ...empty, low: 100, oldestLowAt: NOW - 60_000 };
    expect(decideFlush(group, plenty, settings, NOW)).toMatchObject({
      flush: false,
      reason: 'low-window',
    });
    expect(decideFlush(group, plenty, { ...settings, lowLoadHour: true }, NOW)).toMatchObject({
      flush: true,
      reason: 'low-load',
    });
    const idle = { ...plenty, remaining: 5 };
    expect(decideFlush(group, idle, settings, NOW)).toMatchObject({
      flush: true,
      reason: 'idle-budget',
    });
  });

  it('waits out a spent budget or a 429 instead of flushing into a refusal', () => {
    const group = { ...empty, urgent: 5, oldestUrgentAt: NOW - 60_000 };
    expect(
      decideFlush(group, { ...plenty, remaining: 0, resetInMs: 7_000 }, settings, NOW),
    ).toEqual({ flush: false, reason: 'budget', recheckInMs: 7_000 });
    expect(decideFlush(group, { ...plenty, blockedForMs: 30_000 }, settings, NOW)).toEqual({
      flush: false,
      reason: 'blocked',
      recheckInMs: 30_000,
    });
  });

  it('lets low keys fill a batch that goes anyway', () => {
    const group = { urgent: 1, normal: 0, low: 50, oldestUrgentAt: NOW, oldestLowAt: NOW };
    expect(decideFlush(group, plenty, settings, NOW)).toEqual({
      flush: true,
      reason: 'urgent',
      includeLow: true,
    });
  });

  it('treats a provider without windows as never short and always idle', () => {
    const unlimited: BudgetSnapshot = {
      remaining: Number.POSITIVE_INFINITY,
      limit: Number.POSITIVE_INFINITY,
      windowMs: 0,
      resetInMs: 0,
      blockedForMs: 0,
      reserved: 0,
    };
    expect(
      decideFlush({ ...empty, low: 1, oldestLowAt: NOW - 10_000 }, unlimited, settings, NOW),
    ).toMatchObject({ flush: true, reason: 'idle-budget' });
  });
});
