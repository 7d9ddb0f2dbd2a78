// Registers the webhook configurations with an apiserver: server-side apply of the rendered
// configurations (local runs, tests, the bench), removal, and caBundle injection into the
// configurations installed from config/webhook/ or the chart (the in-cluster server keeps them
// injected through ca-injector.ts, so no cert-manager is needed).
import { isConflict, type KubeClient, type ResourceType } from "../services/kube/index.ts";
import type { WebhookConfiguration } from "./manifests.ts";

const admissionregistration = (kind: string, plural: string): ResourceType => ({
  group: "admissionregistration.k8s.io",
  version: "v1",
  kind,
  plural,
  namespaced: false,
});

/** The two configuration resource types. */
export const WebhookConfigurationResources = {
  ValidatingWebhookConfiguration: admissionregistration(
    "ValidatingWebhookConfiguration",
    "validatingwebhookconfigurations",
  ),
  MutatingWebhookConfiguration: admissionregistration(
    "MutatingWebhookConfiguration",
    "mutatingwebhookconfigurations",
  ),
} as const;

const FIELD_MANAGER_FORCE = true;

/** Applies configurations (server-side apply, forced: this process owns them). */
export async function applyWebhookConfigurations(
  client: KubeClient,
  configs: readonly WebhookConfiguration[],
): Promise<void> {
  for (const c of configs) {
    if (c.webhooks.length === 0) continue;
    await client.patch(
      WebhookConfigurationResources[c.kind],
      { name: c.metadata.name },
      c,
      "apply",
      FIELD_MANAGER_FORCE,
    );
  }
}

/** Deletes configurations; missing ones are fine. */
export async function deleteWebhookConfigurations(
  client: KubeClient,
  configs: readonly Pick<WebhookConfiguration, "kind" | "metadata">[],
): Promise<void> {
  for (const c of configs) {
    await client.delete(WebhookConfigurationResources[c.kind], { name: c.metadata.name });
  }
}

/**
 * Sets `caBundle` on every entry of the named configurations (read, modify, replace guarded by
 * resourceVersion; retried on conflict), unless `satisfied` says the read object needs nothing
 * (default: every entry already carries exactly `caPem`). Returns the names it updated.
 */
export async function injectCaBundle(
  client: KubeClient,
  targets: readonly Pick<WebhookConfiguration, "kind" | "metadata">[],
  caPem: string,
  satisfied?: (current: WebhookConfiguration) => boolean,
): Promise<string[]> {
  const caBundle = Buffer.from(caPem).toString("base64");
  const updated: string[] = [];
  for (const t of targets) {
    const type = WebhookConfigurationResources[t.kind];
    for (let attempt = 0; ; attempt++) {
      const current = await client.get<WebhookConfiguration>(type, t.metadata.name);
      if (current === undefined) break;
      const done = satisfied
        ? satisfied(current)
        : current.webhooks.every((w) => w.clientConfig.caBundle === caBundle);
      if (done) break;
      for (const w of current.webhooks) w.clientConfig.caBundle = caBundle;
      try {
        await client.replace(type, current);
        updated.push(t.metadata.name);
        break;
      } catch (err) {
        if (!isConflict(err) || attempt >= 5) throw err;
      }
    }
  }
  return updated;
}
