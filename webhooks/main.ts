// Entry point of the admission webhook server — wiring only.
//   serve  (in a cluster) certificate from a mounted Secret, informer-backed lookups, optional
//          caBundle injection into the installed configurations.
//   local  (make dev) a generated certificate with an IP SAN, listening on 127.0.0.1, URL-based
//          configurations registered with that CA and removed again on exit.
//   certs  writes a CA and serving certificate (tls.crt, tls.key, ca.crt) for a Secret.
// With VAULTMESH_RECORD_DENIALS=true (serve and local) every denial that is not a dry run is
// appended to the ledger as a PolicyDenied receipt, off the response path (ADR 0048).
import { mkdir } from "node:fs/promises";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { pino } from "pino";
import { createKubeClient } from "../services/kube/index.ts";
import { CERT_FILES, generateServingCertificate, writeCertificateFiles } from "./certs.ts";
import type { DenialLedger } from "./denial-ledger.ts";
import { denialLedgerSettings } from "./denial-settings.ts";
import { KubeLookups } from "./kube-lookups.ts";
import { CONFIGURATION_NAMES, renderWebhookConfigurations } from "./manifests.ts";
import { WebhookMetrics } from "./metrics.ts";
import { DEFAULT_OPERATOR_SERVICE_ACCOUNT } from "./policies/receipt.ts";
import {
  applyWebhookConfigurations,
  deleteWebhookConfigurations,
  injectCaBundle,
} from "./registration.ts";
import { startWebhookServer } from "./server.ts";

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    "cert-dir": { type: "string", default: "/etc/vaultmesh/webhook-tls" },
    port: { type: "string", default: "9443" },
    kubeconfig: { type: "string" },
    "operator-service-account": {
      type: "string",
      default: process.env.VAULTMESH_OPERATOR_SERVICE_ACCOUNT ?? DEFAULT_OPERATOR_SERVICE_ACCOUNT,
    },
    // Comma-separated; unset or empty → the operator service account alone (ADR 0049).
    "gpu-job-creators": { type: "string", default: process.env.VAULTMESH_GPU_JOB_CREATORS ?? "" },
    "inject-ca-bundle": { type: "boolean", default: false },
    name: { type: "string", default: "dev" },
    out: { type: "string" },
    dns: { type: "string", default: "localhost" },
    ip: { type: "string", default: "127.0.0.1" },
  },
});
const command = positionals[0] ?? "serve";
const logger = pino({ name: "vaultmesh-webhooks", level: process.env.LOG_LEVEL ?? "info" });
const list = (s: string): string[] => s.split(",").filter((x) => x !== "");

// The ledger's modules (pg among them) load only when denials are recorded.
async function openDenials(metrics: WebhookMetrics): Promise<DenialLedger | undefined> {
  const settings = denialLedgerSettings(process.env);
  if (!settings) return undefined;
  const { openDenialLedger } = await import("./denial-ledger.ts");
  const denials = openDenialLedger(settings, { logger, metrics });
  logger.info({ queueSize: settings.queueSize }, "recording denials as PolicyDenied receipts");
  return denials;
}

async function serve(certDir: string, host: string, local: boolean): Promise<void> {
  const metrics = new WebhookMetrics();
  const denials = await openDenials(metrics);
  const client = await createKubeClient({
    ...(values.kubeconfig ? { kubeconfig: values.kubeconfig } : {}),
    fieldManager: "vaultmesh-webhooks",
  });
  const lookups = await KubeLookups.start(client, logger);
  const inject = !local && values["inject-ca-bundle"];
  const gpuJobCreators = values["gpu-job-creators"]
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  const readCa = (): string => readFileSync(join(certDir, CERT_FILES.ca), "utf8");
  const server = await startWebhookServer({
    deps: {
      lookups,
      logger,
      metrics,
      config: {
        operatorServiceAccount: values["operator-service-account"],
        ...(gpuJobCreators.length > 0 ? { gpuJobCreators } : {}),
      },
      ...(denials ? { recordDenial: denials.recorder.record } : {}),
    },
    certDir,
    host,
    port: Number(values.port),
    // A rotated certificate may come with a new CA: the apiserver must trust it too.
    onCertificateReload: ({ ok }) => {
      if (!ok || !inject) return;
      injectCaBundle(client, [configs.validating, configs.mutating], readCa()).then(
        (updated) => logger.info({ updated }, "caBundle re-injected after a certificate change"),
        (err: unknown) =>
          logger.error({ err: (err as Error).message }, "caBundle injection failed"),
      );
    },
  });
  logger.info({ url: server.url }, "admission webhooks listening");
  const caPem = readCa();
  const configs = renderWebhookConfigurations({ target: { url: server.url }, caBundlePem: caPem });
  if (local) {
    await applyWebhookConfigurations(client, [configs.validating, configs.mutating]);
    logger.info({ configurations: Object.values(CONFIGURATION_NAMES) }, "registered (URL-based)");
  } else if (inject) {
    const updated = await injectCaBundle(client, [configs.validating, configs.mutating], caPem);
    logger.info({ updated }, "caBundle injected");
  }
  const stop = async (): Promise<void> => {
    logger.info("shutting down");
    // A local server takes its configurations along: a Fail entry pointing at nothing would
    // block GPU pods and workloads in the dev cluster.
    if (local) await deleteWebhookConfigurations(client, [configs.validating, configs.mutating]);
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
      return serve(values["cert-dir"], "0.0.0.0", false);
    case "local": {
      const dir = resolve(".cache/webhook", values.name);
      await mkdir(dir, { recursive: true });
      await writeCertificateFiles(dir, await generateServingCertificate());
      return serve(dir, "127.0.0.1", true);
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
  logger.error({ err: (err as Error).message }, "webhook server failed");
  process.exit(1);
});
