/**
 * Health cases of a Tenant: the config/samples tenant with the status the operator's
 * computeTenantStatus gives it for each state its stack can be in.
 */
import { TenantSchema, type Tenant, type TenantInput } from "../../../crds/index.ts";
import {
  COMPONENTS,
  type ComponentName,
  type ComponentOutcome,
  computeTenantStatus,
  type TenantObservation,
} from "../../../operator/controllers/tenant/tenant-status.ts";
import { TEARDOWN_STEPS } from "../../../operator/controllers/tenant/tenant-teardown.ts";
import { TENANT_FINALIZER } from "../../../services/tenant-stack/kube/names.ts";
import {
  DELETION_REQUESTED,
  type HealthCase,
  lifecycleCases,
  NOW,
  plain,
  sample,
  served,
} from "./case-kit.ts";

function tenant(spec: Partial<TenantInput["spec"]> = {}): Tenant {
  const s = sample<TenantInput>("tenant-acme.yaml");
  const t = served(TenantSchema.parse({ ...s, spec: { ...s.spec, ...spec } }));
  return { ...t, metadata: { ...t.metadata, finalizers: [TENANT_FINALIZER] } };
}

const provisioned: Record<ComponentName, ComponentOutcome> = {
  Namespace: { status: "True", reason: "Provisioned", message: "namespace tenant-acme" },
  Quota: { status: "True", reason: "Enforced", message: "8 GPUs, 4 concurrent workloads" },
  Network: { status: "True", reason: "Isolated", message: "default-deny with egress to DNS" },
  Database: { status: "True", reason: "Provisioned", message: "tenant row under RLS" },
  Cache: { status: "True", reason: "Provisioned", message: "redis user tenant:acme" },
  Billing: { status: "True", reason: "Active", message: "subscription active" },
  Discord: { status: "True", reason: "GuildBound", message: "guild 112233445566778899" },
};

function observed(t: Tenant, o: Partial<TenantObservation>): Tenant {
  const status = computeTenantStatus(t, { outcomes: provisioned, ...o }, NOW);
  return { ...t, status };
}

/** The Tenant cases, healthy first. */
export function tenantCases(): HealthCase[] {
  const healthy = observed(tenant(), { namespace: "tenant-acme", subscriptionStatus: "active" });
  const waiting = COMPONENTS.filter((c) => c !== "Namespace").map((c) => [
    c,
    { status: "Unknown", reason: "WaitingForNamespace", message: "" },
  ]);
  const deleting = {
    ...healthy,
    metadata: { ...healthy.metadata, deletionTimestamp: DELETION_REQUESTED },
  };
  return [
    {
      name: "healthy-every-component-ready",
      object: plain(healthy),
      want: { status: "Healthy", message: "Ready: every component is ready" },
    },
    {
      name: "suspended-spec",
      object: plain(
        observed(tenant({ suspended: true }), {
          suspension: {
            reason: "Spec",
            message: "spec.suspended is true: new workloads are refused",
          },
        }),
      ),
      want: {
        status: "Suspended",
        message: "Suspended: spec.suspended is true: new workloads are refused",
      },
    },
    {
      name: "suspended-payment-failed",
      object: plain(
        observed(tenant(), {
          outcomes: {
            ...provisioned,
            Billing: { status: "False", reason: "PaymentFailed", message: "invoice in_123 failed" },
          },
          subscriptionStatus: "past_due",
          suspension: {
            reason: "PaymentFailed",
            message: "payment of invoice in_123 failed: new workloads are refused until it is paid",
          },
        }),
      ),
      want: {
        status: "Suspended",
        message:
          "PaymentFailed: payment of invoice in_123 failed: new workloads are refused until it is paid",
      },
    },
    {
      name: "degraded-component-failed",
      object: plain(
        observed(tenant(), {
          outcomes: {
            ...provisioned,
            Database: {
              status: "False",
              reason: "DatabaseUnavailable",
              message: "connect ECONNREFUSED 10.0.0.7:5432",
            },
          },
        }),
      ),
      want: {
        status: "Degraded",
        message:
          "ComponentsNotReady: Database: DatabaseUnavailable (connect ECONNREFUSED 10.0.0.7:5432)",
      },
    },
    {
      // Discord failing does not stop admission (ADR 0077): Ready stays True, Degraded says why.
      name: "healthy-degraded-discord-failing",
      object: plain(
        observed(tenant(), {
          namespace: "tenant-acme",
          subscriptionStatus: "active",
          outcomes: {
            ...provisioned,
            Discord: {
              status: "False",
              reason: "DiscordUnavailable",
              message: "503 Service Unavailable",
            },
          },
        }),
      ),
      want: {
        status: "Healthy",
        message: "ReadyDegraded: new workloads are admitted; degraded: Discord",
      },
    },
    {
      name: "progressing-components-waiting",
      object: plain(
        observed(tenant(), {
          outcomes: {
            ...(Object.fromEntries(waiting) as Partial<Record<ComponentName, ComponentOutcome>>),
            Namespace: provisioned.Namespace,
          },
        }),
      ),
      want: {
        status: "Progressing",
        message:
          "ComponentsNotReady: Quota: WaitingForNamespace; Network: WaitingForNamespace; Database: WaitingForNamespace; Cache: WaitingForNamespace; Billing: WaitingForNamespace",
      },
    },
    {
      name: "progressing-teardown",
      object: plain(
        observed(deleting, {
          outcomes: {},
          suspension: { reason: "Deleting", message: "the tenant is being deleted" },
          teardownStep: "EraseDatabase" satisfies (typeof TEARDOWN_STEPS)[number],
        }),
      ),
      want: { status: "Progressing", message: "being deleted: teardown: EraseDatabase" },
    },
    ...lifecycleCases(healthy, TENANT_FINALIZER),
  ];
}
