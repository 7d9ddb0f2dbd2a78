import { describe, expect, it } from "@jest/globals";
import type { Tenant } from "../../../crds/index.ts";
import { transitions } from "../../runtime/index.ts";
import { redact } from "./tenant-context.ts";
import {
  COMPONENTS,
  ComponentImpact,
  componentImpact,
  computeTenantStatus,
  type ComponentOutcome,
  type ComponentName,
} from "./tenant-status.ts";

const now = new Date("2026-01-15T10:00:00Z");
const later = new Date("2026-01-15T11:00:00Z");
const tenant = (status?: Tenant["status"]): Tenant => ({
  apiVersion: "vaultmesh.cloud/v1alpha1",
  kind: "Tenant",
  metadata: { name: "acme", uid: "u1", generation: 3 },
  spec: { plan: "pro", suspended: false, billing: { email: "a@b.c" } },
  ...(status ? { status } : {}),
});
const ok: ComponentOutcome = { status: "True", reason: "Provisioned", message: "" };
const allOk = Object.fromEntries(COMPONENTS.map((c) => [c, ok])) as Record<
  ComponentName,
  ComponentOutcome
>;

describe("computeTenantStatus", () => {
  it.each([
    ["every component ready", allOk, undefined, undefined, ["True", "Ready"]],
    [
      "one component down",
      {
        ...allOk,
        Billing: { status: "False", reason: "StripeUnavailable", message: "connect ECONNREFUSED" },
      },
      undefined,
      undefined,
      ["False", "ComponentsNotReady"],
    ],
    [
      "suspended by spec",
      allOk,
      { reason: "Spec", message: "spec.suspended is true" },
      undefined,
      ["False", "Suspended"],
    ],
    [
      "payment failed",
      allOk,
      { reason: "PaymentFailed", message: "invoice in_1 failed" },
      undefined,
      ["False", "PaymentFailed"],
    ],
    ["deleting", {}, { reason: "Deleting", message: "x" }, "EraseDatabase", ["False", "Deleting"]],
  ] as const)("%s", (_what, outcomes, suspension, step, [wantStatus, wantReason]) => {
    const s = computeTenantStatus(
      tenant(),
      { outcomes, suspension: suspension, teardownStep: step },
      now,
    );
    const ready = s.conditions?.find((c) => c.type === "Ready");
    expect([ready?.status, ready?.reason]).toEqual([wantStatus, wantReason]);
    expect(s.suspended).toBe(suspension !== undefined);
    expect(s.suspendedReason).toBe(suspension?.reason);
    expect(s.observedGeneration).toBe(3);
  });

  it("names the failing component in Ready's message and lists components not reconciled yet", () => {
    const s = computeTenantStatus(
      tenant(),
      {
        outcomes: {
          Namespace: ok,
          Database: { status: "False", reason: "DatabaseUnavailable", message: "down" },
        },
      },
      now,
    );
    const msg = s.conditions?.find((c) => c.type === "Ready")?.message ?? "";
    expect(msg).toContain("Database: DatabaseUnavailable (down)");
    expect(msg).toContain("Quota: not reconciled yet");
  });

  it("orders conditions by component and keeps lastTransitionTime while the status holds", () => {
    const first = computeTenantStatus(tenant(), { outcomes: allOk }, now);
    expect(first.conditions?.map((c) => c.type)).toEqual([...COMPONENTS, "Ready", "Degraded"]);
    const second = computeTenantStatus(tenant(first), { outcomes: allOk }, later);
    expect(second).toEqual(first);
    const third = computeTenantStatus(
      tenant(second),
      { outcomes: { Cache: { status: "False", reason: "CacheUnavailable", message: "x" } } },
      later,
    );
    const cache = third.conditions?.find((c) => c.type === "Cache");
    expect(cache?.lastTransitionTime).toBe("2026-01-15T11:00:00Z");
    expect(third.conditions?.find((c) => c.type === "Quota")?.lastTransitionTime).toBe(
      "2026-01-15T10:00:00Z",
    );
    expect(transitions(second.conditions, third.conditions).map((c) => c.type)).toEqual([
      "Cache",
      "Ready",
    ]);
  });

  it("keeps known fields when a reconcile did not observe them", () => {
    const first = computeTenantStatus(
      tenant(),
      { outcomes: allOk, stripeCustomerId: "cus_1", namespace: "tenant-acme" },
      now,
    );
    const next = computeTenantStatus(tenant(first), { outcomes: {} }, later);
    expect([next.stripeCustomerId, next.namespace]).toEqual(["cus_1", "tenant-acme"]);
  });
});

describe("componentImpact (which failing component refuses new workloads)", () => {
  const cond = (type: string, status: "True" | "False" | "Unknown", reason: string) => ({
    type,
    status,
    reason,
  });
  it.each([
    ["Namespace True", "Namespace", cond("Namespace", "True", "Provisioned"), true, "Ok"],
    ["Namespace False", "Namespace", cond("Namespace", "False", "X"), true, "Gates"],
    ["Quota not reconciled yet", "Quota", undefined, true, "Gates"],
    ["Network False", "Network", cond("Network", "False", "X"), true, "Gates"],
    ["Database down", "Database", cond("Database", "False", "DatabaseUnavailable"), true, "Gates"],
    ["Cache unknown", "Cache", cond("Cache", "Unknown", "WaitingForNamespace"), true, "Gates"],
    ["Discord down", "Discord", cond("Discord", "False", "DiscordUnavailable"), false, "Degrades"],
    [
      "Discord waiting",
      "Discord",
      cond("Discord", "Unknown", "WaitingForNamespace"),
      true,
      "Degrades",
    ],
    ["Discord not reconciled yet", "Discord", undefined, true, "Gates"],
    [
      "Stripe down, no customer yet",
      "Billing",
      cond("Billing", "False", "StripeUnavailable"),
      false,
      "Gates",
    ],
    [
      "Stripe down, customer exists",
      "Billing",
      cond("Billing", "False", "StripeUnavailable"),
      true,
      "Degrades",
    ],
    [
      "Stripe refuses, customer exists",
      "Billing",
      cond("Billing", "False", "StripeRequestRefused"),
      true,
      "Degrades",
    ],
    ["payment failed", "Billing", cond("Billing", "False", "PaymentFailed"), true, "Gates"],
    ["past due", "Billing", cond("Billing", "False", "PastDue"), true, "Gates"],
    [
      "subscription inactive",
      "Billing",
      cond("Billing", "False", "SubscriptionInactive"),
      true,
      "Gates",
    ],
    ["Billing True", "Billing", cond("Billing", "True", "Active"), false, "Ok"],
  ] as const)("%s → %s", (_what, type, c, customerKnown, want) => {
    expect(componentImpact(c, type, customerKnown)).toBe(ComponentImpact[want]);
  });
});

describe("Ready and Degraded", () => {
  const down = (reason: string): ComponentOutcome => ({ status: "False", reason, message: "x" });
  it.each([
    ["all ready", {}, undefined, ["True", "Ready"], ["False", "AsExpected"]],
    [
      "Discord down",
      { Discord: down("DiscordUnavailable") },
      undefined,
      ["True", "ReadyDegraded"],
      ["True", "DiscordFailing"],
    ],
    [
      "Stripe down after provisioning",
      { Billing: down("StripeUnavailable") },
      "cus_1",
      ["True", "ReadyDegraded"],
      ["True", "BillingFailing"],
    ],
    [
      "Stripe down before the customer exists",
      { Billing: down("StripeUnavailable") },
      undefined,
      ["False", "ComponentsNotReady"],
      ["False", "AsExpected"],
    ],
    [
      "both down after provisioning",
      { Discord: down("DiscordUnavailable"), Billing: down("StripeUnavailable") },
      "cus_1",
      ["True", "ReadyDegraded"],
      ["True", "DiscordAndBillingFailing"],
    ],
    [
      "Discord and Database down",
      { Discord: down("DiscordUnavailable"), Database: down("DatabaseUnavailable") },
      "cus_1",
      ["False", "ComponentsNotReady"],
      ["True", "DiscordFailing"],
    ],
    [
      "payment failed after provisioning",
      { Billing: down("PaymentFailed") },
      "cus_1",
      ["False", "ComponentsNotReady"],
      ["False", "AsExpected"],
    ],
  ] as const)("%s", (_what, failing, customer, wantReady, wantDegraded) => {
    const s = computeTenantStatus(
      tenant(customer ? { stripeCustomerId: customer } : undefined),
      { outcomes: { ...allOk, ...failing } },
      now,
    );
    const ready = s.conditions?.find((c) => c.type === "Ready");
    const degraded = s.conditions?.find((c) => c.type === "Degraded");
    expect([ready?.status, ready?.reason]).toEqual(wantReady);
    expect([degraded?.status, degraded?.reason]).toEqual(wantDegraded);
  });

  it("names the degraded component and its reason in Degraded's message, and recovers", () => {
    const s = computeTenantStatus(
      tenant({ stripeCustomerId: "cus_1" }),
      { outcomes: { ...allOk, Discord: down("DiscordUnavailable") } },
      now,
    );
    expect(s.conditions?.find((c) => c.type === "Degraded")?.message).toContain(
      "Discord: DiscordUnavailable (x)",
    );
    const back = computeTenantStatus(tenant(s), { outcomes: { Discord: ok } }, later);
    const ready = back.conditions?.find((c) => c.type === "Ready");
    const degraded = back.conditions?.find((c) => c.type === "Degraded");
    expect([ready?.status, ready?.reason, degraded?.status]).toEqual(["True", "Ready", "False"]);
  });
});

describe("redact", () => {
  it.each([
    [
      "a known value",
      "auth failed for s3cr3t-password",
      ["s3cr3t-password"],
      "auth failed for [redacted]",
    ],
    ["an API key", `bad key vmk_0123456789abcdef_${"A".repeat(43)}`, [], "bad key [redacted]"],
    [
      "a Stripe key",
      "Invalid API Key provided: sk_test_abc123",
      [],
      "Invalid API Key provided: [redacted]",
    ],
    [
      "a URL with credentials",
      "connect postgresql://app:pw@db:5432/x",
      [],
      "connect [redacted]db:5432/x",
    ],
  ])("removes %s", (_what, msg, sensitive, want) => {
    expect(redact(msg, sensitive)).toBe(want);
  });
});
