// Entry point of the admission webhook server — wiring only.
//   serve  (in a cluster) informer-backed lookups and a certificate that is either
//          managed  (--certificates=managed, the default): kept by the server itself in the Secret
//                   --tls-secret for the Service --service-name in $POD_NAMESPACE, served from
//                   memory, rotated before expiry (ADR 0065); or
//          mounted  (--certificates=mounted): files in --cert-dir, e.g. cert-manager's Secret.
//          --inject-ca-bundle keeps the CA in both configurations' caBundle (watched).
//   local  (make dev) a generated certificate with an IP SAN, listening on 127.0.0.1, URL-based
//          configurations registered with that CA and removed again on exit.
//   certs  writes a CA and serving certificate (tls.crt, tls.key, ca.crt) for a Secret.
// With VAULTMESH_RECORD_DENIALS=true (serve and local) every denial that is not a dry run is
// appended to the ledger as a PolicyDenied receipt, off the response path (ADR 0048).
import { mkdir } from "node:fs/promises";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { pino } from "pino";
import { logOptions } from "../services/logging/log-options.ts";
import type { DependencyHealth } from "../services/dependency-health/index.ts";
import { createKubeClient, type KubeClient } from "../services/kube/index.ts";
import { systemClock } from "../services/ledger/clock.ts";
import { CaBundleInjector } from "./ca-injector.ts";
import { DirectoryCertificates, isServed, type CertificateSource } from "./certificate-source.ts";
import { generateServingCertificate, writeCertificateFiles } from "./certs.ts";
import type { DenialLedger } from "./denial-ledger.ts";
import { denialLedgerSettings } from "./denial-settings.ts";
import { KubeLookups } from "./kube-lookups.ts";
import { ManagedCertificates } from "./managed-certificates.ts";
import { CONFIGURATION_NAMES, renderWebhookConfigurations } from "./manifests.ts";
import { WebhookMetrics, webhookDependencyHealth } from "./metrics.ts";
import { DEFAULT_OPERATOR_SERVICE_ACCOUNT } from "./policies/receipt.ts";
import { applyWebhookConfigurations, deleteWebhookConfigurations } from "./registration.ts";
import { ServeFlagError, resolveServeSettings, type ServeSettings } from "./serve-settings.ts";
import { startWebhookServer } from "./server.ts";

const options = {
  // serve: no defaults here, so resolveServeSettings can tell a flag given from one left out.
  certificates: { type: "string" },
  "tls-secret": { type: "string" },
  "service-name": { type: "string" },
  "cert-dir": { type: "string" },
  port: { type: "string" },
  "inject-ca-bundle": { type: "boolean" },
  "validating-configuration": { type: "string" },
  "mutating-configuration": { type: "string" },
  kubeconfig: { type: "string" },
  "operator-service-account": {
    type: "string",
    default: process.env.VAULTMESH_OPERATOR_SERVICE_ACCOUNT ?? DEFAULT_OPERATOR_SERVICE_ACCOUNT,
  },
  // Comma-separated; unset or empty → the operator service account alone (ADR 0049).
  "gpu-job-creators": { type: "string", default: process.env.VAULTMESH_GPU_JOB_CREATORS ?? "" },
  // `local` only (a cluster's configurations come from the chart): the Job controller's
  // identities, comma-separated; unset → DEFAULT_JOB_CONTROLLERS, empty → none (ADR 0101).
  "job-controllers": {
    type: "string",
    ...(process.env.VAULTMESH_JOB_CONTROLLERS === undefined
      ? {}
      : { default: process.env.VAULTMESH_JOB_CONTROLLERS }),
  },
  name: { type: "string", default: "dev" },
  out: { type: "string" },
  dns: { type: "string", default: "localhost" },
  ip: { type: "string", default: "127.0.0.1" },
} as const;

function parseFlags(): ReturnType<
  typeof parseArgs<{ options: typeof options; allowPositionals: true }>
> {
  try {
    return parseArgs({ allowPositionals: true, options });
  } catch (err) {
    // An unknown or malformed flag: parseArgs' message names it ("Unknown option '--x'").
    process.stderr.write(`webhooks: ${(err as Error).message}\n`);
    process.exit(2);
  }
}
const { positionals, values } = parseFlags();
const command = positionals[0] ?? "serve";
const logger = pino({
  name: "vaultmesh-webhooks",
  ...logOptions(process.env.LOG_LEVEL ?? "info"),
});
const list = (s: string): string[] =>
  s
    .split(",")
    .map((x) => x.trim())
    .filter((x) => x !== "");

// The ledger's modules (pg among them) load only when denials are recorded.
async function openDenials(
  metrics: WebhookMetrics,
  health: DependencyHealth,
): Promise<DenialLedger | undefined> {
  const settings = denialLedgerSettings(process.env);
  if (!settings) return undefined;
  const { openDenialLedger } = await import("./denial-ledger.ts");
  // A denial whose append meets an outage waits in the queue for the database (ADR 0071).
  const denials = openDenialLedger(settings, { logger, metrics, health, retryOutages: {} });
  logger.info({ queueSize: settings.queueSize }, "recording denials as PolicyDenied receipts");
  return denials;
}

function certificateSource(settings: ServeSettings, client: KubeClient): CertificateSource {
  if (settings.mode === "mounted")
    return new DirectoryCertificates({ dir: settings.certDir, logger });
  return new ManagedCertificates({
    client,
    namespace: settings.namespace,
    secretName: settings.tlsSecret,
    serviceName: settings.serviceName,
    logger,
  });
}

/** `local`: the server on 127.0.0.1 with URL-based configurations it registers itself. */
type Mode =
  | { readonly local: true; readonly certDir: string }
  | { readonly local: false; readonly settings: ServeSettings };

/** Keeps the CA in the installed webhook configurations, unless the settings leave that out. */
function caInjector(
  settings: ServeSettings,
  client: KubeClient,
  caBundle: () => string | undefined,
): CaBundleInjector | undefined {
  if (!settings.injectCaBundle) return undefined;
  return new CaBundleInjector({
    client,
    caBundle,
    logger,
    targets: [
      { kind: "ValidatingWebhookConfiguration", name: settings.configurations.validating },
      { kind: "MutatingWebhookConfiguration", name: settings.configurations.mutating },
    ],
  });
}

async function serve(mode: Mode): Promise<void> {
  const metrics = new WebhookMetrics(undefined, { process: true });
  // One registry of the server's dependencies: /readyz lists them, /metrics exports them.
  const health = webhookDependencyHealth(metrics, { clock: systemClock, logger });
  const denials = await openDenials(metrics, health);
  const client = await createKubeClient({
    ...(values.kubeconfig ? { kubeconfig: values.kubeconfig } : {}),
    fieldManager: "vaultmesh-webhooks",
  });
  // In a cluster the Service routes only to ready pods, so the server may listen before its
  // caches are synced; a local server registers its configurations right away, so it waits.
  const lookups = mode.local
    ? await KubeLookups.start(client, logger)
    : KubeLookups.begin(client, logger);
  const gpuJobCreators = list(values["gpu-job-creators"]);
  const source = mode.local
    ? new DirectoryCertificates({ dir: mode.certDir, logger })
    : certificateSource(mode.settings, client);
  const caBundle = (): string | undefined => {
    const c = source.current();
    return isServed(c) ? c.caCert : undefined;
  };
  const injector = mode.local ? undefined : caInjector(mode.settings, client, caBundle);
  // A rotated certificate may come with a new CA: the apiserver must trust it too.
  source.onChange(({ ok }) => {
    if (ok) void injector?.sync();
  });
  const server = await startWebhookServer({
    deps: {
      lookups,
      logger,
      metrics,
      health,
      config: {
        operatorServiceAccount: values["operator-service-account"],
        ...(gpuJobCreators.length > 0 ? { gpuJobCreators } : {}),
      },
      ...(denials ? { recordDenial: denials.recorder.record } : {}),
    },
    certificates: source,
    host: mode.local ? "127.0.0.1" : "0.0.0.0",
    port: mode.local ? Number(values.port ?? 9443) : mode.settings.port,
    readiness: () => {
      const reason = injector?.notReady();
      return reason ? [reason] : [];
    },
  });
  logger.info(
    { url: server.url, certificates: mode.local ? "local" : mode.settings.mode },
    "admission webhooks listening",
  );
  await injector?.start();
  const configs = mode.local
    ? renderWebhookConfigurations({
        target: { url: server.url },
        caBundlePem: caBundle() ?? "",
        // The identities the server allows skip the Job guard (ADR 0101).
        gpuJobCreators:
          gpuJobCreators.length > 0 ? gpuJobCreators : [values["operator-service-account"]],
        ...(values["job-controllers"] === undefined
          ? {}
          : { jobControllers: list(values["job-controllers"]) }),
      })
    : undefined;
  if (configs) {
    await applyWebhookConfigurations(client, [configs.validating, configs.mutating]);
    logger.info({ configurations: Object.values(CONFIGURATION_NAMES) }, "registered (URL-based)");
  }
  const stop = async (): Promise<void> => {
    logger.info("shutting down");
    // A local server takes its configurations along: a Fail entry pointing at nothing would
    // block GPU pods and workloads in the dev cluster.
    if (configs) await deleteWebhookConfigurations(client, [configs.validating, configs.mutating]);
    await injector?.stop();
    await server.close();
    await denials?.close();
    await lookups.stop();
    client.close();
    process.exit(0);
  };
  process.once("SIGTERM", () => void stop());
  process.once("SIGINT", () => void stop());
}

async function main(): Promise<void> {
  switch (command) {
    case "serve":
      return serve({ local: false, settings: resolveServeSettings(values, process.env) });
    case "local": {
      const dir = resolve(".cache/webhook", values.name);
      await mkdir(dir, { recursive: true });
      await writeCertificateFiles(dir, await generateServingCertificate());
      return serve({ local: true, certDir: dir });
    }
    case "certs": {
      const out = values.out ?? ".cache/webhook/certs";
      await mkdir(out, { recursive: true });
      const cert = await generateServingCertificate({
        dnsNames: list(values.dns),
        ipAddresses: list(values.ip),
      });
      await writeCertificateFiles(out, cert);
      process.stdout.write(`${out}\n`);
      return;
    }
    default:
      throw new Error(`unknown command ${command}: expected serve, local or certs`);
  }
}

main().catch((err: unknown) => {
  if (err instanceof ServeFlagError) {
    // One line naming the flag, no stack: the pod's last log line says what to fix.
    process.stderr.write(`webhooks serve: ${err.message}\n`);
    process.exit(2);
  }
  logger.error({ err: (err as Error).message }, "webhook server failed");
  process.exit(1);
});
