/**
 * A small evaluator of Kubernetes NetworkPolicy semantics (networking.k8s.io/v1), used to
 * assert what generated policies allow: which peers a pod may receive connections from or
 * open connections to. Ports are ignored (a peer is allowed when any port is). IPv4 only.
 */

/** A pod as the evaluator sees it: its namespace (name and labels), its labels and IP. */
export interface PodRef {
  readonly namespace: string;
  readonly namespaceLabels: Readonly<Record<string, string>>;
  readonly labels: Readonly<Record<string, string>>;
  readonly ip: string;
}

interface Selector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}
interface Peer {
  podSelector?: Selector;
  namespaceSelector?: Selector;
  ipBlock?: { cidr: string; except?: string[] };
}
interface Policy {
  metadata: { namespace?: string };
  spec: {
    podSelector: Selector;
    policyTypes?: string[];
    ingress?: { from?: Peer[] }[];
    egress?: { to?: Peer[] }[];
  };
}

/** True when `labels` match a label selector (an empty selector matches everything). */
export function selectorMatches(sel: Selector, labels: Readonly<Record<string, string>>): boolean {
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const val = labels[e.key];
    const inValues = has && (e.values ?? []).includes(val ?? "");
    const ok =
      e.operator === "In"
        ? inValues
        : e.operator === "NotIn"
          ? !inValues
          : e.operator === "Exists"
            ? has
            : e.operator === "DoesNotExist"
              ? !has
              : false;
    if (!ok) return false;
  }
  return true;
}

function ipToInt(ip: string): number {
  return ip.split(".").reduce((a, o) => (a << 8) + Number(o), 0) >>> 0;
}

/** True when IPv4 `ip` lies in `cidr`. */
export function inCidr(ip: string, cidr: string): boolean {
  const [base, bits] = cidr.split("/");
  const n = Number(bits ?? 32);
  const mask = n === 0 ? 0 : (~0 << (32 - n)) >>> 0;
  return (ipToInt(ip) & mask) === (ipToInt(base ?? "0.0.0.0") & mask);
}

function peerMatches(peer: Peer, policyNs: string, other: PodRef): boolean {
  if (peer.ipBlock) {
    return (
      inCidr(other.ip, peer.ipBlock.cidr) &&
      !(peer.ipBlock.except ?? []).some((c) => inCidr(other.ip, c))
    );
  }
  const nsOk = peer.namespaceSelector
    ? selectorMatches(peer.namespaceSelector, other.namespaceLabels)
    : other.namespace === policyNs;
  const podOk = peer.podSelector ? selectorMatches(peer.podSelector, other.labels) : true;
  return nsOk && podOk;
}

function types(p: Policy): string[] {
  if (p.spec.policyTypes) return p.spec.policyTypes;
  return p.spec.egress ? ["Ingress", "Egress"] : ["Ingress"];
}

function allowed(
  policies: readonly unknown[],
  pod: PodRef,
  other: PodRef,
  dir: "Ingress" | "Egress",
): boolean {
  const applying = (policies as Policy[]).filter(
    (p) =>
      (p.metadata.namespace ?? pod.namespace) === pod.namespace &&
      selectorMatches(p.spec.podSelector, pod.labels) &&
      types(p).includes(dir),
  );
  if (applying.length === 0) return true;
  return applying.some((p) => {
    const rules = dir === "Ingress" ? (p.spec.ingress ?? []) : (p.spec.egress ?? []);
    return rules.some((r) => {
      const peers = dir === "Ingress" ? (r as { from?: Peer[] }).from : (r as { to?: Peer[] }).to;
      return (
        peers === undefined ||
        peers.length === 0 ||
        peers.some((peer) => peerMatches(peer, pod.namespace, other))
      );
    });
  });
}

/**
 * True when a connection from `src` to `dst` is allowed: by `dst`'s namespace's policies for
 * ingress and by `src`'s namespace's policies for egress.
 */
export function connectionAllowed(policies: readonly unknown[], src: PodRef, dst: PodRef): boolean {
  return allowed(policies, dst, src, "Ingress") && allowed(policies, src, dst, "Egress");
}
