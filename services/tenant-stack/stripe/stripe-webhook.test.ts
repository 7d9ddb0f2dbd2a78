import { describe, expect, it } from "@jest/globals";
import Stripe from "stripe";
import { supersedes, type BillingState } from "./billing-state.ts";
import {
  buildStripeWebhookServer,
  STRIPE_WEBHOOK_PATH,
  type BillingStateStore,
} from "./stripe-webhook.ts";

const secret = "whsec_test_secret";
const stripe = new Stripe("sk_test_123");

function recordingStore(known: string[]): BillingStateStore & { seen: [string, BillingState][] } {
  const seen: [string, BillingState][] = [];
  return {
    seen,
    record: (customerId, state) => {
      seen.push([customerId, state]);
      return Promise.resolve(known.includes(customerId));
    },
  };
}

function event(type: string, customer = "cus_acme", created = 1_700_000_000): string {
  return JSON.stringify({
    id: `evt_${type.replace(/\W/g, "_")}_${created}`,
    object: "event",
    type,
    created,
    data: { object: { id: "in_123", object: "invoice", customer } },
  });
}

async function deliver(
  body: string,
  signature?: string,
): Promise<{ status: number; json: unknown; store: ReturnType<typeof recordingStore> }> {
  const store = recordingStore(["cus_acme"]);
  const app = buildStripeWebhookServer({ stripe, endpointSecret: secret, store });
  const sig = signature ?? stripe.webhooks.generateTestHeaderString({ payload: body, secret });
  const res = await app.inject({
    method: "POST",
    url: STRIPE_WEBHOOK_PATH,
    headers: { "content-type": "application/json", "stripe-signature": sig },
    payload: body,
  });
  await app.close();
  return { status: res.statusCode, json: res.json(), store };
}

describe("Stripe webhook endpoint", () => {
  it.each([
    ["invoice.payment_failed", "PaymentFailed"],
    ["invoice.payment_succeeded", "Current"],
    ["invoice.paid", "Current"],
  ])("%s → %s for the invoice's customer", async (type, want) => {
    const r = await deliver(event(type));
    expect(r.status).toBe(200);
    expect(r.store.seen).toEqual([
      [
        "cus_acme",
        {
          state: want,
          eventId: `evt_${type.replace(/\W/g, "_")}_1700000000`,
          eventCreated: 1_700_000_000,
          invoiceId: "in_123",
        },
      ],
    ]);
  });

  it.each([
    [
      "a signature from another secret",
      () =>
        stripe.webhooks.generateTestHeaderString({
          payload: event("invoice.payment_failed"),
          secret: "whsec_other",
        }),
    ],
    ["a malformed signature", () => "t=1,v1=deadbeef"],
    [
      "a signature over a different body",
      () => stripe.webhooks.generateTestHeaderString({ payload: event("invoice.paid"), secret }),
    ],
    [
      "an old timestamp",
      () =>
        stripe.webhooks.generateTestHeaderString({
          payload: event("invoice.payment_failed"),
          secret,
          timestamp: 1_000,
        }),
    ],
  ])("refuses %s with 400 and records nothing", async (_what, sig) => {
    const r = await deliver(event("invoice.payment_failed"), sig());
    expect(r.status).toBe(400);
    expect(r.store.seen).toEqual([]);
  });

  it("acknowledges other events without recording anything", async () => {
    const r = await deliver(event("customer.created"));
    expect(r).toMatchObject({ status: 200, json: { received: true, ignored: "customer.created" } });
    expect(r.store.seen).toEqual([]);
  });

  it("acknowledges an unknown customer's event (no retry storm) and says so", async () => {
    const r = await deliver(event("invoice.payment_failed", "cus_unknown"));
    expect(r).toMatchObject({ status: 200, json: { received: true, applied: false } });
  });
});

describe("billing state ordering", () => {
  const s = (
    state: BillingState["state"],
    created: number,
    id = `evt_${state}_${created}`,
  ): BillingState => ({
    state,
    eventId: id,
    eventCreated: created,
    invoiceId: "in_1",
  });
  it.each([
    ["nothing recorded yet", s("Current", 10), undefined, true],
    ["newer failure over success", s("PaymentFailed", 11), s("Current", 10), true],
    [
      "older success after a failure (out of order)",
      s("Current", 9),
      s("PaymentFailed", 10),
      false,
    ],
    ["same second: failure wins", s("PaymentFailed", 10), s("Current", 10), true],
    [
      "same second: success does not undo a failure",
      s("Current", 10),
      s("PaymentFailed", 10),
      false,
    ],
    ["redelivery of the same event", s("Current", 12, "evt_x"), s("Current", 12, "evt_x"), false],
  ])("%s → %s", (_what, next, cur, want) => {
    expect(supersedes(next, cur)).toBe(want);
  });
});
