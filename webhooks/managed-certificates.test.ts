// Managed certificates when the apiserver does not answer (a TCP listener that accepts and never
// replies, at the network boundary): the webhook server still listens, /readyz says why it is
// not ready, and closing does not hang. The Secret-handling paths run against the real control
// plane in test/integration/webhook-certs.test.ts.
import { createServer, type Server, type Socket } from "node:net";
import { request } from "node:https";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { KubeClient } from "../services/kube/index.ts";
import { ManagedCertificates, secretMaterial } from "./managed-certificates.ts";
import { MemoryLookups } from "./memory-lookups.ts";
import { startWebhookServer } from "./server.ts";

let silent: Server;
const sockets: Socket[] = [];
let client: KubeClient;

beforeAll(async () => {
  silent = createServer((s) => sockets.push(s));
  await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
  const port = (silent.address() as { port: number }).port;
  client = await KubeClient.create(
    {
      server: `http://127.0.0.1:${port}`,
      tls: {},
      headers: () => Promise.resolve({}),
      source: "a silent apiserver",
    },
    // Longer than the test may take: only start()'s bounded first attempt lets the server listen.
    { timeoutMs: 60_000 },
  );
});

afterAll(async () => {
  client.close();
  for (const s of sockets) s.destroy();
  await new Promise((r) => silent.close(r));
});

async function readyz(port: number): Promise<{ status: number; body: unknown }> {
  return await new Promise((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port, path: "/readyz", rejectUnauthorized: false },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (text += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

describe("ManagedCertificates with an apiserver that does not answer", () => {
  it("lets the server listen and report why it is not ready", async () => {
    const managed = new ManagedCertificates({
      client,
      namespace: "vaultmesh-system",
      secretName: "vaultmesh-webhook-tls",
      serviceName: "vaultmesh-webhook",
      firstAttemptMs: 100,
      minBackoffMs: 50,
    });
    const server = await startWebhookServer({
      deps: { lookups: new MemoryLookups() },
      certificates: managed,
      host: "127.0.0.1",
      port: 0,
    });
    try {
      const res = await readyz(server.port);
      expect(res.status).toBe(503);
      expect(res.body).toEqual({
        status: "not ready",
        reasons: ["certificate: secret vaultmesh-system/vaultmesh-webhook-tls not read yet"],
      });
      expect(server.servedCertificate()).toBeUndefined();
    } finally {
      // Hang up on the pending requests, so stopping the Secret watch does not wait for them.
      for (const s of sockets) s.destroy();
      await server.close();
    }
  });
});

describe("secretMaterial", () => {
  it.each([
    ["no Secret", undefined, undefined],
    ["no data", { metadata: { name: "s" } }, {}],
    [
      "every key",
      {
        metadata: { name: "s" },
        data: {
          "tls.crt": Buffer.from("C").toString("base64"),
          "tls.key": Buffer.from("K").toString("base64"),
          "ca.crt": Buffer.from("A").toString("base64"),
          "ca.key": Buffer.from("B").toString("base64"),
        },
      },
      { cert: "C", key: "K", caCert: "A", caKey: "B" },
    ],
  ])("decodes %s", (_name, secret, want) => {
    const got = secretMaterial(secret);
    expect(
      got === undefined
        ? got
        : Object.fromEntries(Object.entries(got).filter(([, v]) => v !== undefined)),
    ).toEqual(want);
  });
});
