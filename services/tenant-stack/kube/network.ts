/**
 * Builds the tenant's NetworkPolicies: deny everything by default, then allow traffic inside
 * the namespace, ingress from the platform namespaces (operator, webhooks, bridge), DNS, and
 * egress to the platform and (optionally) the internet. No rule ever selects another tenant's
 * namespace, and every tenant namespace denies ingress from other tenants, so cross-tenant
 * traffic is refused at both ends.
 */
import { TENANT_NAMESPACE_PREFIX } from "../../../crds/constants.ts";
import { TenantObjectNames, tenantLabels, tenantNamespace } from "./names.ts";
import type { WireObject } from "./wire.ts";

/** Network settings from the operator's configuration. */
export interface TenantNetworkConfig {
  /**
   * Namespaces whose pods may reach tenant pods and be reached by them (operator, webhooks,
   * bridge). Matched by the apiserver-set `kubernetes.io/metadata.name` label, which a tenant
   * cannot forge. @default ["vaultmesh-system"]
   */
  readonly platformNamespaces: readonly string[];
  /** Namespace of the cluster DNS. @default "kube-system" */
  readonly dnsNamespace: string;
  /** Pod labels of the cluster DNS. @default {"k8s-app": "kube-dns"} */
  readonly dnsPodLabels: Readonly<Record<string, string>>;
  /**
   * Whether tenant pods may open connections to addresses outside the cluster (model
   * downloads, provider APIs). @default true
   */
  readonly allowInternetEgress: boolean;
  /**
   * CIDRs excluded from internet egress: the cluster's pod and service ranges, so that an
   * ipBlock can never be read as "any pod". @default ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]
   */
  readonly clusterCidrs: readonly string[];
}

/** The defaults of {@link TenantNetworkConfig}. */
export const DEFAULT_NETWORK_CONFIG: TenantNetworkConfig = {
  platformNamespaces: ["vaultmesh-system"],
  dnsNamespace: "kube-system",
  dnsPodLabels: { "k8s-app": "kube-dns" },
  allowInternetEgress: true,
  clusterCidrs: ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"],
};

/** Throws when the configuration would open a path between tenants. */
export function checkNetworkConfig(cfg: TenantNetworkConfig): void {
  for (const ns of [...cfg.platformNamespaces, cfg.dnsNamespace]) {
    if (ns.startsWith(TENANT_NAMESPACE_PREFIX)) {
      throw new Error(
        `network.platformNamespaces: ${JSON.stringify(ns)} is a tenant namespace; expected namespaces outside the ${TENANT_NAMESPACE_PREFIX}* range`,
      );
    }
  }
}

const NAME_LABEL = "kubernetes.io/metadata.name";

function policy(name: string, tenant: string, spec: Record<string, unknown>): WireObject {
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name, namespace: tenantNamespace(tenant), labels: tenantLabels(tenant) },
    spec: { podSelector: {}, ...spec },
  };
}

function platformPeer(cfg: TenantNetworkConfig): Record<string, unknown> {
  return {
    namespaceSelector: {
      matchExpressions: [
        { key: NAME_LABEL, operator: "In", values: [...cfg.platformNamespaces].sort() },
      ],
    },
  };
}

function egressRules(cfg: TenantNetworkConfig): Record<string, unknown>[] {
  const rules: Record<string, unknown>[] = [
    { to: [{ podSelector: {} }] },
    {
      to: [
        {
          namespaceSelector: { matchLabels: { [NAME_LABEL]: cfg.dnsNamespace } },
          podSelector: { matchLabels: { ...cfg.dnsPodLabels } },
        },
      ],
      ports: [
        { protocol: "UDP", port: 53 },
        { protocol: "TCP", port: 53 },
      ],
    },
  ];
  if (cfg.platformNamespaces.length > 0) rules.push({ to: [platformPeer(cfg)] });
  if (cfg.allowInternetEgress) {
    rules.push({ to: [{ ipBlock: { cidr: "0.0.0.0/0", except: [...cfg.clusterCidrs] } }] });
  }
  return rules;
}

/**
 * Builds the three NetworkPolicies of a tenant namespace: default-deny (ingress and egress),
 * allowed ingress and allowed egress.
 */
export function buildNetworkPolicies(
  tenant: string,
  cfg: TenantNetworkConfig = DEFAULT_NETWORK_CONFIG,
): WireObject[] {
  checkNetworkConfig(cfg);
  const ingressFrom: Record<string, unknown>[] = [{ podSelector: {} }];
  if (cfg.platformNamespaces.length > 0) ingressFrom.push(platformPeer(cfg));
  return [
    policy(TenantObjectNames.denyAll, tenant, { policyTypes: ["Ingress", "Egress"] }),
    policy(TenantObjectNames.allowIngress, tenant, {
      policyTypes: ["Ingress"],
      ingress: [{ from: ingressFrom }],
    }),
    policy(TenantObjectNames.allowEgress, tenant, {
      policyTypes: ["Egress"],
      egress: egressRules(cfg),
    }),
  ];
}
