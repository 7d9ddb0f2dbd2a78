// The webhook table: one entry per resource (and per operation where the failure policy has to
// differ), each with its path, handler, failure policy and timeout. The server's routes and the
// Validating/MutatingWebhookConfiguration manifests are both generated from this table, so a
// path or a failure policy cannot drift between them. docs/webhooks.md explains each choice.
import { GROUP, VERSION } from "../crds/index.ts";
import {
  federationPeerHandler,
  gpuJobGuardHandler,
  gpuPodGuardHandler,
  gpuWorkloadMutateHandler,
  gpuWorkloadValidateHandler,
  receiptHandler,
  tenantHandler,
  treatyHandler,
  type AdmissionHandler,
} from "./handlers.ts";

/** Which objects an entry selects in production. */
export type EndpointSelection =
  /** Cluster-scoped kinds: every object. */
  | "cluster"
  /** Namespaced kinds: every namespace but the system ones. */
  | "non-system-namespaces"
  /** Namespaces labelled as a tenant's (`vaultmesh.cloud/tenant`), system ones exempt. */
  | "tenant-namespaces";

/** One webhook of the server. */
export interface WebhookEndpoint {
  /** The webhook's name in its configuration (what kubectl shows in a denial). */
  readonly name: string;
  readonly type: "validating" | "mutating";
  /** URL path on the server. */
  readonly path: string;
  /** Label value of the metrics (`policy`). */
  readonly policy: string;
  readonly apiGroup: string;
  readonly apiVersion: string;
  readonly resource: string;
  /** The kinds the handler understands; any other kind is allowed with a warning. */
  readonly kinds: readonly string[];
  readonly operations: readonly ("CREATE" | "UPDATE" | "DELETE")[];
  readonly scope: "Cluster" | "Namespaced";
  readonly selection: EndpointSelection;
  readonly failurePolicy: "Fail" | "Ignore";
  readonly timeoutSeconds: number;
  /** Call the webhook only for GPU pods (CEL matchConditions built from the GPU config). */
  readonly gpuPodsOnly?: boolean;
  /** Call the webhook only for Jobs whose pod template is a GPU pod (the same condition). */
  readonly gpuJobsOnly?: boolean;
  /**
   * Skip every request of the GPU Job creators (RenderOptions.gpuJobCreators): the Job guard
   * allows all of them, so the decision is the same without the round trip (ADR 0101).
   */
  readonly skipGpuJobCreators?: boolean;
  /**
   * Skip the Job controller's writes of pods a Job controls (RenderOptions.jobControllers): they
   * come from a template the Job guard checked (ADR 0101).
   */
  readonly skipJobControllerPods?: boolean;
  /**
   * Skip UPDATEs that change neither the spec nor the controller reference (labels,
   * finalizers, other owners): the policy allows them anyway, and the operator and the garbage
   * collector must be able to update a Job while the server is down.
   */
  readonly specOrControllerUpdatesOnly?: boolean;
  /**
   * Skip UPDATEs that leave the spec alone (finalizers, labels): they need no decision, and
   * the operator must be able to clean up while the server is down.
   */
  readonly specUpdatesOnly?: boolean;
  readonly handler: AdmissionHandler;
}

const vm = {
  apiGroup: GROUP,
  apiVersion: VERSION,
};

/** Every webhook the server serves, in registration order. */
export const WEBHOOK_ENDPOINTS: readonly WebhookEndpoint[] = [
  {
    ...vm,
    name: "gpuworkloads.mutate.vaultmesh.cloud",
    type: "mutating",
    path: "/mutate/gpuworkloads",
    policy: "gpuworkload-defaults",
    resource: "gpuworkloads",
    kinds: ["GPUWorkload"],
    operations: ["CREATE"],
    scope: "Namespaced",
    selection: "non-system-namespaces",
    // Defaults bound the cost of a run (maxRuntimeSeconds): no defaults, no admission.
    failurePolicy: "Fail",
    timeoutSeconds: 5,
    handler: gpuWorkloadMutateHandler,
  },
  {
    ...vm,
    name: "gpuworkloads.validate.vaultmesh.cloud",
    type: "validating",
    path: "/validate/gpuworkloads",
    policy: "gpuworkload",
    resource: "gpuworkloads",
    kinds: ["GPUWorkload"],
    operations: ["CREATE", "UPDATE"],
    scope: "Namespaced",
    selection: "non-system-namespaces",
    // Quota and vault-law are money and law: fail closed.
    failurePolicy: "Fail",
    timeoutSeconds: 5,
    specUpdatesOnly: true,
    handler: gpuWorkloadValidateHandler,
  },
  {
    name: "pods.gpu-guard.vaultmesh.cloud",
    type: "validating",
    path: "/validate/pods",
    policy: "gpu-pod-guard",
    apiGroup: "",
    apiVersion: "v1",
    resource: "pods",
    kinds: ["Pod"],
    operations: ["CREATE", "UPDATE"],
    scope: "Namespaced",
    selection: "tenant-namespaces",
    // A GPU pod outside a GPUWorkload bypasses quota and billing: fail closed. matchConditions
    // keep every other pod off this webhook, so an outage blocks GPU pods only; the Job
    // controller's pods of a Job skip it, the Job guard having checked their template (ADR 0101).
    failurePolicy: "Fail",
    timeoutSeconds: 3,
    gpuPodsOnly: true,
    skipJobControllerPods: true,
    handler: gpuPodGuardHandler,
  },
  {
    name: "jobs.gpu-guard.vaultmesh.cloud",
    type: "validating",
    path: "/validate/jobs",
    policy: "gpu-job-guard",
    apiGroup: "batch",
    apiVersion: "v1",
    resource: "jobs",
    kinds: ["Job"],
    operations: ["CREATE", "UPDATE"],
    scope: "Namespaced",
    selection: "tenant-namespaces",
    // The pod guard bounds each pod by its Job's GPUWorkload; only the operator may make GPU
    // Jobs, or one admitted workload could back any number of them (ADR 0049). Fail closed,
    // with the pod guard's condition keeping every CPU Job off this webhook. The creators'
    // requests, which the guard always allows, skip it (ADR 0101).
    failurePolicy: "Fail",
    timeoutSeconds: 3,
    gpuJobsOnly: true,
    skipGpuJobCreators: true,
    specOrControllerUpdatesOnly: true,
    handler: gpuJobGuardHandler,
  },
  {
    ...vm,
    name: "receipts.validate.vaultmesh.cloud",
    type: "validating",
    path: "/validate/receipts",
    policy: "receipt",
    resource: "receipts",
    kinds: ["Receipt"],
    operations: ["CREATE", "UPDATE"],
    scope: "Namespaced",
    selection: "non-system-namespaces",
    // The CRD's CEL rule already keeps the spec immutable; the operator must keep writing
    // receipts while the webhook is down.
    failurePolicy: "Ignore",
    timeoutSeconds: 3,
    handler: receiptHandler,
  },
  {
    ...vm,
    name: "receipts-delete.validate.vaultmesh.cloud",
    type: "validating",
    path: "/validate/receipts",
    policy: "receipt-delete",
    resource: "receipts",
    kinds: ["Receipt"],
    operations: ["DELETE"],
    scope: "Namespaced",
    selection: "non-system-namespaces",
    // Nothing else stops a delete, and nothing urgent needs one: fail closed.
    failurePolicy: "Fail",
    timeoutSeconds: 3,
    handler: receiptHandler,
  },
  {
    ...vm,
    name: "treaties.validate.vaultmesh.cloud",
    type: "validating",
    path: "/validate/treaties",
    policy: "treaty",
    resource: "treaties",
    kinds: ["Treaty"],
    operations: ["CREATE", "UPDATE"],
    scope: "Cluster",
    selection: "cluster",
    // Suspending a misbehaving treaty must work during a webhook outage; the CRD schema and
    // CEL rules still apply.
    failurePolicy: "Ignore",
    timeoutSeconds: 3,
    handler: treatyHandler,
  },
  {
    ...vm,
    name: "tenants.validate.vaultmesh.cloud",
    type: "validating",
    path: "/validate/tenants",
    policy: "tenant",
    resource: "tenants",
    kinds: ["Tenant"],
    operations: ["CREATE", "UPDATE"],
    scope: "Cluster",
    selection: "cluster",
    // Suspending a tenant must never wait for the webhook (fail closed on money means letting
    // the suspension through); everything refused here is also in the CRD schema.
    failurePolicy: "Ignore",
    timeoutSeconds: 3,
    handler: tenantHandler,
  },
  {
    ...vm,
    name: "federationpeers.validate.vaultmesh.cloud",
    type: "validating",
    path: "/validate/federationpeers",
    policy: "federationpeer",
    resource: "federationpeers",
    kinds: ["FederationPeer"],
    operations: ["CREATE", "UPDATE"],
    scope: "Cluster",
    selection: "cluster",
    // The operator verifies the trust anchor again at every sync.
    failurePolicy: "Ignore",
    timeoutSeconds: 3,
    handler: federationPeerHandler,
  },
];
