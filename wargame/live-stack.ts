// The stack `npm run wargame -- --live` plays against (ADR 0133): a control plane (a private
// one started like the benches start theirs, or the cluster of `--kubeconfig`), a ledger on a
// private Postgres, and the operator's Treaty and GPUWorkload controllers in this process,
// scoped to a fresh namespace and treaty label, with every timing compressed like the
// scenario's clock (liveOperatorTimings). The wiring is hack/in-process-operator.ts, the one
// the integration tests use too, so the CLI and the agreement test run the same operator.
import { crdCluster } from "../hack/cluster/crd-cluster.ts";
import {
  localKubeClient,
  startInProcessOperator,
  startLocalLedger,
} from "../hack/in-process-operator.ts";
import type { KubeClient } from "../services/kube/index.ts";
import { Resources } from "../services/kube/index.ts";
import { liveOperatorTimings } from "./live-plan.ts";
import type { Scenario } from "./scenario.ts";

/** A started stack: what {@link runLive} needs, and how to take it down. */
export interface LiveStack {
  readonly client: KubeClient;
  readonly namespace: string;
  readonly treatyLabel: string;
  stop(): Promise<void>;
}

/**
 * Starts the stack for scenario `s` at `compression`: a private control plane unless
 * `kubeconfig` names one (its CRDs must be installed), then the ledger and the operator.
 * Whatever started is stopped again if a later step fails.
 */
export async function startLiveStack(
  s: Scenario,
  compression: number,
  opts: { readonly kubeconfig?: string | undefined; readonly log: (m: string) => void },
): Promise<LiveStack> {
  const undo: (() => Promise<unknown>)[] = [];
  const stop = async (): Promise<void> => {
    for (const f of undo.splice(0).reverse()) await f().catch(() => undefined);
  };
  try {
    const cluster = await crdCluster("wargame-live", opts.kubeconfig, opts.log);
    if (cluster) undo.push(() => cluster.stop());
    const run = Math.random().toString(36).slice(2, 8);
    const client = await localKubeClient();
    undo.push(() => Promise.resolve(client.close()));
    const namespace = `wargame-${run}`;
    await client.create(Resources.Namespace, {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: namespace, labels: { "vaultmesh.cloud/wargame": run } },
    });
    undo.push(() => client.delete(Resources.Namespace, { name: namespace }));
    opts.log("starting the ledger (Postgres) and the operator");
    const led = await startLocalLedger("wargame");
    undo.push(() => led.stop());
    const treatyLabel = `vaultmesh.cloud/wargame=${run}`;
    const op = await startInProcessOperator({
      namespace,
      treatySelector: treatyLabel,
      ledger: led.ledger,
      ...liveOperatorTimings(s, compression),
    });
    undo.push(() => op.stop());
    return { client, namespace, treatyLabel, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
