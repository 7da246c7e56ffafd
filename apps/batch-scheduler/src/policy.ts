// The batch-scheduler's pure flush policy, for tools that replay it in
// virtual time (bench/week): when a group goes, and the low-load hours.
export { decideFlush, type BudgetSnapshot } from './scheduler/flush-policy.js';
export { inLowLoadHour } from './scheduler/low-load-hours.js';
