// Plain constants of the vaultmesh.cloud API: group, version, enumerations, condition types,
// patterns. No zod here: the operator and other processes that only need names and values
// import this file and never load the schemas (docs/adr/0025-operator-memory.md). The schema
// files import these; crds/index.ts re-exports everything.

/** API group of every VaultMesh kind. */
export const GROUP = "vaultmesh.cloud";

/** API version served (and stored) for every VaultMesh kind. */
export const VERSION = "v1alpha1";

/** The `apiVersion` field value of every VaultMesh object. */
export const API_VERSION = `${GROUP}/${VERSION}`;

/** The category every VaultMesh kind belongs to (`kubectl get vaultmesh -A`). */
export const CATEGORY = "vaultmesh";

/** RFC 1123 DNS label: lowercase alphanumerics and '-', starting and ending alphanumeric. */
export const DNS_LABEL_PATTERN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** RFC 1123 DNS subdomain: dot-separated DNS labels. */
export const DNS_SUBDOMAIN_PATTERN =
  /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Kubernetes qualified name (label key, taint key, resource name): optional DNS prefix + name. */
export const QUALIFIED_NAME_PATTERN =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)$/;

/** Kubernetes label value: empty, or alphanumerics with '-', '_' and '.' inside. */
export const LABEL_VALUE_PATTERN = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** Kubernetes resource quantity without sign (e.g. `500m`, `4`, `16Gi`, `1e3`). */
export const QUANTITY_PATTERN =
  /^(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$/;

/** Lowercase hex SHA-256 (64 characters), as used for Merkle leaf and root hashes. */
export const SHA256_HEX_PATTERN = /^[0-9a-f]{64}$/;

/** An http(s) URL without whitespace. */
export const HTTP_URL_PATTERN = /^https?:\/\/[^\s/?#]+([/?#][^\s]*)?$/;

/** A signed-note key name (a log origin, a witness name): non-empty, no whitespace, no `+`. */
export const NOTE_KEY_NAME_PATTERN = /^[^\s+]+$/;

/**
 * A C2SP cosignature/v1 verifier key: `<name>+<8 hex key hash>+<base64 of 0x04 || 32-byte
 * Ed25519 key>` (the base64 of a 0x04 first byte starts with `B`).
 */
export const COSIGNER_VKEY_PATTERN = /^[^\s+]+\+[0-9a-f]{8}\+B[A-Za-z0-9+/]{43}$/;

/** GPU types VaultMesh prices and schedules; an unknown type is refused by the apiserver. */
export const GPU_TYPES = [
  "t4",
  "l4",
  "a10g",
  "l40s",
  "v100",
  "a100-40gb",
  "a100-80gb",
  "h100",
  "h200",
  "b200",
  "rtx3090",
  "rtx4090",
  "mi250x",
  "mi300x",
] as const;

/** Condition types a FederationPeer reports. */
export const FederationPeerConditionType = {
  Reachable: "Reachable",
  Consistent: "Consistent",
  Synced: "Synced",
  Ready: "Ready",
} as const;

/** Condition types a GPUWorkload reports. */
export const GPUWorkloadConditionType = {
  Admitted: "Admitted",
  Routed: "Routed",
  Running: "Running",
  Complete: "Complete",
  Failed: "Failed",
  Ready: "Ready",
  /**
   * False while a reconcile fails, with the failure's reason ({@link ReconciledReason}) and
   * message; removed by the next reconcile that succeeds (docs/adr/0091).
   */
  Reconciled: "Reconciled",
} as const;

/** Reasons of a `Reconciled` condition (status False: the last reconcile failed). */
export const ReconciledReason = {
  /** The API server refused a request (the message carries its status and text). */
  ApiError: "ApiError",
  /** A dependency (the ledger's database) is away. */
  DependencyUnavailable: "DependencyUnavailable",
  /** Any other error. */
  ReconcileFailed: "ReconcileFailed",
} as const;

/** Routing strategies: how candidate treaties are scored. */
export const ROUTING_STRATEGIES = ["balanced", "cheapest", "fastest"] as const;

/**
 * The strategy of a workload that names none (the CRD default, the router's fallback). The
 * routing war-game's sweep kept it: no strategy filled at least as well in every scenario at
 * equal or lower cost (docs/adr/0131-routing-default-kept-balanced.md, docs/wargame/).
 */
export const DEFAULT_ROUTING_STRATEGY = "balanced" satisfies (typeof ROUTING_STRATEGIES)[number];

/** Workload profiles: the shape of the load, used by the router. */
export const WORKLOAD_PROFILES = ["batch", "steady", "bursty"] as const;

/** Condition types a Receipt reports. */
export const ReceiptConditionType = {
  Logged: "Logged",
  Timestamped: "Timestamped",
  Verified: "Verified",
} as const;

/** Reasons of a Receipt's conditions (Logged, Timestamped, Verified). */
export const ReceiptReason = {
  /** Logged True: the receipt is in the Merkle log at `status.logIndex`. */
  Appended: "Appended",
  /** Logged, Timestamped and Verified False: the ledger has no entry with this receipt's digest. */
  NotInLedger: "NotInLedger",
  /** Logged and Verified False: the ledger's entry at the recorded index is another leaf. */
  LeafMismatch: "LeafMismatch",
  /** Timestamped True: a tree head covering the receipt carries an RFC 3161 token. */
  Stamped: "Stamped",
  /** Timestamped False: no time-stamped tree head covers the receipt yet. */
  Pending: "Pending",
  /** Timestamped False: the ledger has no timestamp authority configured. */
  NoTimestampAuthority: "NoTimestampAuthority",
  /** Verified True: digest, signatures and inclusion proof all check. */
  Proven: "Proven",
  /** Verified False: the spec does not hash to its digest. */
  DigestMismatch: "DigestMismatch",
  /** Verified False: a signature does not verify against a trusted key. */
  BadSignature: "BadSignature",
  /** Verified False: the ledger's signed tree head does not verify. */
  BadTreeHead: "BadTreeHead",
  /** Verified False: the inclusion or consistency proof does not check. */
  ProofFailed: "ProofFailed",
} as const;

/** What a receipt records. */
export const RECEIPT_TYPES = [
  "WorkloadCompleted",
  "WorkloadFailed",
  "PolicyDenied",
  "DeploymentRecorded",
  "FederationSynced",
  "FederationInconsistent",
  "TenantDeleted",
] as const;

/** Signature algorithms of receipts. */
export const SIGNATURE_ALGORITHMS = ["Ed25519", "OpenPGP"] as const;

/** The CEL rule that makes a Receipt's spec immutable. */
export const RECEIPT_SPEC_IMMUTABLE_RULE = "self == oldSelf";

/**
 * Condition types a Tenant reports: one per stack component, Ready (new workloads are
 * admitted) and Degraded (a component that does not gate admission is failing).
 */
export const TenantConditionType = {
  Namespace: "Namespace",
  Quota: "Quota",
  Network: "Network",
  Database: "Database",
  Cache: "Cache",
  Billing: "Billing",
  Discord: "Discord",
  Ready: "Ready",
  Degraded: "Degraded",
} as const;

/**
 * The Tenant components a workload needs to run safely: until each is True the tenant is not
 * Ready and the admission webhook refuses its new workloads. Discord never gates; Billing gates
 * only until the tenant's Stripe customer exists (docs/adr/0077-tenant-degraded-admission.md).
 */
export const TENANT_ADMISSION_COMPONENTS = [
  "Namespace",
  "Quota",
  "Network",
  "Database",
  "Cache",
] as const;

/** Reasons of a Tenant's Ready condition. */
export const TenantReadyReason = {
  /** Every component is True. */
  Ready: "Ready",
  /** Every admission component is True; a component that does not gate admission is failing. */
  ReadyDegraded: "ReadyDegraded",
  /** A component that gates admission is not True (or not reconciled yet). */
  ComponentsNotReady: "ComponentsNotReady",
  /** spec.suspended is true. */
  Suspended: "Suspended",
  /** The finalizer is tearing the stack down. */
  Deleting: "Deleting",
} as const;

/** Reasons of a Tenant's Degraded condition. */
export const TenantDegradedReason = {
  /** Nothing is degraded (status False). */
  AsExpected: "AsExpected",
  /** Discord is failing: notices and slash-command updates wait and are retried. */
  DiscordFailing: "DiscordFailing",
  /** Stripe is failing after the customer exists: metering and plan sync are retried. */
  BillingFailing: "BillingFailing",
  /** Both of the above. */
  DiscordAndBillingFailing: "DiscordAndBillingFailing",
} as const;

/**
 * Reasons of a Tenant's component conditions (Namespace, Quota, Network, Database, Cache,
 * Billing, Discord). A False reason names what failed; the message says how.
 */
export const TenantComponentReason = {
  /** Any component: turned off in the operator's configuration (True, skipped). */
  Disabled: "Disabled",
  /** Namespace, Database, Cache: created and up to date. */
  Provisioned: "Provisioned",
  /** Quota: the ResourceQuota and LimitRange are applied. */
  Enforced: "Enforced",
  /** Network: the NetworkPolicies are applied. */
  Isolated: "Isolated",
  /** Namespace: the namespace is being deleted. */
  NamespaceTerminating: "NamespaceTerminating",
  /** Quota, Network, Database, Cache: waiting for the namespace. */
  WaitingForNamespace: "WaitingForNamespace",
  /** Namespace, Quota, Network: server-side apply failed. */
  ApplyFailed: "ApplyFailed",
  /** Database: another tenant row holds the name. */
  NameConflict: "NameConflict",
  /** Database, Billing: Postgres is unreachable. */
  DatabaseUnavailable: "DatabaseUnavailable",
  /** Database: the tenant's API key Secret could not be written. */
  ApiKeyFailed: "ApiKeyFailed",
  /** Cache: Redis is unreachable or refused the ACL user. */
  CacheUnavailable: "CacheUnavailable",
  /** Billing: a free plan without billing details. */
  NotRequired: "NotRequired",
  /** Billing: waiting for the tenant's database row. */
  WaitingForDatabase: "WaitingForDatabase",
  /** Billing: a Stripe customer without a subscription. */
  CustomerOnly: "CustomerOnly",
  /** Billing: the subscription is active or trialing. */
  Active: "Active",
  /** Billing: an invoice payment failed (gates admission). */
  PaymentFailed: "PaymentFailed",
  /** Billing: the subscription is past due (gates admission). */
  PastDue: "PastDue",
  /** Billing: the subscription is neither active nor past due (gates admission). */
  SubscriptionInactive: "SubscriptionInactive",
  /** Billing: the operator's Stripe configuration is wrong. */
  BillingMisconfigured: "BillingMisconfigured",
  /** Billing: Stripe is unreachable or failing. */
  StripeUnavailable: "StripeUnavailable",
  /** Billing: Stripe refused a request. */
  StripeRequestRefused: "StripeRequestRefused",
  /** Billing: any other failure. */
  BillingFailed: "BillingFailed",
  /** Discord: no guild bound in the spec. */
  NotConfigured: "NotConfigured",
  /** Discord: the guild and channel are bound. */
  GuildBound: "GuildBound",
  /** Discord: Discord is unreachable or refused the request. */
  DiscordUnavailable: "DiscordUnavailable",
} as const;

/**
 * Billing reasons that are a payment decision, not an outage: they gate admission even after
 * the Stripe customer exists (a past-due or unpaid tenant gets no new GPUs).
 */
export const TENANT_BILLING_GATING_REASONS = [
  "PaymentFailed",
  "PastDue",
  "SubscriptionInactive",
] as const;

/** Why a tenant is suspended (status.suspendedReason). */
export const TENANT_SUSPENSION_REASONS = ["Spec", "PaymentFailed", "Deleting"] as const;

/** Stripe subscription statuses, as Stripe spells them (Tenant `status.subscriptionStatus`). */
export const SUBSCRIPTION_STATUSES = [
  "incomplete",
  "incomplete_expired",
  "trialing",
  "active",
  "past_due",
  "canceled",
  "unpaid",
  "paused",
] as const;

/** Subscription plans. */
export const TENANT_PLANS = ["free", "starter", "pro", "enterprise"] as const;

/** Prefix of a tenant's namespace: tenant `acme` lives in namespace `tenant-acme`. */
export const TENANT_NAMESPACE_PREFIX = "tenant-";

/** Longest tenant name, so that `tenant-<name>` is still a DNS label (63 characters). */
export const TENANT_NAME_MAX_LENGTH = 63 - TENANT_NAMESPACE_PREFIX.length;

/** The `provider` value of a treaty with the cluster's own GPU pool. */
export const IN_CLUSTER_PROVIDER = "in-cluster";

/** Condition types a Treaty reports. */
export const TreatyConditionType = {
  Ready: "Ready",
  Degraded: "Degraded",
  Expired: "Expired",
} as const;

/**
 * Reasons of a Treaty's Ready condition. EndpointMissing and CredentialsMissing say the
 * provider cannot be reached as configured: the router never routes to such a treaty.
 */
export const TREATY_READY_REASONS = {
  /** Ready: in force and eligible for routing. */
  InForce: "InForce",
  Expired: "Expired",
  NotYetEffective: "NotYetEffective",
  Suspended: "Suspended",
  /** An external provider without spec.endpoint. */
  EndpointMissing: "EndpointMissing",
  /** spec.credentialsSecretRef names a Secret, or a key of it, that does not exist. */
  CredentialsMissing: "CredentialsMissing",
  /** An SLO is breached, the reputation is below the floor or the endpoint is unreachable. */
  Degraded: "Degraded",
} as const;

/** Reasons of a Treaty's Expired condition. */
export const TreatyExpiredReason = {
  /** True: past spec.expiryDate. */
  Expired: "Expired",
  /** False: not expired. */
  InForce: "InForce",
} as const;

/** Reasons of a Treaty's Degraded condition (True: the first of the problems found). */
export const TreatyDegradedReason = {
  /** False: every SLO holds. */
  WithinSLO: "WithinSLO",
  /** The endpoint does not answer the probe. */
  Unreachable: "Unreachable",
  /** The reputation measured from evidence is below spec.reputationFloor. */
  ReputationBelowFloor: "ReputationBelowFloor",
  /** Measured availability is below spec.slo.availability. */
  AvailabilityBelowSLO: "AvailabilityBelowSLO",
  /** p95 round trip is above spec.slo.maxLatencyMs. */
  LatencyAboveSLO: "LatencyAboveSLO",
  /**
   * False: availability fell below the SLO and the cool-down is over; the treaty is half-open,
   * routable for at most TREATY_PROBE_MAX_CONCURRENT_JOBS jobs that probe it (ADR 0134).
   */
  Probing: "Probing",
  /**
   * False: availability in the window is still below the SLO but enough probes succeeded: the
   * treaty is routable without the probe limit; its next failure ejects it again (ADR 0134).
   */
  Recovered: "Recovered",
} as const;

/**
 * Concurrent jobs the router gives a treaty whose Degraded condition is False with reason
 * Probing (half-open after an availability breach, ADR 0134), whatever its own quota allows.
 */
export const TREATY_PROBE_MAX_CONCURRENT_JOBS = 2;

// Text-field policy (docs/adr/0093-text-fields-at-the-api-boundary.md). The patterns below are
// written in the subset of regular-expression syntax that JavaScript and RE2 (the apiserver's
// engine) read alike, except `\uHHHH`, which hack/generate-crds.ts rewrites as RE2's
// `\x{HHHH}`: zod (webhooks) and the CRD (apiserver) then refuse exactly the same strings.

// C0 controls but TAB, LF and CR; DEL and the C1 controls; the bidirectional embeddings,
// overrides and isolates (LRE RLE PDF LRO RLO, LRI RLI FSI PDI — the Trojan Source set).
const FORBIDDEN_IN_TEXT = String.raw`\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F\u202A-\u202E\u2066-\u2069`;
// Additionally TAB, LF, CR, the line and paragraph separators and the invisible direction
// marks (ALM, LRM, RLM): a single-line value shown by `kubectl get` has no use for them.
const FORBIDDEN_IN_LINE = String.raw`${FORBIDDEN_IN_TEXT}\x09\x0A\x0D\u061C\u200E\u200F\u2028\u2029`;

/**
 * Multi-line free text (arguments, env values): anything but control characters other than
 * TAB, LF and CR, and the bidirectional embedding, override and isolate characters.
 */
export const TEXT_PATTERN = new RegExp(`^[^${FORBIDDEN_IN_TEXT}]*$`);

/**
 * Single-line text (display names, owner names, key ids, governance references): no control
 * character at all (TAB and line breaks included), no bidirectional control or mark.
 */
export const LINE_PATTERN = new RegExp(`^[^${FORBIDDEN_IN_LINE}]*$`);

// JavaScript's \s, spelled out: RE2's \s is ASCII-only, and both engines must agree.
const WHITESPACE = String.raw`\x09-\x0D\x20\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000\uFEFF`;

/** A single-line token without whitespace (a policy location), otherwise as {@link LINE_PATTERN}. */
export const TOKEN_PATTERN = new RegExp(`^[^${FORBIDDEN_IN_LINE}${WHITESPACE}]+$`);

// OCI image reference grammar (github.com/distribution/reference, reference.go):
//   reference := name [":" tag] ["@" digest];  name := [domain "/"] path
//   domain    := host [":" port];  host := domain-name | "[" IPv6 "]"
//   path      := path-component ("/" path-component)*;  path-component := [a-z0-9]+ (separator [a-z0-9]+)*
//   separator := [_.] | "__" | "-"+;  tag := [\w][\w.-]{0,127}
//   digest    := algorithm ":" hex{32,};  algorithm := [A-Za-z][A-Za-z0-9]* ([-_+.] [A-Za-z][A-Za-z0-9]*)*
const DOMAIN_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const IMAGE_HOST = String.raw`(?:${DOMAIN_COMPONENT}(?:\.${DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])`;
const IMAGE_DOMAIN = `${IMAGE_HOST}(?::[0-9]+)?`;
const PATH_COMPONENT = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
const IMAGE_NAME = `(?:${IMAGE_DOMAIN}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*`;
const IMAGE_TAG = String.raw`[\w][\w.-]{0,127}`;
const IMAGE_DIGEST = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}";

/**
 * A container image reference as Docker and containerd parse it (the distribution/reference
 * grammar): `[domain[:port]/]path[:tag][@digest]`, e.g. `ghcr.io/acme/train:1.4` or
 * `busybox@sha256:<64 hex>`. The repository path is lowercase; the domain may not be.
 */
export const IMAGE_REFERENCE_PATTERN = new RegExp(
  `^${IMAGE_NAME}(?::${IMAGE_TAG})?(?:@${IMAGE_DIGEST})?$`,
);

/** An e-mail address: `local@domain`, without whitespace, control or bidirectional characters. */
export const EMAIL_PATTERN = new RegExp(
  `^[^@${FORBIDDEN_IN_LINE}${WHITESPACE}]+@[^@${FORBIDDEN_IN_LINE}${WHITESPACE}]+$`,
);
