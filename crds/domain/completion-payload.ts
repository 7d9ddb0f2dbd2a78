/**
 * The payload of a completion receipt (WorkloadCompleted, WorkloadFailed) and the usage summed
 * over such receipts. Usage is derived, never incremented (DESIGN §8): GPU-hours and cost are
 * sums over completion receipts, so a crash between two writes cannot double-charge.
 */
import type { Receipt } from "../receipt.ts";
import { centsCostToMicros, sumMicros } from "./money.ts";

/** The canonical payload of a completion receipt, as the operator signs it. */
export interface CompletionPayload {
  readonly [key: string]: string | number;
  readonly workloadUid: string;
  readonly namespace: string;
  readonly name: string;
  readonly attempt: number;
  readonly outcome: "Succeeded" | "Failed";
  readonly treaty: string;
  readonly provider: string;
  readonly region: string;
  readonly gpuType: string;
  readonly gpuCount: number;
  /** USD per GPU-hour, as placed. */
  readonly pricePerHour: number;
  readonly jobName: string;
  readonly startTime: string;
  readonly completionTime: string;
  /** Seconds from the Job's creation to its start (provision time, for the treaty's SLO). */
  readonly provisionSeconds: number;
  readonly gpuSeconds: number;
  /**
   * Integer micro-dollars, rounded half up once per attempt. Receipts logged before micro-dollars
   * carry `cost` (USD in whole cents) instead; {@link completionPayloadOf} reads either.
   */
  readonly costMicroUsd: number;
}

/** The receipt types that record a finished attempt. */
export const COMPLETION_RECEIPT_TYPES = ["WorkloadCompleted", "WorkloadFailed"] as const;

const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const isAmount = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v) && v >= 0;

/**
 * The payload of a Receipt resource as a completion payload, when it is one. A receipt logged
 * before micro-dollars (`cost` in USD, whole cents) reads as the same amount in micro-dollars,
 * so old and new receipts sum together exactly; its signed payload is not changed.
 */
export function completionPayloadOf(r: Receipt): CompletionPayload | undefined {
  if (!(COMPLETION_RECEIPT_TYPES as readonly string[]).includes(r.spec.type)) return undefined;
  const p = r.spec.payload as Partial<Record<string, unknown>>;
  if (typeof p.workloadUid !== "string" || typeof p.gpuSeconds !== "number") return undefined;
  if (isCount(p.costMicroUsd)) return p as CompletionPayload;
  if (isAmount(p.cost)) {
    return { ...(p as CompletionPayload), costMicroUsd: centsCostToMicros(p.cost) };
  }
  return undefined;
}

/** Sums of recorded facts: GPU-seconds, cost and the number of finished attempts. */
export interface UsageTotals {
  readonly gpuSeconds: number;
  /** Integer micro-dollars, the exact sum of the receipts' costs. */
  readonly costMicroUsd: number;
  readonly completed: number;
}

/** Sums GPU-seconds and cost over completion payloads, exactly. */
export function sumUsage(payloads: readonly CompletionPayload[]): UsageTotals {
  let gpuSeconds = 0;
  for (const p of payloads) gpuSeconds += p.gpuSeconds;
  return {
    gpuSeconds,
    costMicroUsd: sumMicros(payloads.map((p) => p.costMicroUsd)),
    completed: payloads.length,
  };
}

/** Start of the calendar month (UTC) containing `now`: the quota and billing period. */
export function periodStart(now: Date): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
}

/** The completion payloads among `receipts` finished at or after `since` (all when omitted). */
export function completionsSince(receipts: Iterable<Receipt>, since?: Date): CompletionPayload[] {
  const from = since?.getTime() ?? -Infinity;
  const out: CompletionPayload[] = [];
  for (const r of receipts) {
    const p = completionPayloadOf(r);
    if (p && Date.parse(p.completionTime) >= from) out.push(p);
  }
  return out;
}
