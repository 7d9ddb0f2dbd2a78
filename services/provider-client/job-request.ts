// The protocol request for an attempt of a GPUWorkload routed to an external treaty. Pure: the
// same workload and placement give the same request, which is what makes a resubmission under
// the same idempotency key a replay rather than a conflict.
import type { GPUWorkload } from "../../crds/index.ts";
import type { JobRequest } from "./protocol.ts";

/** Label on a submitted job naming the workload's uid (the provider echoes labels back). */
export const WORKLOAD_UID_LABEL = "vaultmesh.cloud/workload-uid";

/** Resolves a `valueFrom.secretKeyRef` env var of the workload to its value. */
export type SecretResolver = (ref: {
  readonly name: string;
  readonly key: string;
}) => string | undefined;

/**
 * The request to submit for `workload` under `placement` (the routing decision's region and
 * price). `maxPricePerHour` is the placement's price, so a provider that raised its price
 * since the treaty was read refuses instead of charging more. Env vars from Secrets need
 * `resolveSecret`; an unresolved one throws, naming the variable (never a value).
 */
export function jobRequestFrom(
  workload: Pick<GPUWorkload, "metadata" | "spec">,
  placement: { readonly region?: string | undefined; readonly pricePerHour: number },
  resolveSecret?: SecretResolver,
): JobRequest {
  const { spec } = workload;
  const t = spec.template;
  const env = t.env?.map((e) => {
    if (e.valueFrom === undefined) return { name: e.name, value: e.value ?? "" };
    const ref = e.valueFrom.secretKeyRef;
    const value = resolveSecret?.(ref);
    if (value === undefined) {
      throw new Error(
        `spec.template.env ${e.name}: Secret ${ref.name} key ${ref.key} could not be resolved`,
      );
    }
    return { name: e.name, value };
  });
  const uid = workload.metadata.uid;
  return {
    gpu: { type: spec.gpu.type, count: spec.gpu.count },
    ...(placement.region === undefined ? {} : { region: placement.region }),
    image: t.image,
    ...(t.command === undefined ? {} : { command: [...t.command] }),
    ...(t.args === undefined ? {} : { args: [...t.args] }),
    ...(env === undefined ? {} : { env }),
    ...(spec.maxRuntimeSeconds === undefined ? {} : { maxRuntimeSeconds: spec.maxRuntimeSeconds }),
    maxPricePerHour: placement.pricePerHour,
    ...(uid === undefined ? {} : { labels: { [WORKLOAD_UID_LABEL]: uid } }),
  };
}
