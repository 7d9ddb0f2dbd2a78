// Renders the Validating/MutatingWebhookConfigurations from the webhook table: service-based
// for a cluster (config/webhook/, caBundle injected by the server at startup), URL-based for a
// server on this machine (make dev, tests, the bench), optionally scoped to test objects.
import { TENANT_LABEL } from "../crds/domain/labels.ts";
import { DEFAULT_GPU_RESOURCES, DEFAULT_GPU_TAINT_KEYS } from "./policies/pod.ts";
import { DEFAULT_OPERATOR_SERVICE_ACCOUNT } from "./policies/receipt.ts";
import { WEBHOOK_ENDPOINTS, type WebhookEndpoint } from "./endpoints.ts";

/** Namespaces no VaultMesh webhook ever intercepts (the control plane and VaultMesh itself). */
export const SYSTEM_NAMESPACES: readonly string[] = [
  "kube-system",
  "kube-public",
  "kube-node-lease",
  "vaultmesh-system",
];

/**
 * The identities kube-controller-manager's Job controller writes pods under: its own service
 * account with `--use-service-account-credentials` (kubeadm's default), else the controller
 * manager's own user (which every controller then shares, hence the Job controller reference
 * the condition also requires, ADR 0101).
 */
export const DEFAULT_JOB_CONTROLLERS: readonly string[] = [
  "system:serviceaccount:kube-system:job-controller",
  "system:kube-controller-manager",
];

/** Default names of the two configurations. */
export const CONFIGURATION_NAMES = {
  validating: "vaultmesh-validating",
  mutating: "vaultmesh-mutating",
} as const;

/** Where the apiserver reaches the server. */
export type WebhookTarget =
  | {
      readonly service: {
        readonly namespace: string;
        readonly name: string;
        readonly port?: number;
      };
    }
  | { readonly url: string };

/** Options of {@link renderWebhookConfigurations}. */
export interface RenderOptions {
  readonly target: WebhookTarget;
  /** PEM of the CA that signed the server's certificate; omitted → injected later. */
  readonly caBundlePem?: string;
  /** Appended to the configuration names (tests register their own copies). */
  readonly nameSuffix?: string;
  /**
   * Limits every entry to test objects: namespaced kinds to namespaces with this label,
   * cluster-scoped kinds to objects with it, on top of the production selection.
   */
  readonly testScope?: { readonly key: string; readonly value: string };
  /** Only these entries (by name). @default all */
  readonly only?: readonly string[];
  readonly gpuResources?: readonly string[];
  readonly gpuTaintKeys?: readonly string[];
  /**
   * The identities that may create GPU Jobs (the server's `gpuJobCreators`, same source): the
   * Job guard allows all their requests, so the apiserver does not call it for them (ADR 0101).
   * @default [DEFAULT_OPERATOR_SERVICE_ACCOUNT]
   */
  readonly gpuJobCreators?: readonly string[];
  /**
   * The Job controller's identities: their writes of pods controlled by a Job skip the pod
   * guard, the Job guard having checked the template they come from (ADR 0101). Empty: every
   * GPU pod goes to the webhook. @default DEFAULT_JOB_CONTROLLERS
   */
  readonly jobControllers?: readonly string[];
  /** Overrides failurePolicy/timeoutSeconds per entry name (the bench, experiments). */
  readonly overrides?: Readonly<
    Record<string, { failurePolicy?: "Fail" | "Ignore"; timeoutSeconds?: number }>
  >;
}

/** A label selector as the admissionregistration API takes it. */
export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

/** One webhook entry of a configuration (the fields VaultMesh sets). */
export interface WebhookEntry {
  name: string;
  clientConfig: {
    url?: string;
    service?: { namespace: string; name: string; path: string; port: number };
    caBundle?: string;
  };
  rules: {
    apiGroups: string[];
    apiVersions: string[];
    resources: string[];
    operations: string[];
    scope: string;
  }[];
  failurePolicy: "Fail" | "Ignore";
  matchPolicy: "Equivalent";
  sideEffects: "NoneOnDryRun";
  timeoutSeconds: number;
  admissionReviewVersions: string[];
  namespaceSelector?: LabelSelector;
  objectSelector?: LabelSelector;
  matchConditions?: { name: string; expression: string }[];
  reinvocationPolicy?: "Never";
}

/** A Validating- or MutatingWebhookConfiguration (a type alias, so it is a KubeObject). */
export type WebhookConfiguration = {
  apiVersion: "admissionregistration.k8s.io/v1";
  kind: "ValidatingWebhookConfiguration" | "MutatingWebhookConfiguration";
  metadata: { name: string; labels: Record<string, string> };
  webhooks: WebhookEntry[];
};

/** CEL that is false for an UPDATE leaving the spec unchanged (metadata-only updates). */
export const SPEC_UPDATES_ONLY = "request.operation != 'UPDATE' || object.spec != oldObject.spec";

const quote = (s: string): string => `'${s.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`;

/** Where a Job keeps its pod spec, for {@link gpuPodCondition}. */
export const JOB_POD_SPEC = "object.spec.template.spec";

// The controller owner references of `o` (at most one), as a list CEL can compare.
const controllerRefs = (o: string): string =>
  `(has(${o}.metadata.ownerReferences) ? ${o}.metadata.ownerReferences.filter(r, has(r.controller) && r.controller) : [])`;

/**
 * CEL that is false for an UPDATE changing neither the spec nor the controller reference
 * (labels, annotations, finalizers, other owners).
 */
export const SPEC_OR_CONTROLLER_UPDATES_ONLY = `request.operation != 'UPDATE' || object.spec != oldObject.spec || ${controllerRefs("object")} != ${controllerRefs("oldObject")}`;

const celList = (items: readonly string[]): string => `[${items.map(quote).join(", ")}]`;

/** CEL that is false for a request made by one of `users`. */
export function notFromUsers(users: readonly string[]): string {
  return `!(request.userInfo.username in ${celList(users)})`;
}

/** CEL that is true when the object's controller reference is a batch/v1 Job. */
export const CONTROLLED_BY_JOB =
  "has(object.metadata.ownerReferences) && object.metadata.ownerReferences.exists(r, has(r.controller) && r.controller && r.apiVersion == 'batch/v1' && r.kind == 'Job')";

/**
 * CEL that is false for a write by one of `jobControllers` of a pod whose controller is a Job:
 * the pods the Job controller makes from a Job's template.
 */
export function notJobControllerPod(jobControllers: readonly string[]): string {
  return `!(request.userInfo.username in ${celList(jobControllers)} && ${CONTROLLED_BY_JOB})`;
}

/**
 * CEL that is true for a pod spec (at `spec`: a Pod's `object.spec`, a Job's
 * {@link JOB_POD_SPEC}) requesting one of `resources` or tolerating one of `taintKeys`.
 */
export function gpuPodCondition(
  resources: readonly string[] = DEFAULT_GPU_RESOURCES,
  taintKeys: readonly string[] = DEFAULT_GPU_TAINT_KEYS,
  spec = "object.spec",
): string {
  const inList = (m: string): string =>
    resources.map((r) => `${quote(r)} in c.resources.${m}`).join(" || ");
  const container =
    `has(c.resources) && ((has(c.resources.limits) && (${inList("limits")})) || ` +
    `(has(c.resources.requests) && (${inList("requests")})))`;
  const keys = `[${taintKeys.map(quote).join(", ")}]`;
  const toleration = `(has(t.key) && t.key != '' ? t.key in ${keys} : (has(t.operator) && t.operator == 'Exists'))`;
  return [
    `${spec}.containers.exists(c, ${container})`,
    `(has(${spec}.initContainers) && ${spec}.initContainers.exists(c, ${container}))`,
    `(has(${spec}.tolerations) && ${spec}.tolerations.exists(t, ${toleration}))`,
  ].join(" || ");
}

function selectors(
  e: WebhookEndpoint,
  opts: RenderOptions,
): Pick<WebhookEntry, "namespaceSelector" | "objectSelector"> {
  const scope = opts.testScope;
  if (e.scope === "Cluster") {
    return scope ? { objectSelector: { matchLabels: { [scope.key]: scope.value } } } : {};
  }
  const ns: LabelSelector = {
    matchExpressions: [
      { key: "kubernetes.io/metadata.name", operator: "NotIn", values: [...SYSTEM_NAMESPACES] },
    ],
  };
  if (e.selection === "tenant-namespaces") {
    ns.matchExpressions?.push({ key: TENANT_LABEL, operator: "Exists" });
  }
  if (scope) ns.matchLabels = { [scope.key]: scope.value };
  return { namespaceSelector: ns };
}

function clientConfig(e: WebhookEndpoint, opts: RenderOptions): WebhookEntry["clientConfig"] {
  const caBundle = opts.caBundlePem ? Buffer.from(opts.caBundlePem).toString("base64") : undefined;
  const t = opts.target;
  const base =
    "url" in t
      ? { url: `${t.url.replace(/\/$/, "")}${e.path}` }
      : {
          service: {
            namespace: t.service.namespace,
            name: t.service.name,
            path: e.path,
            port: t.service.port ?? 443,
          },
        };
  return caBundle ? { ...base, caBundle } : base;
}

function entry(e: WebhookEndpoint, opts: RenderOptions): WebhookEntry {
  const o = opts.overrides?.[e.name] ?? {};
  const w: WebhookEntry = {
    name: e.name,
    clientConfig: clientConfig(e, opts),
    rules: [
      {
        apiGroups: [e.apiGroup],
        apiVersions: [e.apiVersion],
        resources: [e.resource],
        operations: [...e.operations],
        scope: e.scope,
      },
    ],
    failurePolicy: o.failurePolicy ?? e.failurePolicy,
    matchPolicy: "Equivalent",
    // Denials may be recorded as receipts, never on a dry run.
    sideEffects: "NoneOnDryRun",
    timeoutSeconds: o.timeoutSeconds ?? e.timeoutSeconds,
    admissionReviewVersions: ["v1"],
    ...selectors(e, opts),
  };
  const conditions: { name: string; expression: string }[] = [];
  if (e.gpuPodsOnly) {
    conditions.push({
      name: "gpu-pods-only",
      expression: gpuPodCondition(opts.gpuResources, opts.gpuTaintKeys),
    });
  }
  if (e.gpuJobsOnly) {
    conditions.push({
      name: "gpu-jobs-only",
      expression: gpuPodCondition(opts.gpuResources, opts.gpuTaintKeys, JOB_POD_SPEC),
    });
  }
  const creators = opts.gpuJobCreators ?? [DEFAULT_OPERATOR_SERVICE_ACCOUNT];
  if (e.skipGpuJobCreators && creators.length > 0) {
    conditions.push({ name: "not-gpu-job-creator", expression: notFromUsers(creators) });
  }
  const jobControllers = opts.jobControllers ?? DEFAULT_JOB_CONTROLLERS;
  if (e.skipJobControllerPods && jobControllers.length > 0) {
    conditions.push({
      name: "not-job-controller-pod",
      expression: notJobControllerPod(jobControllers),
    });
  }
  if (e.specUpdatesOnly) {
    conditions.push({ name: "spec-updates-only", expression: SPEC_UPDATES_ONLY });
  }
  if (e.specOrControllerUpdatesOnly) {
    conditions.push({
      name: "spec-or-controller-updates-only",
      expression: SPEC_OR_CONTROLLER_UPDATES_ONLY,
    });
  }
  if (conditions.length > 0) w.matchConditions = conditions;
  if (e.type === "mutating") w.reinvocationPolicy = "Never";
  return w;
}

/** Renders both configurations from {@link WEBHOOK_ENDPOINTS}. */
export function renderWebhookConfigurations(opts: RenderOptions): {
  validating: WebhookConfiguration;
  mutating: WebhookConfiguration;
} {
  const selected = WEBHOOK_ENDPOINTS.filter(
    (e) => opts.only === undefined || opts.only.includes(e.name),
  );
  const suffix = opts.nameSuffix ?? "";
  const labels = {
    "app.kubernetes.io/name": "vaultmesh",
    "app.kubernetes.io/component": "webhook",
  };
  const config = (
    kind: WebhookConfiguration["kind"],
    name: string,
    type: WebhookEndpoint["type"],
  ): WebhookConfiguration => ({
    apiVersion: "admissionregistration.k8s.io/v1",
    kind,
    metadata: { name: `${name}${suffix}`, labels },
    webhooks: selected.filter((e) => e.type === type).map((e) => entry(e, opts)),
  });
  return {
    validating: config(
      "ValidatingWebhookConfiguration",
      CONFIGURATION_NAMES.validating,
      "validating",
    ),
    mutating: config("MutatingWebhookConfiguration", CONFIGURATION_NAMES.mutating, "mutating"),
  };
}
