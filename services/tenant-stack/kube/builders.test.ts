import { describe, expect, it } from "@jest/globals";
import { connectionAllowed, type PodRef } from "../../../test/harness/network-policy-eval.ts";
import { PLANS } from "../plans.ts";
import { isSubset, needsApply } from "./compare.ts";
import { desiredTenantObjects } from "./desired.ts";
import { TENANT_LABEL } from "./names.ts";
import { buildNamespace, buildOwnerBindings } from "./namespace.ts";
import { buildNetworkPolicies, DEFAULT_NETWORK_CONFIG } from "./network.ts";
import { buildLimitRange, buildResourceQuota } from "./quota.ts";
import type { TenantRef } from "./tenant-ref.ts";

const tenant = (name: string, spec: Partial<TenantRef["spec"]> = {}): TenantRef => ({
  name,
  uid: "0b6a9d1e-3c1f-4f51-8a57-0a5a3b7f1c11",
  spec: { plan: "starter", ...spec },
});

describe("namespace", () => {
  it("is tenant-<name>, labelled with the tenant and owned by the Tenant", () => {
    const ns = buildNamespace(tenant("acme"));
    expect(ns.metadata.name).toBe("tenant-acme");
    expect(ns.metadata.labels?.[TENANT_LABEL]).toBe("acme");
    expect(ns.metadata.ownerReferences).toEqual([
      expect.objectContaining({ kind: "Tenant", name: "acme", controller: true }),
    ]);
  });
});

describe("quota", () => {
  it.each([
    ["free", {}, { cpu: "2", gpu: "1", pods: "10" }],
    ["starter", {}, { cpu: "8", gpu: "4", pods: "50" }],
    ["pro", {}, { cpu: "32", gpu: "16", pods: "200" }],
    ["enterprise", {}, { cpu: "128", gpu: "64", pods: "1000" }],
    ["starter", { maxGpus: 9 }, { cpu: "8", gpu: "9", pods: "50" }],
    ["pro", { maxGpus: 0 }, { cpu: "32", gpu: "0", pods: "200" }],
  ] as const)("plan %s with overrides %j", (plan, quotas, want) => {
    const q = buildResourceQuota(tenant("acme", { plan, quotas }));
    expect(q.metadata.namespace).toBe("tenant-acme");
    expect((q.spec as { hard: Record<string, string> }).hard).toEqual({
      "requests.cpu": want.cpu,
      "requests.memory": PLANS[plan].memory,
      pods: want.pods,
      "requests.nvidia.com/gpu": want.gpu,
    });
  });

  it("gives containers without requests the plan's defaults (wire field `default`)", () => {
    const lr = buildLimitRange(tenant("acme", { plan: "pro" }));
    expect(lr.spec).toEqual({
      limits: [
        {
          type: "Container",
          defaultRequest: { cpu: "500m", memory: "1Gi" },
          default: { memory: "1Gi" },
        },
      ],
    });
  });
});

describe("owner RBAC", () => {
  it.each([
    [undefined, []],
    [
      [
        { kind: "User" as const, name: "alice@example.com" },
        { kind: "Group" as const, name: "acme-admins" },
      ],
      [
        { apiGroup: "rbac.authorization.k8s.io", kind: "User", name: "alice@example.com" },
        { apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: "acme-admins" },
      ],
    ],
  ])("owners %j → subjects %j on both bindings", (owners, wantSubjects) => {
    const bindings = buildOwnerBindings(tenant("acme", owners ? { owners } : {}));
    expect(bindings.map((b) => b.roleRef)).toEqual([
      { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "admin" },
      { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "vaultmesh-tenant-owner" },
    ]);
    for (const b of bindings) expect(b.subjects).toEqual(wantSubjects);
  });

  it("grants owners read-only access to Receipts", () => {
    const role = desiredTenantObjects(tenant("acme"), DEFAULT_NETWORK_CONFIG).namespace.find(
      (o) => o.kind === "Role",
    );
    const rules = role?.rules as { resources: string[]; verbs: string[] }[];
    const receiptRules = rules.filter((r) => r.resources.includes("receipts"));
    expect(receiptRules.flatMap((r) => r.verbs).sort()).toEqual(["get", "list", "watch"]);
  });
});

describe("network policies", () => {
  const nsLabels = (ns: string, tenantName?: string): Record<string, string> => ({
    "kubernetes.io/metadata.name": ns,
    ...(tenantName ? { [TENANT_LABEL]: tenantName } : {}),
  });
  const pod = (ns: string, ip: string, tenantName?: string, labels = {}): PodRef => ({
    namespace: ns,
    namespaceLabels: nsLabels(ns, tenantName),
    labels,
    ip,
  });
  const policies = [...buildNetworkPolicies("a"), ...buildNetworkPolicies("b")];
  const a1 = pod("tenant-a", "10.244.1.1", "a", { app: "x" });
  const a2 = pod("tenant-a", "10.244.1.2", "a", { app: "y" });
  const b1 = pod("tenant-b", "10.244.2.1", "b");
  const operator = pod("vaultmesh-system", "10.244.3.1");
  const dns = pod("kube-system", "10.244.0.10", undefined, { "k8s-app": "kube-dns" });
  const other = pod("default", "10.244.4.1");
  const internet = pod("(external)", "93.184.216.34");

  it.each([
    ["within the tenant namespace", a1, a2, true],
    ["tenant a → tenant b", a1, b1, false],
    ["tenant b → tenant a", b1, a1, false],
    ["operator → tenant", operator, a1, true],
    ["tenant → platform (bridge)", a1, operator, true],
    ["tenant → DNS", a1, dns, true],
    ["other namespace → tenant", other, a1, false],
    ["tenant → other namespace", a1, other, false],
    ["tenant → internet", a1, internet, true],
  ])("%s: allowed=%s", (_what, src, dst, want) => {
    expect(connectionAllowed(policies, src, dst)).toBe(want);
  });

  it("never selects a tenant namespace by any namespace selector", () => {
    const selectors = JSON.stringify(policies).match(/"namespaceSelector":\{[^}]*\}[^}]*\}/g);
    expect(selectors).not.toBeNull();
    for (const s of selectors ?? []) expect(s).not.toMatch(/tenant-/);
  });

  it("blocks internet egress when disabled", () => {
    const cfg = { ...DEFAULT_NETWORK_CONFIG, allowInternetEgress: false };
    expect(connectionAllowed(buildNetworkPolicies("a", cfg), a1, internet)).toBe(false);
  });

  it("refuses a tenant namespace as a platform namespace", () => {
    const cfg = { ...DEFAULT_NETWORK_CONFIG, platformNamespaces: ["tenant-b"] };
    expect(() => buildNetworkPolicies("a", cfg)).toThrow(/platformNamespaces.*tenant namespace/);
  });
});

describe("needsApply", () => {
  const desired = { metadata: { name: "q", labels: { a: "1" } }, spec: { hard: { pods: "10" } } };
  it.each([
    ["absent", undefined, true],
    ["identical", desired, false],
    [
      "extra server-set fields",
      {
        metadata: { name: "q", labels: { a: "1", b: "2" }, uid: "u" },
        spec: { hard: { pods: "10" } },
        status: {},
      },
      false,
    ],
    [
      "changed value",
      { metadata: { name: "q", labels: { a: "1" } }, spec: { hard: { pods: "11" } } },
      true,
    ],
    ["missing label", { metadata: { name: "q" }, spec: { hard: { pods: "10" } } }, true],
  ])("%s → %s", (_what, live, want) => {
    expect(needsApply(desired, live)).toBe(want);
  });

  it.each([
    [[], undefined, true],
    [[1], [1, 2], false],
    [[{ a: 1 }], [{ a: 1, b: 2 }], true],
  ])("lists: %j ⊆ %j is %s", (d, l, want) => {
    expect(isSubset(d, l)).toBe(want);
  });
});
