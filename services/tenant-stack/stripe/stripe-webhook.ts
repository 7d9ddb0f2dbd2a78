/**
 * The Stripe webhook endpoint: verifies the `Stripe-Signature` header over the raw body
 * (stripe.webhooks.constructEvent, HMAC-SHA256 with the endpoint secret, 5-minute tolerance),
 * maps invoice events to a billing state and hands it to a store (the Tenant annotation). A bad
 * signature is answered 400 and changes nothing; an event for an unknown customer is
 * acknowledged (Stripe would otherwise retry it for days) and counted.
 */
import Fastify, { type FastifyInstance } from "fastify";
import type Stripe from "stripe";
import type { BillingState } from "./billing-state.ts";

/** Where a verified billing state goes: the Tenant whose Stripe customer the invoice is for. */
export interface BillingStateStore {
  /** Records `state` for the customer's tenant; returns false when no tenant has it. */
  record(customerId: string, state: BillingState): Promise<boolean>;
}

/** Dependencies of the webhook endpoint. */
export interface StripeWebhookDeps {
  /** Only `webhooks` is used (no API calls). */
  readonly stripe: Pick<Stripe, "webhooks">;
  /** The endpoint's signing secret (`whsec_…`). Never logged. */
  readonly endpointSecret: string;
  readonly store: BillingStateStore;
  /** Log sink for outcomes (never given the body or the secret). */
  readonly log?: (msg: string, fields?: Record<string, unknown>) => void;
}

/** The invoice events that change a tenant's payment state. */
export const BILLING_EVENTS: Readonly<Record<string, BillingState["state"]>> = {
  "invoice.payment_failed": "PaymentFailed",
  "invoice.payment_succeeded": "Current",
  "invoice.paid": "Current",
};

/** Maps a verified event to a customer and billing state; undefined for other events. */
export function billingStateOf(
  event: Stripe.Event,
): { customerId: string; state: BillingState } | undefined {
  const state = BILLING_EVENTS[event.type];
  if (state === undefined) return undefined;
  const invoice = event.data.object as Stripe.Invoice;
  const customer = invoice.customer;
  const customerId = typeof customer === "string" ? customer : customer?.id;
  if (!customerId || !invoice.id) return undefined;
  return {
    customerId,
    state: { state, eventId: event.id, eventCreated: event.created, invoiceId: invoice.id },
  };
}

/** The outcome of one delivery, as HTTP status and JSON body. */
export interface WebhookReply {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

/** Verifies and applies one delivery. */
export async function handleStripeWebhook(
  deps: StripeWebhookDeps,
  rawBody: Buffer,
  signature: string | undefined,
): Promise<WebhookReply> {
  let event: Stripe.Event;
  try {
    if (!signature) throw new Error("missing Stripe-Signature header");
    event = deps.stripe.webhooks.constructEvent(rawBody, signature, deps.endpointSecret);
  } catch (err) {
    deps.log?.("stripe webhook refused", { reason: (err as Error).message });
    return { status: 400, body: { error: "signature verification failed" } };
  }
  const mapped = billingStateOf(event);
  if (!mapped) return { status: 200, body: { received: true, ignored: event.type } };
  const found = await deps.store.record(mapped.customerId, mapped.state);
  deps.log?.("stripe webhook applied", {
    type: event.type,
    event: event.id,
    customer: mapped.customerId,
    tenantFound: found,
  });
  return { status: 200, body: { received: true, applied: found } };
}

/** Path of the endpoint. */
export const STRIPE_WEBHOOK_PATH = "/stripe/webhook";

/**
 * Builds a fastify app serving the endpoint. JSON bodies are kept raw (a Buffer): the
 * signature covers the exact bytes Stripe sent.
 */
export function buildStripeWebhookServer(deps: StripeWebhookDeps): FastifyInstance {
  const app = Fastify({ logger: false, bodyLimit: 1024 * 1024 });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer" }, (_req, body, done) => done(null, body));
  app.post(STRIPE_WEBHOOK_PATH, async (req, reply) => {
    const sig = req.headers["stripe-signature"];
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const out = await handleStripeWebhook(deps, raw, typeof sig === "string" ? sig : undefined);
    return await reply.code(out.status).send(out.body);
  });
  return app;
}
