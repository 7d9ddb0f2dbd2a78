// Cheap number and list formatting for reason strings. The router formats a few strings for
// every treaty on every decision, so these avoid toFixed/Intl (several times slower) and
// allocate nothing but the result.

/** Longest reason string `status.candidates[].reasons[]` accepts. */
export const MAX_REASON_LENGTH = 256;

/** Formats a non-negative number with exactly two decimals: 0.9 → "0.90", 12 → "12.00". */
export function fixed2(x: number): string {
  const cents = Math.round(x * 100);
  const whole = Math.trunc(cents / 100);
  const frac = cents - whole * 100;
  return whole + (frac < 10 ? ".0" : ".") + frac;
}

/**
 * Formats two non-negative numbers with two decimals, or with four when two decimals would
 * print them equal (a reputation 0.895 below a floor 0.9 must not read "0.90 below 0.90").
 */
export function fixedPair(a: number, b: number): readonly [string, string] {
  const x = fixed2(a);
  const y = fixed2(b);
  if (x !== y || a === b) return [x, y];
  return [a.toFixed(4), b.toFixed(4)];
}

/** Formats a count or a quantity: integers as they are, fractions with two decimals. */
export function quantity(x: number): string {
  return Number.isInteger(x) ? String(x) : fixed2(x);
}

/** Formats a USD amount per GPU-hour: 1.2 → "$1.20/h". */
export function usdPerHour(x: number): string {
  return "$" + fixed2(x) + "/h";
}

/** Formats a list as `[a, b, c]`. */
export function list(items: readonly string[]): string {
  return "[" + items.join(", ") + "]";
}

/** Cuts a reason to the length the API accepts, marking the cut with an ellipsis. */
export function clip(reason: string): string {
  return reason.length <= MAX_REASON_LENGTH ? reason : reason.slice(0, MAX_REASON_LENGTH - 1) + "…";
}
