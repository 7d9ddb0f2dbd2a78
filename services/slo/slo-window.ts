/**
 * The report window (`--window 72h`): a Prometheus duration, parsed and bounded, and the chart
 * resolution that goes with it.
 */
import { WINDOW_PATTERN } from "../kpi/index.ts";

/** A parsed window. */
export interface SloWindow {
  /** The text as Prometheus reads it, e.g. `72h` or `1h30m`. */
  readonly text: string;
  readonly seconds: number;
}

/** A malformed or out-of-range window. */
export class WindowError extends Error {
  override readonly name = "WindowError";
}

const UNIT_SECONDS: Record<string, number> = {
  ms: 0.001,
  s: 1,
  m: 60,
  h: 3600,
  d: 86400,
  w: 604800,
  y: 31536000,
};

/** The shortest window: two scrapes at the default interval fit in it. */
export const MIN_WINDOW_SECONDS = 30;
/** The longest: Prometheus's default retention. */
export const MAX_WINDOW_SECONDS = 15 * 86400;

/**
 * Parses `--window`: a Prometheus duration with one unit (`72h`, `90m`, `7d`; services/kpi's
 * WINDOW_PATTERN), between 30 s and 15 d. Throws a {@link WindowError} naming the flag.
 */
export function parseWindow(text: string): SloWindow {
  const t = text.trim();
  const m = WINDOW_PATTERN.test(t) ? /^(\d+)(ms|[ywdhms])$/.exec(t) : null;
  if (!m) {
    throw new WindowError(
      `--window: ${JSON.stringify(text)} is not a duration (expected a number and one unit, e.g. 72h, 90m, 7d)`,
    );
  }
  const seconds = Number(m[1]) * (UNIT_SECONDS[m[2] ?? ""] ?? 0);
  if (seconds < MIN_WINDOW_SECONDS || seconds > MAX_WINDOW_SECONDS) {
    throw new WindowError(
      `--window: ${text} is out of range (expected ${MIN_WINDOW_SECONDS}s to ${MAX_WINDOW_SECONDS / 86400}d)`,
    );
  }
  return { text: t, seconds };
}

/**
 * The charts' resolution over a window: about 240 points (never under 5 s apart), each KPI
 * computed over a range of four steps (never under 30 s, so two scrapes at least fall in it).
 */
export function chartResolution(w: SloWindow): { stepSeconds: number; range: string } {
  const stepSeconds = Math.max(5, Math.ceil(w.seconds / 240));
  return { stepSeconds, range: `${Math.max(30, 4 * stepSeconds)}s` };
}
