/**
 * The admission server as `bench:scheduling --webhooks` runs it: a child process, as in a real
 * install, with the production lookups (informers over $KUBECONFIG's cluster) and a fresh
 * serving certificate. Prints `{"url": ..., "caPem": ...}` on stdout once its caches have
 * synced; exits on SIGTERM or when stdin closes. Its CPU is measured by the parent by pid.
 */
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { createKubeClient } from "../services/kube/index.ts";
import { generateServingCertificate, writeCertificateFiles } from "../webhooks/certs.ts";
import { KubeLookups } from "../webhooks/kube-lookups.ts";
import { startWebhookServer } from "../webhooks/server.ts";

const dir = await mkdtemp(join(tmpdir(), "vaultmesh-bench-webhook-"));
const cert = await generateServingCertificate();
await writeCertificateFiles(dir, cert);
const client = await createKubeClient({ fieldManager: "vaultmesh-webhook" });
const lookups = await KubeLookups.start(client);
const server = await startWebhookServer({
  // As installed, only the operator's identity may create GPU Jobs (ADR 0049); the bench's
  // operator runs as the kubeconfig's user, which the parent passes here.
  deps: {
    lookups,
    config: {
      gpuJobCreators: (process.env.VAULTMESH_GPU_JOB_CREATORS ?? "").split(",").filter(Boolean),
    },
  },
  certDir: dir,
  host: "127.0.0.1",
  port: 0,
});

const stop = (): void => {
  void server
    .close()
    .then(() => lookups.stop())
    .finally(() => process.exit(0));
};
createInterface({ input: process.stdin }).on("close", stop);
process.stdout.write(`${JSON.stringify({ url: server.url, caPem: cert.caCert })}\n`);
process.once("SIGTERM", stop);
