// The HTTPS listener: serves the certificate from its directory, swaps it when the files
// change (as a Secret update does), and keeps the old one when the new pair is broken.
import { X509Certificate } from "node:crypto";
import { mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { request } from "node:https";
import { connect } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import {
  CERT_FILES,
  generateServingCertificate,
  writeCertificateFiles,
  type ServingCertificate,
} from "./certs.ts";
import { MemoryLookups } from "./memory-lookups.ts";
import { WebhookMetrics } from "./metrics.ts";
import { startWebhookServer, type RunningWebhookServer } from "./server.ts";

let dir = "";
let first: ServingCertificate;
let second: ServingCertificate;
let server: RunningWebhookServer;
const reloads: { ok: boolean; error?: string }[] = [];
let onReload: ((ok: boolean) => void) | undefined;

/** The fingerprint of the certificate the server presents. */
async function servedFingerprint(port: number, ca: string): Promise<string> {
  return await new Promise((resolve, reject) => {
    // No servername: Node checks the IP address against the certificate's IP SANs.
    const socket = connect({ host: "127.0.0.1", port, ca }, () => {
      const fp = socket.getPeerX509Certificate()?.fingerprint256 ?? "";
      socket.end();
      resolve(fp);
    });
    socket.on("error", reject);
  });
}

/** GET /readyz without verifying the certificate (as the kubelet's probe does). */
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

const fingerprint = (pem: string): string => new X509Certificate(pem).fingerprint256;
/** Resolves at the next successful reload. */
const nextReload = (): Promise<void> =>
  new Promise((resolve) => {
    onReload = (ok) => {
      if (ok) resolve();
    };
  });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "vaultmesh-server-test-"));
  [first, second] = await Promise.all([generateServingCertificate(), generateServingCertificate()]);
  await writeCertificateFiles(dir, first);
  server = await startWebhookServer({
    deps: { lookups: new MemoryLookups() },
    certDir: dir,
    host: "127.0.0.1",
    port: 0,
    onCertificateReload: (r) => {
      reloads.push(r);
      onReload?.(r.ok);
    },
  });
});

afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

describe("startWebhookServer", () => {
  it("serves HTTPS with the certificate from its directory (IP SAN 127.0.0.1)", async () => {
    expect(await servedFingerprint(server.port, first.caCert)).toBe(fingerprint(first.cert));
  });

  it("reloads a changed certificate without a restart", async () => {
    const reloaded = nextReload();
    // Like a Secret volume update: new files appear by rename, the key first.
    const tmp = await mkdtemp(join(dir, "..new-"));
    await writeCertificateFiles(tmp, second);
    await rename(join(tmp, CERT_FILES.key), join(dir, CERT_FILES.key));
    await rename(join(tmp, CERT_FILES.cert), join(dir, CERT_FILES.cert));
    await rm(tmp, { recursive: true, force: true });
    await reloaded;
    // Intermediate states (new key, old certificate) may have been rejected on the way.
    expect(reloads.at(-1)).toEqual({ ok: true });
    expect(await servedFingerprint(server.port, second.caCert)).toBe(fingerprint(second.cert));
  });

  it("keeps serving the old certificate when the new pair does not match", async () => {
    await writeFile(join(dir, CERT_FILES.cert), first.cert); // second.key stays: a mismatch
    expect(await server.reloadCertificates()).toBe(false);
    expect(reloads.at(-1)?.ok).toBe(false);
    expect(await servedFingerprint(server.port, second.caCert)).toBe(fingerprint(second.cert));
  });
});

describe("startWebhookServer without a certificate yet", () => {
  it("listens, answers /readyz 503 with the reason, then serves the certificate once it appears", async () => {
    const empty = await mkdtemp(join(tmpdir(), "vaultmesh-server-empty-"));
    const metrics = new WebhookMetrics();
    const notAfter = async (): Promise<number | undefined> =>
      (await metrics.certificateNotAfter.get()).values[0]?.value;
    const late = await startWebhookServer({
      deps: { lookups: new MemoryLookups(), metrics },
      certDir: empty,
      host: "127.0.0.1",
      port: 0,
    });
    try {
      const before = await readyz(late.port);
      expect(before.status).toBe(503);
      expect(before.body).toEqual({
        status: "not ready",
        reasons: [expect.stringContaining(`certificate: cannot read ${empty}`)],
      });
      expect(late.servedCertificate()).toBeUndefined();
      expect(await notAfter()).toBe(0);
      await writeCertificateFiles(empty, first);
      expect(await late.reloadCertificates()).toBe(true);
      expect(await readyz(late.port)).toEqual({ status: 200, body: { status: "ready" } });
      expect(await servedFingerprint(late.port, first.caCert)).toBe(fingerprint(first.cert));
      expect(await notAfter()).toBe(new X509Certificate(first.cert).validToDate.getTime() / 1000);
    } finally {
      await late.close();
      await rm(empty, { recursive: true, force: true });
    }
  });
});
