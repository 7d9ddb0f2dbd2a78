/**
 * The injected time source. Ledger logic never reads the system clock directly, so tests can
 * pin time and two replays of the same inputs produce the same bytes.
 */

/** A source of the current time. */
export interface Clock {
  now(): Date;
}

/** The real wall clock; wire it in main programs only. */
export const systemClock: Clock = { now: () => new Date() };

/** A clock that returns `start` and advances by `stepMs` on each call (for tests). */
export function fixedClock(start: Date | string, stepMs = 0): Clock {
  let t = new Date(start).getTime();
  return {
    now(): Date {
      const d = new Date(t);
      t += stepMs;
      return d;
    },
  };
}
