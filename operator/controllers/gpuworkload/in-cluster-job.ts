/**
 * Interim in-cluster Job builder, wired in main.ts until operator/placement (the placement
 * module's pure Job builder) lands; replacing it is a one-line change in main.ts. It builds
 * what a GPU pool Job needs — the treaty's toleration, nodeSelector plus GPU-type label, the
 * GPU limit, activeDeadlineSeconds — and passes kwok's pod-complete delay from the
 * workload's KWOK_COMPLETE_DELAY env var (tests and the bench).
 */
import { createHash } from "node:crypto";
import type { JobBuildInput } from "./gpuworkload-reconciler.ts";
import type { Job } from "./kube-types.ts";

/** `gw-<12 hex of sha256(uid/attempt)>`: the Job name of attempt `attempt` of workload `uid`. */
export function jobNameFor(uid: string, attempt: number): string {
  return `gw-${createHash("sha256").update(`${uid}/${attempt}`).digest("hex").slice(0, 12)}-${attempt}`;
}

/** Builds the Job of an in-cluster placement (labels and owner are added by the reconciler). */
export function buildInClusterJob(input: JobBuildInput): Job {
  const { workload: wl, treaty, name } = input;
  const pool = treaty.spec.inCluster;
  if (!pool) throw new Error(`treaty ${treaty.metadata.name} is not in-cluster`);
  const env = wl.spec.template.env ?? [];
  const delay = env.find((e) => e.name === "KWOK_COMPLETE_DELAY")?.value;
  const t = pool.taint;
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name, namespace: wl.metadata.namespace ?? "" },
    spec: {
      backoffLimit: 0,
      ...(wl.spec.maxRuntimeSeconds ? { activeDeadlineSeconds: wl.spec.maxRuntimeSeconds } : {}),
      template: {
        metadata: delay ? { annotations: { "pod-complete.stage.kwok.x-k8s.io/delay": delay } } : {},
        spec: {
          restartPolicy: "Never",
          nodeSelector: { ...pool.nodeSelector, [pool.gpuTypeLabel]: wl.spec.gpu.type },
          tolerations: t
            ? [{ key: t.key, operator: "Equal", value: t.value ?? "", effect: t.effect }]
            : [],
          containers: [
            {
              name: "workload",
              image: wl.spec.template.image,
              resources: { limits: { [pool.gpuResourceName]: String(wl.spec.gpu.count) } },
            },
          ],
        },
      },
    },
  };
}
