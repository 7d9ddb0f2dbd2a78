// Issue 10: Stripe goes away. stripe-mock is stopped under an operator process running the
// Tenant controller (behind a recorder: stripe-mock keeps no record, so "what Stripe received"
// is read there), and started again on the same port. Meanwhile a workload's completion receipt
// waits to be metered and a new tenant waits for its customer: both say so on the Tenant
// (`Billing=False StripeUnavailable`) while the rest of the tenant is provisioned, and the
// process stays up. Once Stripe is back the usage is reported exactly once — one meter event
// answered, its idempotency key the receipt digest — and the new tenant gets exactly one
// customer and one subscription, each under its own stable idempotency key. The paid tenant,
// whose customer exists, stays Ready with `Degraded=True BillingFailing` and a new workload for
// it is admitted by the real GPUWorkload webhooks; the new tenant's first billing setup still
// gates: it is not Ready until Stripe answers (ADR 0077).
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { Resources, type KubeClient } from "../../services/kube/index.ts";
import {
  readStripeRecords,
  startStripeRecorder,
  type StripeRecorder,
} from "../chaos/stripe-recorder.ts";
import { waitFor } from "../harness/kube.ts";
import { startStripeMock } from "../harness/stripe-mock.ts";
import type { OperatorProcess } from "./operator-env.ts";
import {
  addCompletionReceipt,
  expectAlive,
  OutageClock,
  startOutageTenantEnv,
  waitForRetries,
  type OutageTenantEnv,
} from "./outage-env.ts";
import { admitWorkload } from "./tenant-admission-env.ts";
import {
  isReady,
  makeTenant,
  tenantCondition,
  waitForTenant,
  type TenantTestStack,
} from "./tenant-env.ts";

let env: OutageTenantEnv;
let stack: TenantTestStack;
let client: KubeClient;
let recorder: StripeRecorder;
let op: OperatorProcess;
let port = 0;
let paid = "";
let during = "";
const records = join(mkdtempSync(join(tmpdir(), "vaultmesh-outage-stripe-")), "stripe.jsonl");

beforeAll(async () => {
  env = await startOutageTenantEnv("ostripe", {
    ready: { paid: {} },
    later: ["during"],
    // The operator talks to stripe-mock through a recorder (stripe-mock keeps no record).
    operatorEnv: async (s) => {
      recorder = await startStripeRecorder(s.stripe.port, records);
      return { VAULTMESH_STRIPE_API_BASE: recorder.url };
    },
    admission: { workload: "during-stripe-outage" },
  });
  ({ stack, client, op, port } = env);
  paid = env.name("paid");
  during = env.name("during");
}, 180_000);

afterAll(async () => {
  await env?.stop();
  await recorder?.close();
}, 150_000);

describe("stripe-mock is stopped and started again", () => {
  it("retries billing with the same idempotency keys: one meter event, one customer", async () => {
    const clock = new OutageClock("stripe");
    await stack.stripe.stop();
    clock.down();
    const receipt = await addCompletionReceipt(stack, client, `tenant-${paid}`, "train-1", 1800);
    const digest = receipt.spec.digest;
    await client.create(Resources.Tenant, makeTenant(stack, during));
    await waitForTenant(client, paid, "Billing=False StripeUnavailable", (t) => {
      const c = tenantCondition(t, "Billing");
      return c?.status === "False" && c.reason === "StripeUnavailable";
    });
    await waitForTenant(
      client,
      during,
      "Billing=False StripeUnavailable with its namespace provisioned",
      (t) =>
        tenantCondition(t, "Billing")?.reason === "StripeUnavailable" &&
        tenantCondition(t, "Namespace")?.status === "True",
    );
    // Degrade, don't stop: the paid tenant stays Ready, says what is degraded, and admits
    // work; the tenant still waiting for its first customer is not Ready.
    const degraded = await waitForTenant(
      client,
      paid,
      "Degraded=True BillingFailing",
      (t) => tenantCondition(t, "Degraded")?.reason === "BillingFailing",
    );
    expect(tenantCondition(degraded, "Ready")).toMatchObject({
      status: "True",
      reason: "ReadyDegraded",
    });
    expect(tenantCondition(degraded, "Degraded")?.message).toContain("Billing: StripeUnavailable");
    await admitWorkload(`tenant-${paid}`, "during-stripe-outage");
    const fresh = await client.get(Resources.Tenant, during);
    expect(tenantCondition(fresh as never, "Ready")).toMatchObject({
      status: "False",
      reason: "ComponentsNotReady",
    });
    await waitForRetries(port, "tenant", 6);
    await expectAlive(op, port);

    stack.stripe = await startStripeMock({ port: stack.stripe.port });
    clock.back();
    await Promise.all([
      waitFor(
        "the usage to be reported",
        async () =>
          (
            await stack.admin.query(
              "SELECT 1 FROM arrakis.usage_reports WHERE receipt_digest = $1",
              [digest],
            )
          ).rows.length === 1,
        90_000,
      ).then(() => clock.recovered("usage metered")),
      waitForTenant(client, during, "Ready", isReady, 90_000).then(() =>
        clock.recovered("tenant created during the outage Ready"),
      ),
      waitForTenant(
        client,
        paid,
        "Billing=True and Degraded=False",
        (t) =>
          tenantCondition(t, "Billing")?.status === "True" &&
          tenantCondition(t, "Degraded")?.status === "False",
        90_000,
      ).then(() => clock.recovered("Billing=True again")),
    ]);

    const answered = readStripeRecords(records).filter((r) => r.status >= 200 && r.status < 300);
    const meter = answered.filter(
      (r) =>
        r.method === "POST" &&
        r.path === "/v1/billing/meter_events" &&
        r.body.identifier === digest,
    );
    expect(meter.map((r) => r.idempotencyKey)).toEqual([digest]);
    const duringUid = (await client.get(Resources.Tenant, during))?.metadata?.uid ?? "";
    const customers = answered.filter(
      (r) =>
        r.method === "POST" &&
        r.path === "/v1/customers" &&
        r.body["metadata[vaultmesh_tenant_uid]"] === duringUid,
    );
    expect(customers.map((r) => r.idempotencyKey)).toEqual([
      `vaultmesh-tenant-${duringUid}-customer`,
    ]);
    const subscriptions = answered.filter(
      (r) =>
        r.method === "POST" &&
        r.path === "/v1/subscriptions" &&
        r.body["metadata[vaultmesh_tenant_uid]"] === duringUid,
    );
    expect(subscriptions).toHaveLength(1);
    expect(subscriptions[0]?.idempotencyKey).toMatch(
      new RegExp(`^vaultmesh-tenant-${duringUid}-subscription-`),
    );
    // Metered once: later reconciles find it reported and send nothing more.
    expect(
      (
        await stack.admin.query("SELECT 1 FROM arrakis.usage_reports WHERE receipt_digest = $1", [
          digest,
        ])
      ).rows,
    ).toHaveLength(1);
    await expectAlive(op, port);
  }, 300_000);
});
