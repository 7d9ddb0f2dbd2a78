/**
 * services/kube: the Kubernetes client factory and the list+watch informer cache shared by
 * the operator and the webhooks. Import from here.
 */
import { KubeClient, type KubeClientOptions } from "./client.ts";
import { loadClusterAccess } from "./kubeconfig.ts";

export * from "./client.ts";
export * from "./informer.ts";
export * from "./intern.ts";
export * from "./kubeconfig.ts";
export * from "./resources.ts";

/** Creates the process's pooled client from a kubeconfig file or the default locations. */
export async function createKubeClient(
  opts: KubeClientOptions & { kubeconfig?: string } = {},
): Promise<KubeClient> {
  return await KubeClient.create(await loadClusterAccess(opts.kubeconfig), opts);
}
