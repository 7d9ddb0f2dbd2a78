// Issue 6: billing drives suspension end to end — a signed Stripe invoice.payment_failed
// delivered to the operator's webhook endpoint suspends the tenant, and the admission webhook
// then refuses a new GPUWorkload naming the reason; invoice.payment_succeeded resumes it. Also
// metered usage: a completion receipt in the tenant's namespace is reported to Stripe once,
// shows in status.usage and is announced in the tenant's Discord channel.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import Stripe from "stripe";
import YAML from "yaml";
import type { CompletionPayload } from "../../crds/domain/index.ts";
import { receiptResource } from "../../operator/controllers/gpuworkload/completion-receipt.ts";
import { KubeClient, Resources, type KubeObject } from "../../services/kube/index.ts";
import { STRIPE_WEBHOOK_PATH } from "../../services/tenant-stack/stripe/stripe-webhook.ts";
import { makeWorkload } from "../builders/webhook-objects.ts";
import {
  readStripeRecords,
  startStripeRecorder,
  type StripeRecorder,
} from "../chaos/stripe-recorder.ts";
import { kubeConfig, kubectl, waitFor } from "../harness/kube.ts";
import { startTestWebhook, type TestWebhook } from "../harness/webhook.ts";
import {
  isReady,
  makeTenant,
  startInProcessTenantOperator,
  startTenantTestStack,
  tenantCondition,
  waitForTenant,
  WEBHOOK_SECRET,
  type InProcessTenantOperator,
  type TenantTestStack,
} from "./tenant-env.ts";

let stack: TenantTestStack;
let op: InProcessTenantOperator;
let hook: TestWebhook;
// What stripe-mock (stateless, no record of its own) was sent: a recording proxy in front.
let recorder: StripeRecorder;
let stripeLog = "";
let client: KubeClient;
let name = "";
let ns = "";
let customer = "";
const GUILD = "456789012345678901";
const CHANNEL = "567890123456789012";
const stripe = new Stripe("sk_test_123");

async function deliver(type: string, created: number, signWith = WEBHOOK_SECRET): Promise<number> {
  const body = JSON.stringify({
    id: `evt_${type.replace(/\W/g, "")}_${created}`,
    object: "event",
    type,
    created,
    data: { object: { id: `in_${created}`, object: "invoice", customer } },
  });
  const res = await fetch(`${op.tenants.webhookUrl}${STRIPE_WEBHOOK_PATH}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "stripe-signature": stripe.webhooks.generateTestHeaderString({
        payload: body,
        secret: signWith,
      }),
    },
    body,
  });
  await res.arrayBuffer();
  return res.status;
}

async function tryCreateWorkload(workload: string): Promise<{ code: number; stderr: string }> {
  return await kubectl(
    ["create", "--dry-run=server", "-f", "-"],
    YAML.stringify(makeWorkload(workload, ns)),
  );
}

beforeAll(async () => {
  stack = await startTenantTestStack("tbill");
  stripeLog = join(mkdtempSync(join(tmpdir(), "vaultmesh-tbill-stripe-")), "requests.jsonl");
  recorder = await startStripeRecorder(stack.stripe.port, stripeLog);
  op = await startInProcessTenantOperator(stack, { VAULTMESH_STRIPE_API_BASE: recorder.url });
  hook = await startTestWebhook({ prefix: "tbill" });
  client = await KubeClient.create(kubeConfig(), { fieldManager: "vaultmesh-test" });
  name = `${stack.id}-t`;
  ns = `tenant-${name}`;
  await client.create(
    Resources.Tenant,
    makeTenant(stack, name, { discord: { guildId: GUILD, channelId: CHANNEL } }),
  );
  const t = await waitForTenant(client, name, "Ready", isReady, 90_000);
  customer = t.status?.stripeCustomerId ?? "";
}, 150_000);

afterAll(async () => {
  await hook?.stop();
  await client?.delete(Resources.Tenant, { name }).catch(() => undefined);
  await waitFor(
    "the tenant to be gone",
    async () => !(await client.get(Resources.Tenant, name)),
    90_000,
  ).catch(() => undefined);
  await op?.stop();
  await recorder?.close();
  client?.close();
  await stack?.stop();
}, 150_000);

/** A completion receipt's payload for workload `workload` of the tenant (cost as given). */
function completion(
  workload: string,
  gpuSeconds: number,
  cost: { readonly costMicroUsd: number } | { readonly cost: number },
): Record<string, string | number> {
  return {
    workloadUid: crypto.randomUUID(),
    namespace: ns,
    name: workload,
    attempt: 1,
    outcome: "Succeeded",
    treaty: "pool",
    provider: "in-cluster",
    region: "local",
    gpuType: "a10g",
    gpuCount: 2,
    pricePerHour: 1.5,
    jobName: `${workload}-a1`,
    startTime: new Date(Date.now() - gpuSeconds * 500).toISOString(),
    completionTime: new Date().toISOString(),
    provisionSeconds: 3,
    gpuSeconds,
    ...cost,
  };
}

/** Appends a completion receipt to the ledger and creates its Receipt view; its digest. */
async function addReceipt(payload: Record<string, string | number>): Promise<string> {
  const uid = String(payload.workloadUid);
  const appended = await stack.ledger.ledger.append({
    type: "WorkloadCompleted",
    subject: {
      apiVersion: "vaultmesh.cloud/v1alpha1",
      kind: "GPUWorkload",
      namespace: ns,
      name: String(payload.name),
      uid,
    },
    payload,
  });
  const workload = makeWorkload(String(payload.name), ns);
  workload.metadata.uid = uid;
  const view = receiptResource(workload, appended.receipt, payload as CompletionPayload);
  await client.create(Resources.Receipt, view);
  return appended.receipt.digest;
}

describe("metered usage", () => {
  it("reports a completion receipt's GPU-seconds to Stripe once, in status.usage, and in Discord", async () => {
    // 5 400 GPU-seconds at $1.50/GPU-hour: $2.25.
    const digest = await addReceipt(completion("train-1", 5400, { costMicroUsd: 2_250_000 }));
    const t = await waitForTenant(
      client,
      name,
      "usage from the receipt",
      (x) => (x.status?.usage?.gpuHoursThisPeriod ?? 0) > 0,
    );
    expect(t.status?.usage).toMatchObject({
      gpuHoursThisPeriod: 1.5,
      costMicroUsd: 2_250_000,
      cost: 2.25,
    });
    await waitFor("the usage report to be recorded", async () => {
      const r = await stack.admin.query(
        "SELECT receipt_digest, gpu_hours FROM arrakis.usage_reports",
      );
      return r.rows.length === 1;
    });
    const rows = await stack.admin.query<{ receipt_digest: string; gpu_hours: string }>(
      "SELECT receipt_digest, gpu_hours FROM arrakis.usage_reports",
    );
    expect(rows.rows).toEqual([{ receipt_digest: digest, gpu_hours: "1.5" }]);
    const posted = await waitFor("the Discord notice", () =>
      Promise.resolve(
        stack.discord.requests.find(
          (r) => r.method === "POST" && r.path === `/channels/${CHANNEL}/messages`,
        ),
      ),
    );
    expect((posted.body as { content: string }).content).toContain("**train-1** completed");
    await waitFor("the receipt to be marked announced", async () => {
      const r = await client.list<KubeObject>(Resources.Receipt, { namespace: ns });
      return r.items[0]?.metadata?.annotations?.["vaultmesh.cloud/discord-notice"] !== undefined;
    });
    // Stripe itself received the meter event: the tenant's customer, the GPU-seconds, the
    // receipt digest as identifier and idempotency key.
    const meterEvents = (): ReturnType<typeof readStripeRecords> =>
      readStripeRecords(stripeLog).filter(
        (r) => r.method === "POST" && r.path === "/v1/billing/meter_events",
      );
    const sent = await waitFor("the meter event at Stripe", () =>
      Promise.resolve(meterEvents()[0]),
    );
    expect(sent).toMatchObject({
      idempotencyKey: digest,
      status: 200,
      body: {
        identifier: digest,
        "payload[stripe_customer_id]": customer,
        "payload[value]": "5400",
      },
    });
    // Later reconciles neither report nor announce it again.
    await op.reconcileOnce(name);
    await op.reconcileOnce(name);
    expect((await stack.admin.query("SELECT 1 FROM arrakis.usage_reports")).rows).toHaveLength(1);
    expect(meterEvents()).toHaveLength(1);
    expect(stack.discord.requests.filter((r) => r.method === "POST")).toHaveLength(1);
  });

  it("sums sub-cent receipts and receipts in cents exactly, and meters every GPU-second", async () => {
    // A receipt logged before micro-dollars (USD, whole cents) and two 2-second jobs that cost
    // 1 667 µ$ each (4 GPU-seconds at $1.50/GPU-hour) — recorded as $0.00 when costs were cents.
    const digests = [
      await addReceipt(completion("old-1", 36, { cost: 0.02 })),
      await addReceipt(completion("tiny-1", 4, { costMicroUsd: 1_667 })),
      await addReceipt(completion("tiny-2", 4, { costMicroUsd: 1_667 })),
    ];
    const wantMicros = 2_250_000 + 20_000 + 2 * 1_667;
    const t = await waitForTenant(
      client,
      name,
      "usage from the four receipts",
      (x) => x.status?.usage?.costMicroUsd === wantMicros,
    );
    expect(t.status?.usage).toMatchObject({ costMicroUsd: wantMicros, cost: wantMicros / 1e6 });
    // Stripe is metered in GPU-seconds, one event per receipt: the events sum to the receipts.
    const events = await waitFor("a meter event for each receipt", () => {
      const got = readStripeRecords(stripeLog).filter(
        (r) => r.method === "POST" && r.path === "/v1/billing/meter_events" && r.status === 200,
      );
      return Promise.resolve(got.length === 4 ? got : undefined);
    });
    const ids = events.slice(1).map((e) => e.body.identifier);
    expect(ids.sort()).toEqual([...digests].sort());
    const metered = events.reduce((n, e) => n + Number(e.body["payload[value]"]), 0);
    expect(metered).toBe(5400 + 36 + 4 + 4);
  });
});

describe("suspension by billing", () => {
  beforeAll(async () => {
    // Bring the tenant namespace into the scope of this file's admission webhook.
    const labelled = await kubectl([
      "label",
      "namespace",
      ns,
      `${Object.keys(hook.labels)[0]}=${Object.values(hook.labels)[0]}`,
    ]);
    expect(labelled.code).toBe(0);
    await waitFor("the admission webhook to see the tenant Ready", async () => {
      const t = hook.lookups.getTenant(name);
      if (t?.status?.conditions?.find((c) => c.type === "Ready")?.status !== "True") return false;
      const r = await tryCreateWorkload("probe");
      return r.code === 0;
    });
  }, 60_000);

  it("refuses a bad signature without changing anything", async () => {
    expect(await deliver("invoice.payment_failed", 1_800_000_000, "whsec_wrong")).toBe(400);
    await op.reconcileOnce(name);
    expect(
      (await client.get(Resources.Tenant, name))?.metadata?.annotations?.[
        "vaultmesh.cloud/billing-state"
      ],
    ).toBeUndefined();
  });

  it("invoice.payment_failed suspends: a new GPUWorkload is refused with the reason", async () => {
    expect(await deliver("invoice.payment_failed", 1_800_000_100)).toBe(200);
    const t = await waitForTenant(
      client,
      name,
      "suspended by billing",
      (x) => x.status?.suspendedReason === "PaymentFailed",
    );
    expect(t.status?.suspended).toBe(true);
    expect(tenantCondition(t, "Billing")).toMatchObject({
      status: "False",
      reason: "PaymentFailed",
    });
    expect(tenantCondition(t, "Ready")).toMatchObject({ status: "False", reason: "PaymentFailed" });
    const refused = await waitFor("admission to refuse", async () => {
      const r = await tryCreateWorkload("after-failure");
      return r.code !== 0 ? r : undefined;
    });
    expect(refused.stderr).toContain("PaymentFailed");
    expect(refused.stderr).toContain("payment of invoice in_1800000100 failed");
  });

  it("an older success delivered late does not resume it", async () => {
    expect(await deliver("invoice.payment_succeeded", 1_800_000_050)).toBe(200);
    await op.reconcileOnce(name);
    expect((await client.get<KubeObject>(Resources.Tenant, name))?.status).toMatchObject({
      suspendedReason: "PaymentFailed",
    });
  });

  it("invoice.payment_succeeded resumes: the GPUWorkload is accepted", async () => {
    expect(await deliver("invoice.payment_succeeded", 1_800_000_200)).toBe(200);
    await waitForTenant(client, name, "Ready again", isReady);
    await waitFor(
      "admission to accept",
      async () => (await tryCreateWorkload("after-payment")).code === 0,
    );
  });
});
