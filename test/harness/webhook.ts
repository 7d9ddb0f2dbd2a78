// Runs the admission server for one integration test file against the shared cluster: a
// generated certificate, informer-backed lookups, URL-based configurations registered with
// that CA — scoped to this file's objects by a label, so no other test ever meets them — and
// a teardown that removes the configurations before anything else.
import { tenantNamespace } from "../../crds/domain/tenancy.ts";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as k8s from "@kubernetes/client-node";
import { createKubeClient, type KubeClient } from "../../services/kube/index.ts";
import { generateServingCertificate, writeCertificateFiles } from "../../webhooks/certs.ts";
import type { WebhookDeps } from "../../webhooks/deps.ts";
import { KubeLookups } from "../../webhooks/kube-lookups.ts";
import {
  renderWebhookConfigurations,
  type RenderOptions,
  type WebhookConfiguration,
} from "../../webhooks/manifests.ts";
import {
  applyWebhookConfigurations,
  deleteWebhookConfigurations,
} from "../../webhooks/registration.ts";
import { resolveConfig } from "../../webhooks/app.ts";
import { startWebhookServer, type RunningWebhookServer } from "../../webhooks/server.ts";
import { kubeConfig } from "./kube.ts";

/** The label that scopes a test file's webhook configurations. */
export const WEBHOOK_TEST_LABEL = "vaultmesh.cloud/webhook-test";

/** A webhook server registered for one test file. */
export interface TestWebhook {
  /** This file's scope id: the value of {@link WEBHOOK_TEST_LABEL} on its objects. */
  readonly id: string;
  readonly server: RunningWebhookServer;
  readonly lookups: KubeLookups;
  readonly client: KubeClient;
  readonly configs: readonly WebhookConfiguration[];
  readonly caPem: string;
  /** Labels to put on this file's namespaces and cluster-scoped objects. */
  readonly labels: Record<string, string>;
  /** Stops the server, leaving the configurations in place (the outage tests). */
  stopServer(): Promise<void>;
  /** Removes the configurations, then stops everything. */
  stop(): Promise<void>;
}

/** Options of {@link startTestWebhook}. */
export interface TestWebhookOptions {
  /** Prefix of the scope id. */
  readonly prefix: string;
  /** Only these entries (by webhook name). @default all */
  readonly only?: readonly string[];
  /** Extra dependencies (config, recordDenial). */
  readonly deps?: Partial<Omit<WebhookDeps, "lookups">>;
  readonly overrides?: RenderOptions["overrides"];
  /** The Job controller's identities in the pod guard's condition. @default DEFAULT_JOB_CONTROLLERS */
  readonly jobControllers?: readonly string[];
}

/** Starts the server and registers its configurations, scoped to a fresh id. */
export async function startTestWebhook(opts: TestWebhookOptions): Promise<TestWebhook> {
  const id = `${opts.prefix}-${Math.random().toString(36).slice(2, 8)}`;
  const dir = await mkdtemp(join(tmpdir(), "vaultmesh-webhook-test-"));
  const cert = await generateServingCertificate();
  await writeCertificateFiles(dir, cert);
  const client = await createKubeClient({ fieldManager: `webhook-test-${id}` });
  const lookups = await KubeLookups.start(client);
  const server = await startWebhookServer({
    deps: { ...opts.deps, lookups },
    certDir: dir,
    host: "127.0.0.1",
    port: 0,
  });
  const rendered = renderWebhookConfigurations({
    target: { url: server.url },
    caBundlePem: cert.caCert,
    nameSuffix: `-${id}`,
    testScope: { key: WEBHOOK_TEST_LABEL, value: id },
    ...(opts.only ? { only: opts.only } : {}),
    ...(opts.overrides ? { overrides: opts.overrides } : {}),
    // The configurations skip exactly the GPU Job creators the server trusts (ADR 0101): its
    // resolved list, so an operatorServiceAccount given without gpuJobCreators is the one skipped.
    gpuJobCreators: resolveConfig(opts.deps?.config).gpuJobCreators,
    ...(opts.jobControllers ? { jobControllers: opts.jobControllers } : {}),
  });
  const configs = [rendered.validating, rendered.mutating].filter((c) => c.webhooks.length > 0);
  await applyWebhookConfigurations(client, configs);
  let serverStopped = false;
  const stopServer = async (): Promise<void> => {
    if (serverStopped) return;
    serverStopped = true;
    await server.close();
  };
  return {
    id,
    server,
    lookups,
    client,
    configs,
    caPem: cert.caCert,
    labels: { [WEBHOOK_TEST_LABEL]: id },
    stopServer,
    async stop(): Promise<void> {
      await deleteWebhookConfigurations(client, configs);
      await stopServer();
      await lookups.stop();
      client.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Creates a tenant namespace `tenant-<tenant>` labelled as the tenant's and as in scope of
 * `hook`; returns its name.
 */
export async function createTenantNamespace(hook: TestWebhook, tenant: string): Promise<string> {
  const name = tenantNamespace(tenant);
  const core = kubeConfig().makeApiClient(k8s.CoreV1Api);
  await core.createNamespace({
    body: {
      metadata: {
        name,
        labels: {
          "vaultmesh.cloud/test": "true",
          "vaultmesh.cloud/tenant": tenant,
          ...hook.labels,
        },
      },
    },
  });
  return name;
}

/** Deletes a namespace without waiting for it to go. */
export async function deleteNamespace(name: string): Promise<void> {
  const core = kubeConfig().makeApiClient(k8s.CoreV1Api);
  await core.deleteNamespace({ name }).catch(() => undefined);
}
