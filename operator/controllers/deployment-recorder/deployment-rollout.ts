/**
 * The pure decisions of the deployment recorder (issue 17, item 1; ADR 0144): whether a
 * Deployment, StatefulSet or DaemonSet asks to be recorded, whether its rollout is complete,
 * and the receipt that records it. The receipt's identity comes from (uid, generation) and
 * what the spec pins, never from time or from Pods, so a restarted or second operator
 * computes the same digest and the ledger's append (idempotent by digest) records it once.
 */
import type { ReceiptInput } from "../../../services/ledger/receipt.ts";

/** The annotation (on the object) or label (on its namespace) that asks for recording. */
export const RECORD_DEPLOYMENTS_KEY = "vaultmesh.cloud/record-deployments";

/** Annotations of this prefix are the recorder's; an unknown one is reported. */
export const RECORDER_ANNOTATION_PREFIX = "vaultmesh.cloud/record-";

/**
 * The source revision to record (Argo CD does not annotate synced objects with one; an
 * Application sets it from its build environment, `$ARGOCD_APP_REVISION`, e.g. through
 * Kustomize `commonAnnotations` with `commonAnnotationsEnvsubst`).
 */
export const RECORD_REVISION_KEY = "vaultmesh.cloud/record-revision";

/** The recorder's annotations; any other `vaultmesh.cloud/record-*` annotation is reported. */
export const RECORDER_ANNOTATIONS: readonly string[] = [
  RECORD_DEPLOYMENTS_KEY,
  RECORD_REVISION_KEY,
];

/** A revision: a commit, tag, branch or chart version — no spaces, `$` or braces. */
const REVISION = /^[A-Za-z0-9][A-Za-z0-9._/+:-]{0,127}$/;

/** Argo CD's annotation-based tracking id: `<app>:<group>/<kind>:<namespace>/<name>`. */
export const ARGOCD_TRACKING_ANNOTATION = "argocd.argoproj.io/tracking-id";

/** The ledger type of a deployment receipt (the Receipt CRD's `DeploymentRecorded`). */
export const DEPLOYMENT_RECEIPT_TYPE = "DeploymentRecorded";

/** Event reasons of the recorder. */
export const DEPLOYMENT_RECORDER_REASON = {
  recorded: "DeploymentRecorded",
  invalidAnnotation: "InvalidRecordAnnotation",
} as const;

/** The workload kinds the recorder watches. */
export type RecordedKind = "Deployment" | "StatefulSet" | "DaemonSet";

/** Whether to record: yes, no, or an annotation/label at fault (nothing is recorded). */
export type RecordingDecision =
  { readonly record: boolean } | { readonly invalid: string; readonly message: string };

function flag(value: string, where: string): boolean | { invalid: string; message: string } {
  if (value === "true") return true;
  if (value === "false") return false;
  return { invalid: where, message: `${where}: expected "true" or "false", got "${value}"` };
}

/** Decides from the object's annotations and its namespace's labels. */
export function recordingDecision(
  annotations: Readonly<Record<string, string>> | undefined,
  namespaceLabels: Readonly<Record<string, string>> | undefined,
): RecordingDecision {
  const a = annotations ?? {};
  const unknown = Object.keys(a)
    .filter((k) => k.startsWith(RECORDER_ANNOTATION_PREFIX) && !RECORDER_ANNOTATIONS.includes(k))
    .sort()[0];
  if (unknown)
    return {
      invalid: `annotation ${unknown}`,
      message: `annotation ${unknown}: unknown; the recorder reads only ${RECORDER_ANNOTATIONS.join(" and ")}`,
    };
  const revision = a[RECORD_REVISION_KEY];
  if (revision !== undefined && !REVISION.test(revision))
    return {
      invalid: `annotation ${RECORD_REVISION_KEY}`,
      message:
        `annotation ${RECORD_REVISION_KEY}: expected a revision (a commit, tag or version: ` +
        `1-128 of A-Z a-z 0-9 . _ / + : -), got "${revision.slice(0, 80)}"`,
    };
  const own = a[RECORD_DEPLOYMENTS_KEY];
  if (own !== undefined) {
    const f = flag(own, `annotation ${RECORD_DEPLOYMENTS_KEY}`);
    return typeof f === "boolean" ? { record: f } : f;
  }
  const ns = namespaceLabels?.[RECORD_DEPLOYMENTS_KEY];
  if (ns === undefined) return { record: false };
  const f = flag(ns, `namespace label ${RECORD_DEPLOYMENTS_KEY}`);
  return typeof f === "boolean" ? { record: f } : f;
}

/** The fields of a workload object the recorder reads. */
export interface RolloutObject {
  readonly metadata: {
    readonly uid?: string;
    readonly name?: string;
    readonly namespace?: string;
    readonly generation?: number;
    readonly annotations?: Readonly<Record<string, string>>;
  };
  readonly spec?: {
    readonly replicas?: number;
    readonly template?: {
      readonly spec?: { readonly containers?: readonly { name: string; image?: string }[] };
    };
  };
  readonly status?: {
    readonly observedGeneration?: number;
    readonly replicas?: number;
    readonly updatedReplicas?: number;
    readonly readyReplicas?: number;
    readonly availableReplicas?: number;
    readonly desiredNumberScheduled?: number;
    readonly updatedNumberScheduled?: number;
    readonly numberReady?: number;
    readonly numberAvailable?: number;
  };
}

/**
 * Desired replicas of a complete rollout, or undefined while it is in progress. Complete as
 * `kubectl rollout status` has it: the controller saw this generation, every replica is updated
 * and available (ready for `minReadySeconds`), and none of an older template is left.
 */
export function completedReplicas(kind: RecordedKind, o: RolloutObject): number | undefined {
  const s = o.status ?? {};
  const generation = o.metadata.generation ?? 0;
  if ((s.observedGeneration ?? -1) < generation) return undefined;
  // The apiserver omits zero counts (`omitempty`): an absent count is 0.
  const all = (desired: number, counts: readonly (number | undefined)[]): number | undefined =>
    counts.every((n) => (n ?? 0) === desired) ? desired : undefined;
  if (kind === "DaemonSet") {
    const desired = s.desiredNumberScheduled ?? 0;
    return all(desired, [s.updatedNumberScheduled, s.numberReady, s.numberAvailable]);
  }
  // `replicas` counts every Pod: equal to desired, no replica of an older template is left (a
  // Deployment's surge pods).
  const desired = o.spec?.replicas ?? 1;
  return all(desired, [s.updatedReplicas, s.readyReplicas, s.availableReplicas, s.replicas]);
}

/** The image of each container, with its digest where the spec pins one (`@sha256:`). */
export function imagesOf(
  o: RolloutObject,
): { container: string; image: string; digest?: string }[] {
  return (o.spec?.template?.spec?.containers ?? []).map((c) => {
    const image = c.image ?? "";
    const at = /@(sha256:[0-9a-f]{64})$/.exec(image);
    return { container: c.name, image, ...(at ? { digest: at[1]! } : {}) };
  });
}

/** The Argo CD application named by the tracking annotation, if any. */
export function argoCdApplication(o: RolloutObject): string | undefined {
  const id = o.metadata.annotations?.[ARGOCD_TRACKING_ANNOTATION];
  const app = id?.split(":")[0];
  return app ? app : undefined;
}

/** `{application?, revision?}` from the annotations, or undefined when neither is there. */
export function argoCdOf(
  o: RolloutObject,
): { application?: string; revision?: string } | undefined {
  const application = argoCdApplication(o);
  const revision = o.metadata.annotations?.[RECORD_REVISION_KEY];
  if (!application && !revision) return undefined;
  return { ...(application ? { application } : {}), ...(revision ? { revision } : {}) };
}

/** The receipt of a completed rollout; undefined while the rollout is in progress. */
export function deploymentReceipt(kind: RecordedKind, o: RolloutObject): ReceiptInput | undefined {
  const desired = completedReplicas(kind, o);
  if (desired === undefined) return undefined;
  const m = o.metadata;
  const argoCd = argoCdOf(o);
  return {
    type: DEPLOYMENT_RECEIPT_TYPE,
    subject: {
      apiVersion: "apps/v1",
      kind,
      namespace: m.namespace ?? "",
      name: m.name ?? "",
      uid: m.uid ?? "",
    },
    payload: {
      uid: m.uid ?? "",
      generation: m.generation ?? 0,
      replicas: desired,
      images: imagesOf(o),
      ...(argoCd ? { argoCd } : {}),
    },
  };
}
