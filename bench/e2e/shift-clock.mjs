// Preloaded into every process of the end-to-end benchmark (NODE_OPTIONS=--import=<this file>),
// before the app's own modules: when FIML_BENCH_CLOCK_OFFSET_MS is set, the process's wall clock
// (Date.now(), new Date()) runs that many milliseconds ahead of the real one, at the real rate.
//
// Why: the apps read time from systemClock (Date.now()) in main.ts and have no setting for another
// clock, and BullMQ's job scheduler (the warmer's cron and pre-open run) reads Date too. Shifting
// Date in every Node process puts the unmodified apps, BullMQ and the simulated provider at the
// market open being replayed (Monday 09:25 New York, say), so TTLs, sessions and warming follow the
// market calendar of the replayed slice. Only an offset, never a speed-up: timers (setTimeout),
// Redis key expiry (PX) and Redis TIME (the shared rate limiter) keep real time, so a compressed
// clock would disagree with them. Redis itself needs no shift: everything the apps store there
// expires by relative durations, and the rate limiter reads Redis TIME on purpose.
//
// timekeeper's travel() replaces the global Date with one that keeps ticking from the given
// instant; Node internals (timers, performance.now()) are untouched.
import timekeeper from 'timekeeper';

const raw = process.env.FIML_BENCH_CLOCK_OFFSET_MS;
if (raw !== undefined && raw !== '') {
  const offset = Number(raw);
  if (!Number.isFinite(offset)) {
    process.stderr.write(
      `shift-clock: FIML_BENCH_CLOCK_OFFSET_MS must be a number of ms, got ${JSON.stringify(raw)}\n`,
    );
    process.exit(2);
  }
  timekeeper.travel(Date.now() + offset);
}
