/**
 * services/kube: the Kubernetes client factory and the list+watch informer cache shared by
 * the operator and the webhooks. Import from here.
 */
import * as k8s from "@kubernetes/client-node";
import { KubeClient, type KubeClientOptions } from "./client.ts";

export * from "./client.ts";
export * from "./informer.ts";
export * from "./resources.ts";

/** Loads the kubeconfig the way kubectl does: $KUBECONFIG, ~/.kube/config, or in-cluster. */
export function loadKubeConfig(path?: string): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  if (path) kc.loadFromFile(path);
  else kc.loadFromDefault();
  return kc;
}

/** Creates the process's pooled client from a kubeconfig file or the default locations. */
export async function createKubeClient(
  opts: KubeClientOptions & { kubeconfig?: string } = {},
): Promise<KubeClient> {
  return await KubeClient.create(loadKubeConfig(opts.kubeconfig), opts);
}
