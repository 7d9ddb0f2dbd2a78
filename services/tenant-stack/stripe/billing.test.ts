// Billing against stripe-mock (built from its Go module). stripe-mock is stateless: it checks
// every request against Stripe's OpenAPI spec and answers with fixtures, so these tests assert
// on what was sent (method, path, form body, idempotency key) and on the replies' shape.
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import Stripe from "stripe";
import { startStripeMock, type StripeMock } from "../../../test/harness/stripe-mock.ts";
import { BillingConfigError, TenantBilling, type BillingConfig } from "./billing.ts";

interface Sent {
  method: string;
  path: string;
  body: URLSearchParams;
  idempotencyKey: string | null;
}

let mock: StripeMock;
const sent: Sent[] = [];
const cfg: BillingConfig = {
  planPrices: { starter: "price_starter", pro: "price_pro" },
  gpuSecondsPrice: "price_gpu_seconds",
  meterEventName: "vaultmesh_gpu_seconds",
};

function client(): Stripe {
  const recordingFetch: typeof fetch = async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const headers = new Headers(init?.headers);
    sent.push({
      method: init?.method ?? "GET",
      path: url.pathname,
      body: new URLSearchParams(typeof init?.body === "string" ? init.body : url.search),
      idempotencyKey: headers.get("idempotency-key"),
    });
    return await fetch(input, init);
  };
  return new Stripe("sk_test_123", {
    ...mock.clientOptions,
    httpClient: Stripe.createFetchHttpClient(recordingFetch),
  });
}

const tenant = { tenantName: "acme", tenantUid: "3f0c9d0a-0000-4000-8000-000000000001" };

beforeAll(async () => {
  mock = await startStripeMock();
}, 120_000);

afterAll(async () => {
  await mock?.stop();
});

describe("sync", () => {
  it("creates a customer and a subscription to the plan and GPU prices, idempotently", async () => {
    sent.length = 0;
    const billing = new TenantBilling(client(), cfg);
    const r = await billing.sync({ ...tenant, plan: "pro", email: "ops@acme.example" });
    expect(r.customerId).toMatch(/^cus_/);
    expect(r.subscriptionId).toMatch(/^sub_/);
    expect(r.subscriptionStatus).toBe("active");
    const customer = sent.find((s) => s.method === "POST" && s.path === "/v1/customers");
    expect(customer?.idempotencyKey).toBe(`vaultmesh-tenant-${tenant.tenantUid}-customer`);
    expect(customer?.body.get("email")).toBe("ops@acme.example");
    expect(customer?.body.get("metadata[vaultmesh_tenant_uid]")).toBe(tenant.tenantUid);
    const sub = sent.find((s) => s.method === "POST" && s.path === "/v1/subscriptions");
    expect(sub?.idempotencyKey).toBe(
      `vaultmesh-tenant-${tenant.tenantUid}-subscription-${r.customerId}`,
    );
    expect([sub?.body.get("items[0][price]"), sub?.body.get("items[1][price]")]).toEqual([
      "price_pro",
      "price_gpu_seconds",
    ]);
    expect(billing.calls).toBe(sent.length);
  });

  it("reuses a known customer and subscription instead of creating new ones", async () => {
    sent.length = 0;
    const billing = new TenantBilling(client(), cfg);
    await billing.sync({
      ...tenant,
      plan: "pro",
      known: { customerId: "cus_known", subscriptionId: "sub_known" },
    });
    expect(
      sent.filter((s) => s.method === "POST" && /^\/v1\/(customers|subscriptions)$/.test(s.path)),
    ).toEqual([]);
    expect(sent.map((s) => `${s.method} ${s.path}`)).toEqual(
      expect.arrayContaining(["GET /v1/customers/cus_known", "GET /v1/subscriptions/sub_known"]),
    );
  });

  it("makes no Stripe call for a free tenant without billing details", async () => {
    sent.length = 0;
    const billing = new TenantBilling(client(), cfg);
    expect(await billing.sync({ ...tenant, plan: "free" })).toEqual({});
    expect(sent).toEqual([]);
  });

  it("names the missing setting when a paid plan has no price", async () => {
    const billing = new TenantBilling(client(), cfg);
    await expect(billing.sync({ ...tenant, plan: "enterprise", email: "a@b.c" })).rejects.toThrow(
      new BillingConfigError(
        "billing.planPrices.enterprise: no Stripe price is configured for plan enterprise",
      ),
    );
  });
});

describe("usage and cancellation", () => {
  it("reports GPU-seconds as a meter event keyed by the receipt digest", async () => {
    sent.length = 0;
    const digest = `sha256:${"ab".repeat(32)}`;
    await new TenantBilling(client(), cfg).reportUsage(
      "cus_1",
      digest,
      5400.4,
      new Date(1_700_000_000_000),
    );
    expect(sent).toHaveLength(1);
    const ev = sent[0];
    expect(ev?.path).toBe("/v1/billing/meter_events");
    expect(ev?.idempotencyKey).toBe(digest);
    expect(Object.fromEntries(ev?.body ?? [])).toEqual({
      event_name: "vaultmesh_gpu_seconds",
      identifier: digest,
      "payload[stripe_customer_id]": "cus_1",
      "payload[value]": "5400",
      timestamp: "1700000000",
    });
  });

  it("cancels a subscription without proration", async () => {
    sent.length = 0;
    await new TenantBilling(client(), cfg).cancel("sub_123");
    expect(sent.map((s) => `${s.method} ${s.path} ${s.body.toString()}`)).toEqual([
      "DELETE /v1/subscriptions/sub_123 prorate=false",
    ]);
  });
});

describe("failures", () => {
  it("surfaces Stripe being unreachable as an error", async () => {
    const down = new Stripe("sk_test_123", {
      host: "127.0.0.1",
      port: 1,
      protocol: "http",
      maxNetworkRetries: 0,
    });
    await expect(
      new TenantBilling(down, cfg).sync({ ...tenant, plan: "pro", email: "a@b.c" }),
    ).rejects.toThrow(/connection|connect|ECONNREFUSED/i);
  });
});
