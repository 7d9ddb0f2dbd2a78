/**
 * The report window (`--window 72h`): a Prometheus duration, parsed and bounded, and the chart
 * resolution that goes with it.
 */

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
 * Parses `--window`: units in decreasing order, each at most once (`72h`, `1h30m`, `90s`), as
 * Prometheus's duration syntax; between 30 s and 15 d. Throws a {@link WindowError} naming the flag.
 */
export function parseWindow(text: string): SloWindow {
  const t = text.trim();
  const order = ["y", "w", "d", "h", "m", "s", "ms"];
  const re = /(\d+)(ms|[ywdhms])/gy;
  let seconds = 0;
  let last = -1;
  let at = 0;
  for (let m = re.exec(t); m; m = re.exec(t)) {
    const unit = m[2] ?? "";
    const rank = order.indexOf(unit);
    if (rank <= last) {
      throw new WindowError(`--window: ${text}: units must each appear once, largest first`);
    }
    last = rank;
    seconds += Number(m[1]) * (UNIT_SECONDS[unit] ?? 0);
    at = re.lastIndex;
  }
  if (t === "" || at !== t.length) {
    throw new WindowError(
      `--window: ${JSON.stringify(text)} is not a duration (expected e.g. 72h, 1h30m, 90s)`,
    );
  }
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
