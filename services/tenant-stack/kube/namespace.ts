/** Builds the tenant's namespace, its workload ServiceAccount and the owners' RBAC. */
import type { V1PolicyRule, RbacV1Subject } from "@kubernetes/client-node";
import { API_VERSION, GROUP } from "../../../crds/constants.ts";
import {
  TENANT_LABEL,
  TenantObjectNames,
  tenantApiIdentity,
  tenantLabels,
  tenantNamespace,
} from "./names.ts";
import type { TenantRef } from "./tenant-ref.ts";
import type { WireObject } from "./wire.ts";

/**
 * Builds namespace `tenant-<name>`, owned by the Tenant (a safety net: the finalizer deletes it
 * first) and labelled for Pod Security `baseline`.
 */
export function buildNamespace(t: TenantRef): WireObject {
  return {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: {
      name: tenantNamespace(t.name),
      labels: {
        ...tenantLabels(t.name),
        "pod-security.kubernetes.io/enforce": "baseline",
      },
      ownerReferences: [
        { apiVersion: API_VERSION, kind: "Tenant", name: t.name, uid: t.uid, controller: true },
      ],
    },
  };
}

/** Builds the ServiceAccount tenant workloads run as; it carries no API token by default. */
export function buildServiceAccount(t: TenantRef): WireObject {
  return {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: {
      name: TenantObjectNames.serviceAccount,
      namespace: tenantNamespace(t.name),
      labels: tenantLabels(t.name),
    },
    automountServiceAccountToken: false,
  };
}

/**
 * Builds the owners' Role: full control of GPUWorkloads, read-only Receipts (a Receipt is a
 * signed record; only the operator writes it).
 */
export function buildOwnerRole(t: TenantRef): WireObject {
  return {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "Role",
    metadata: {
      name: TenantObjectNames.ownerRole,
      namespace: tenantNamespace(t.name),
      labels: tenantLabels(t.name),
    },
    rules: OWNER_RULES,
  };
}

const OWNER_RULES: readonly V1PolicyRule[] = [
  {
    apiGroups: [GROUP],
    resources: ["gpuworkloads"],
    verbs: ["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"],
  },
  {
    apiGroups: [GROUP],
    resources: ["gpuworkloads/status", "receipts", "receipts/status"],
    verbs: ["get", "list", "watch"],
  },
];

function subjects(t: TenantRef): RbacV1Subject[] {
  return (t.spec.owners ?? []).map((o) => ({
    apiGroup: "rbac.authorization.k8s.io",
    kind: o.kind ?? "User",
    name: o.name,
  }));
}

/**
 * Builds the owners' two RoleBindings: the built-in `admin` ClusterRole in their namespace and
 * the VaultMesh owner Role. With no owners the bindings exist with no subjects.
 */
export function buildOwnerBindings(t: TenantRef): WireObject[] {
  const ns = tenantNamespace(t.name);
  const subs = subjects(t);
  const binding = (name: string, kind: "ClusterRole" | "Role", role: string): WireObject => ({
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata: { name, namespace: ns, labels: tenantLabels(t.name) },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind, name: role },
    subjects: subs,
  });
  return [
    binding(TenantObjectNames.adminBinding, "ClusterRole", "admin"),
    binding(TenantObjectNames.ownerBinding, "Role", TenantObjectNames.ownerRole),
  ];
}

/**
 * Builds the binding of the owner Role to the tenant API's group (the identity the bridge
 * impersonates for this tenant's API keys), so an API call can do what an owner's VaultMesh
 * Role allows and nothing in another namespace.
 */
export function buildApiBinding(t: TenantRef): WireObject {
  return {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata: {
      name: TenantObjectNames.apiBinding,
      namespace: tenantNamespace(t.name),
      labels: tenantLabels(t.name),
    },
    roleRef: {
      apiGroup: "rbac.authorization.k8s.io",
      kind: "Role",
      name: TenantObjectNames.ownerRole,
    },
    subjects: [
      {
        apiGroup: "rbac.authorization.k8s.io",
        kind: "Group",
        name: tenantApiIdentity(t.name).group,
      },
    ],
  };
}

/** Returns the tenant a namespace belongs to, from its label, or undefined. */
export function tenantOfNamespace(ns: {
  readonly metadata?: { readonly labels?: Readonly<Record<string, string>> };
}): string | undefined {
  return ns.metadata?.labels?.[TENANT_LABEL];
}
