/**
 * Pure helpers for metav1.Condition lists: set a condition (keeping lastTransitionTime when the
 * status does not change), find one, and test it. No I/O, no clock: the caller passes `now`.
 */
import { findCondition, isTrue } from "../../crds/domain/conditions.ts";
import type { Condition } from "../../crds/index.ts";

/** What a caller sets: type, status, reason and message (time and generation are added). */
export interface ConditionInput {
  readonly type: string;
  readonly status: "True" | "False" | "Unknown";
  readonly reason: string;
  readonly message?: string;
}

/**
 * Returns a new list with `input` set. lastTransitionTime changes only when the status
 * changes; reason, message and observedGeneration always take the new values. Order is kept;
 * a new type is appended.
 */
export function setCondition(
  conditions: readonly Condition[] | undefined,
  input: ConditionInput,
  observedGeneration: number | undefined,
  now: Date,
): Condition[] {
  const list = [...(conditions ?? [])];
  const i = list.findIndex((c) => c.type === input.type);
  const prev = i >= 0 ? list[i] : undefined;
  const next: Condition = {
    type: input.type,
    status: input.status,
    reason: input.reason,
    message: truncate(input.message ?? "", 32768),
    lastTransitionTime:
      prev && prev.status === input.status ? prev.lastTransitionTime : rfc3339(now),
    ...(observedGeneration !== undefined ? { observedGeneration } : {}),
  };
  if (i >= 0) list[i] = next;
  else list.push(next);
  return list;
}

/** Sets several conditions in order (see {@link setCondition}). */
export function setConditions(
  conditions: readonly Condition[] | undefined,
  inputs: readonly ConditionInput[],
  observedGeneration: number | undefined,
  now: Date,
): Condition[] {
  let list = [...(conditions ?? [])];
  for (const c of inputs) list = setCondition(list, c, observedGeneration, now);
  return list;
}

/** Removes the condition of `type`. */
export function removeCondition(
  conditions: readonly Condition[] | undefined,
  type: string,
): Condition[] {
  return (conditions ?? []).filter((c) => c.type !== type);
}

export { findCondition, isTrue };

/** RFC 3339 UTC with whole seconds, as metav1.Time serialises. */
export function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

function truncate(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

/**
 * The conditions that changed in status or reason between two lists, for Events: one Event per
 * transition, never one per reconcile.
 */
export function transitions(
  before: readonly Condition[] | undefined,
  after: readonly Condition[] | undefined,
): Condition[] {
  return (after ?? []).filter((c) => {
    const p = findCondition(before, c.type);
    return !p || p.status !== c.status || p.reason !== c.reason;
  });
}
