/**
 * The admission server as the benchmark runs it: a child process (one Node event loop, pinned
 * to one core by the parent) holding the benchmark world in memory. Prints
 * `{"url": ..., "caPem": ...}` on stdout once listening; exits on SIGTERM or when stdin closes.
 * The comma-separated namespaces in $VAULTMESH_BENCH_POD_NAMESPACES get the bench Job chain too.
 *
 * The bench talks to it over stdin/stdout (never over an HTTP route, so the server it measures
 * is exactly the production one): a `reset` line starts a measurement window, a `report` line
 * answers with one JSON line of the window's figures ({@link ProbeReport} plus the TLS
 * connections accepted and requests answered).
 */
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { generateServingCertificate, writeCertificateFiles } from "../webhooks/certs.ts";
import { startWebhookServer } from "../webhooks/server.ts";
import { startProbe } from "./admission-probe.ts";
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

const probe = startProbe();
let connections = 0;
let requests = 0;
// New TLS sessions cost a handshake each; a keep-alive client should open none while measured.
server.app.server.on("secureConnection", () => connections++);
server.app.server.on("request", () => requests++);

const stop = (): void => {
  void server.close().then(() => process.exit(0));
};
createInterface({ input: process.stdin })
  .on("line", (line) => {
    if (line === "reset") {
      probe.reset();
      connections = 0;
      requests = 0;
    } else if (line === "report") {
      process.stdout.write(
        `${JSON.stringify({ ...probe.report(), tls_connections: connections, requests })}\n`,
      );
    }
  })
  .on("close", stop);
process.stdout.write(`${JSON.stringify({ url: server.url, caPem: cert.caCert })}\n`);
process.once("SIGTERM", stop);
