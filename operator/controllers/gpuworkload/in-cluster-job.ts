/**
 * A stand-in in-cluster Job builder for controller tests, used until (and alongside)
 * operator/placement: the toleration, nodeSelector and GPU limit a GPU pool Job needs, plus
 * kwok's pod-complete delay from the workload's KWOK_COMPLETE_DELAY env var.
 */
import { createHash } from "node:crypto";
import type { JobBuildInput } from "../../operator/controllers/gpuworkload/gpuworkload-reconciler.ts";
import type { Job } from "../../operator/controllers/gpuworkload/kube-types.ts";

/** `gw-<12 hex of sha256(uid/attempt)>`: the Job name of attempt `attempt` of workload `uid`. */
export function testJobName(uid: string, attempt: number): string {
  return `gw-${createHash("sha256").update(`${uid}/${attempt}`).digest("hex").slice(0, 12)}-${attempt}`;
}

/** Builds the Job of an in-cluster placement. */
export function testBuildJob(input: JobBuildInput): Job {
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
