// Pieces of GPU Jobs and Pods the integration tests build by hand.

/** Tolerates the GPU pool's taint (hack/controlplane/node-pools.yaml). */
export const GPU_TOLERATION = {
  key: "nvidia.com/gpu",
  operator: "Equal",
  value: "true",
  effect: "NoSchedule",
};

/** An ownerReference that makes the GPUWorkload `name` (with `uid`) an object's controller. */
export function workloadControllerRef(
  uid: string,
  name = "train",
): { apiVersion: string; kind: string; name: string; uid: string; controller: boolean } {
  return {
    apiVersion: "vaultmesh.cloud/v1alpha1",
    kind: "GPUWorkload",
    name,
    uid,
    controller: true,
  };
}
