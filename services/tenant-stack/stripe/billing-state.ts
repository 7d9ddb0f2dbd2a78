/**
 * The tenant's payment state as Stripe last reported it, kept in an annotation on the Tenant
 * (`vaultmesh.cloud/billing-state`). The webhook endpoint writes it; the Tenant controller
 * reads it to suspend or resume the tenant. Events carry their creation time, and an older
 * event never overwrites a newer one, so Stripe's out-of-order delivery cannot resume a
 * tenant whose latest invoice failed.
 */

/** Annotation holding the billing state. */
export const BILLING_STATE_ANNOTATION = "vaultmesh.cloud/billing-state";

/** The payment state recorded from Stripe events. */
export interface BillingState {
  readonly state: "PaymentFailed" | "Current";
  /** Stripe event id and its `created` (seconds since the epoch). */
  readonly eventId: string;
  readonly eventCreated: number;
  /** The invoice the event was about. */
  readonly invoiceId: string;
}

/** Parses the annotation value; undefined when absent or malformed. */
export function parseBillingState(value: string | undefined): BillingState | undefined {
  if (value === undefined) return undefined;
  try {
    const v = JSON.parse(value) as Partial<BillingState>;
    if (
      (v.state === "PaymentFailed" || v.state === "Current") &&
      typeof v.eventId === "string" &&
      typeof v.eventCreated === "number" &&
      typeof v.invoiceId === "string"
    ) {
      return {
        state: v.state,
        eventId: v.eventId,
        eventCreated: v.eventCreated,
        invoiceId: v.invoiceId,
      };
    }
  } catch {
    // A hand-edited annotation is treated as absent.
  }
  return undefined;
}

/** Serializes a billing state for the annotation. */
export function formatBillingState(s: BillingState): string {
  return JSON.stringify({
    state: s.state,
    eventId: s.eventId,
    eventCreated: s.eventCreated,
    invoiceId: s.invoiceId,
  });
}

/**
 * True when `next` should replace `current`: it is newer, or equally old and a failure (two
 * events in the same second: fail closed).
 */
export function supersedes(next: BillingState, current: BillingState | undefined): boolean {
  if (current === undefined) return true;
  if (next.eventId === current.eventId) return false;
  if (next.eventCreated !== current.eventCreated) return next.eventCreated > current.eventCreated;
  return next.state === "PaymentFailed" && current.state !== "PaymentFailed";
}
