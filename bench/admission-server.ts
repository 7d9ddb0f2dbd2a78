/**
 * The admission server as the benchmark runs it: a child process (one Node event loop, pinned
 * to one core by the parent) holding the benchmark world in memory. Prints
 * `{"url": ..., "caPem": ...}` on stdout once listening; exits on SIGTERM. The comma-separated
 * namespaces in $VAULTMESH_BENCH_POD_NAMESPACES get the bench Job chain too.
 */
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateServingCertificate, writeCertificateFiles } from "../webhooks/certs.ts";
import { startWebhookServer } from "../webhooks/server.ts";
import { benchLookups } from "./admission-world.ts";

const dir = await mkdtemp(join(tmpdir(), "vaultmesh-bench-webhook-"));
const cert = await generateServingCertificate();
await writeCertificateFiles(dir, cert);
const server = await startWebhookServer({
  deps: {
    lookups: benchLookups(
      (process.env.VAULTMESH_BENCH_POD_NAMESPACES ?? "").split(",").filter(Boolean),
    ),
  },
  certDir: dir,
  host: "127.0.0.1",
  port: 0,
});
process.stdout.write(`${JSON.stringify({ url: server.url, caPem: cert.caCert })}\n`);
process.once("SIGTERM", () => {
  void server.close().then(() => process.exit(0));
});
