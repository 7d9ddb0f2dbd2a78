/**
 * Money of the vaultmesh.cloud API, exactly: amounts are integer micro-dollars (1 USD =
 * 1,000,000 µ$), summed as integers and rounded only when shown to a person
 * (docs/adr/0096-money-in-micro-dollars.md). Prices stay USD numbers in specs (what a person
 * writes); they are converted to micro-dollars before any arithmetic.
 */

/** Micro-dollars in one US dollar. */
export const MICRO_USD_PER_USD = 1_000_000;

const SECONDS_PER_HOUR = 3_600n;

/**
 * Micro-dollars of a USD amount written as a decimal number (a price): `0.6` → `600000`.
 * Rounded to the nearest micro-dollar, which only matters for prices with more than six
 * decimals. Throws a RangeError naming `what` for a negative or non-finite amount.
 */
export function usdToMicros(usd: number, what = "amount"): number {
  if (!Number.isFinite(usd) || usd < 0) {
    throw new RangeError(`${what} must be a non-negative number of USD, got ${usd}`);
  }
  return Math.round(usd * MICRO_USD_PER_USD);
}

/**
 * The cost in micro-dollars of `gpuSeconds` GPU-seconds at `pricePerHour` USD per GPU-hour:
 * gpuSeconds × price(µ$/h) ÷ 3600, computed in integers (BigInt: the product passes 2^53 for
 * long jobs on many GPUs) and rounded half up to a whole micro-dollar, once per attempt.
 * A 2-second job at $0.60/h costs 333 µ$ ($0.000333…), not 0.
 */
export function costMicros(gpuSeconds: number, pricePerHour: number): number {
  if (!Number.isSafeInteger(gpuSeconds) || gpuSeconds < 0) {
    throw new RangeError(`gpuSeconds must be a non-negative integer, got ${gpuSeconds}`);
  }
  const price = BigInt(usdToMicros(pricePerHour, "pricePerHour"));
  const micros = (BigInt(gpuSeconds) * price + SECONDS_PER_HOUR / 2n) / SECONDS_PER_HOUR;
  return Number(micros);
}

/**
 * Micro-dollars of a cost recorded before micro-dollars (a receipt's `cost`: USD in whole
 * cents). Cents are exact in micro-dollars, so old and new receipts sum without drift.
 */
export function centsCostToMicros(costUsd: number): number {
  return Math.round(costUsd * 100) * 10_000;
}

/** Sums micro-dollar amounts, refusing a total that integers in a double cannot hold exactly. */
export function sumMicros(amounts: Iterable<number>): number {
  let total = 0;
  for (const a of amounts) total += a;
  if (!Number.isSafeInteger(total)) {
    throw new RangeError(`sum of micro-dollars ${total} is beyond exact integer range`);
  }
  return total;
}

/**
 * A micro-dollar amount for people: `$` and at least two decimals, more only where the amount
 * has them — `$1.23`, `$0.000333`, `$460800000.00`. Exact: no digit is rounded away.
 */
export function formatUsd(micros: number): string {
  if (!Number.isSafeInteger(micros)) throw new RangeError(`not a micro-dollar amount: ${micros}`);
  const sign = micros < 0 ? "-" : "";
  const abs = Math.abs(micros);
  const whole = Math.floor(abs / MICRO_USD_PER_USD);
  const frac = String(abs % MICRO_USD_PER_USD)
    .padStart(6, "0")
    .replace(/0{1,4}$/, "");
  return `${sign}$${whole}.${frac.padEnd(2, "0")}`;
}

/** USD as a number, for a display or an API that wants one (never summed again). */
export function microsToUsd(micros: number): number {
  return micros / MICRO_USD_PER_USD;
}
