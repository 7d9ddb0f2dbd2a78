/**
 * The deployment recorder's reconcile of one Deployment, StatefulSet or DaemonSet (issue 17,
 * item 1; ADR 0144): decide from its annotations and its namespace's label whether it is
 * recorded (a malformed or unknown annotation is a Warning Event naming it, nothing recorded),
 * and when its rollout is complete append the receipt, create its Receipt view and name the
 * view in an Event on the object. The receipt depends only on the rollout (uid, generation,
 * spec), and the ledger's append is idempotent by digest, so a restart, a resync or a second
 * replica finds the entry already logged and the view already there: nothing is recorded twice.
 */
import type { Receipt } from "../../../crds/index.ts";
import {
  type KubeClient,
  type KubeObject,
  type ObjectCache,
  type ResourceType,
} from "../../../services/kube/index.ts";
import type { Ledger } from "../../../services/ledger/ledger.ts";
import { receiptDigest, type ReceiptInput } from "../../../services/ledger/receipt.ts";
import type { EventRecorder, Request, Result } from "../../runtime/index.ts";
import { ensureReceiptView } from "../../shared/receipt-views.ts";
import {
  DEPLOYMENT_RECEIPT_UID_LABEL,
  deploymentReceiptName,
  deploymentReceiptView,
} from "./deployment-receipt-view.ts";
import {
  DEPLOYMENT_RECEIPT_TYPE,
  deploymentReceipt,
  DEPLOYMENT_RECORDER_REASON,
  recordingDecision,
  type RecordedKind,
  type RolloutObject,
} from "./deployment-rollout.ts";

/** A watched workload object. */
export type RecordedWorkload = KubeObject & RolloutObject;

/** What the reconciler needs (I/O at the edges; the decisions are deployment-rollout.ts). */
export interface DeploymentRecorderDeps {
  readonly kind: RecordedKind;
  readonly type: ResourceType;
  readonly client: KubeClient;
  readonly clock: { now(): Date };
  readonly events: EventRecorder;
  /** The ledger (LedgerConnection): append rejects while its database is away (retried). */
  readonly ledger: { append(input: ReceiptInput): ReturnType<Ledger["append"]> };
  readonly objects: ObjectCache<RecordedWorkload>;
  readonly namespaces: ObjectCache<KubeObject>;
  readonly receipts: ObjectCache<Receipt>;
}

/** Whether a logged view of this workload's `generation` is among `views`. */
export function recordedGeneration(
  views: readonly Receipt[],
  uid: string,
  generation: number,
): boolean {
  return views.some(
    (v) =>
      v.metadata?.labels?.[DEPLOYMENT_RECEIPT_UID_LABEL] === uid &&
      v.spec?.type === DEPLOYMENT_RECEIPT_TYPE &&
      (v.spec.payload as { generation?: unknown }).generation === generation &&
      v.status?.logIndex !== undefined,
  );
}

/** Reconciles one workload of `deps.kind`. */
export class DeploymentRecorderReconciler {
  readonly #d: DeploymentRecorderDeps;

  constructor(deps: DeploymentRecorderDeps) {
    this.#d = deps;
  }

  async reconcile(req: Request): Promise<Result | void> {
    const d = this.#d;
    const obj = d.objects.get(req.name, req.namespace);
    if (!obj || obj.metadata.deletionTimestamp) return;
    const ns = obj.metadata.namespace ?? "";
    const decision = recordingDecision(
      obj.metadata.annotations,
      d.namespaces.get(ns)?.metadata?.labels,
    );
    if ("invalid" in decision) {
      d.events.event(
        d.type,
        obj,
        "Warning",
        DEPLOYMENT_RECORDER_REASON.invalidAnnotation,
        `${decision.message}; nothing is recorded`,
      );
      return;
    }
    if (!decision.record) return;
    const input = deploymentReceipt(d.kind, obj);
    if (!input) return; // rolling out: the status update that completes it enqueues it again
    const name = obj.metadata.name ?? "";
    const uid = obj.metadata.uid ?? "";
    const viewName = deploymentReceiptName(d.kind, name, receiptDigest(input));
    if (d.receipts.get(viewName, ns)?.status?.logIndex !== undefined) return; // recorded
    // One receipt per (uid, generation): an annotation edited after the rollout (a revision, an
    // Argo CD tracking id) changes the payload but not the rollout, so it records nothing new.
    if (recordedGeneration(d.receipts.list(ns), uid, obj.metadata.generation ?? 0)) return;
    const res = await d.ledger.append(input);
    const view = deploymentReceiptView(d.kind, { namespace: ns, name, uid }, res.receipt);
    await ensureReceiptView(
      d.client,
      view,
      { ...res.entry, treeHead: res.treeHead },
      d.clock.now(),
      d.receipts,
    );
    d.events.event(
      d.type,
      obj,
      "Normal",
      DEPLOYMENT_RECORDER_REASON.recorded,
      `rollout of generation ${obj.metadata.generation ?? 0} recorded: Receipt ${viewName} ` +
        `at log index ${res.entry.logIndex}`,
    );
  }
}
