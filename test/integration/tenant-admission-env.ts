/**
 * The real GPUWorkload admission webhooks next to a Tenant operator process (ADR 0077): a test
 * webhook server registered with the shared apiserver and scoped to one tenant namespace by
 * label, and creating a GPUWorkload through it — what a user's `kubectl create` meets.
 */
import YAML from "yaml";
import { makeWorkload } from "../builders/webhook-objects.ts";
import { kubectl, waitFor } from "../harness/kube.ts";
import { startTestWebhook, WEBHOOK_TEST_LABEL, type TestWebhook } from "../harness/webhook.ts";

/** Starts the GPUWorkload mutating and validating webhooks only. */
export async function startWorkloadAdmission(prefix: string): Promise<TestWebhook> {
  return await startTestWebhook({
    prefix,
    only: ["gpuworkloads.mutate.vaultmesh.cloud", "gpuworkloads.validate.vaultmesh.cloud"],
  });
}

/** Puts the tenant's namespace (made by the operator) in scope of `hook`. */
export async function scopeNamespace(hook: TestWebhook, namespace: string): Promise<void> {
  const r = await kubectl([
    "label",
    "namespace",
    namespace,
    `${WEBHOOK_TEST_LABEL}=${hook.id}`,
    "--overwrite",
  ]);
  if (r.code !== 0) throw new Error(`labelling ${namespace}: ${r.stderr}`);
}

/**
 * Creates a GPUWorkload through the webhooks, retrying a denial until `timeoutMs` (the
 * webhook's Tenant cache follows the apiserver within moments); throws with the last denial.
 */
export async function admitWorkload(
  namespace: string,
  name: string,
  timeoutMs = 30_000,
): Promise<void> {
  let last = "";
  await waitFor(
    `${namespace}/${name} to be admitted`,
    async () => {
      const r = await kubectl(
        ["create", "-f", "-"],
        YAML.stringify(makeWorkload(name, namespace, { count: 1 })),
      );
      last = r.stderr;
      return r.code === 0 ? true : undefined;
    },
    timeoutMs,
  ).catch((err: unknown) => {
    throw new Error(`${String(err)}; last denial: ${last}`);
  });
}

/** The denial `kubectl create` prints for a GPUWorkload, or "" when it was admitted. */
export async function tryWorkload(namespace: string, name: string): Promise<string> {
  const r = await kubectl(
    ["create", "-f", "-"],
    YAML.stringify(makeWorkload(name, namespace, { count: 1 })),
  );
  return r.code === 0 ? "" : r.stderr;
}

/** Deletes a GPUWorkload without waiting (no controller adds a finalizer in these tests). */
export async function deleteWorkload(namespace: string, name: string): Promise<void> {
  await kubectl([
    "delete",
    "gpuworkload",
    name,
    "-n",
    namespace,
    "--ignore-not-found",
    "--wait=false",
  ]);
}
