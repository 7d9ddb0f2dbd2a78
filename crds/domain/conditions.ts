/**
 * Reading `status.conditions`: the lookups every kind's readers share (operator, webhooks,
 * services). The operator's runtime re-exports them beside its condition writers.
 */
import type { Condition } from "../common.ts";

/** The condition of `type`, if any. */
export function findCondition(
  conditions: readonly Condition[] | undefined,
  type: string,
): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

/** True when the condition of `type` is present with status True. */
export function isTrue(conditions: readonly Condition[] | undefined, type: string): boolean {
  return findCondition(conditions, type)?.status === "True";
}
