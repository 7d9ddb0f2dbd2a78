// Issue 9: `node webhooks/main.ts serve` as the chart runs it (ADR 0065) — managed certificates,
// namespace from POD_NAMESPACE, --inject-ca-bundle (here into this file's configuration names)
// — as a real process against the real control plane: it creates the Secret, injects the CA
// into a configuration that already exists and into one applied after it started, serves a
// certificate that verifies for the Service name, and stops cleanly on SIGTERM. Bad flags end
// it at once with one line naming the flag.
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "node:tls";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { repoRoot } from "../../hack/cluster/cluster.ts";
import { KubeClient, Resources, loadClusterAccess } from "../../services/kube/index.ts";
import { secretMaterial, type SecretObject } from "../../webhooks/managed-certificates.ts";
import {
  renderWebhookConfigurations,
  type WebhookConfiguration,
} from "../../webhooks/manifests.ts";
import {
  WebhookConfigurationResources,
  deleteWebhookConfigurations,
} from "../../webhooks/registration.ts";
import { createTestNamespace, kubectl, waitFor } from "../harness/kube.ts";
import { startLoggedProcess, type LoggedProcess } from "../harness/server-process.ts";
import { WEBHOOK_TEST_LABEL, deleteNamespace } from "../harness/webhook.ts";

const run = promisify(execFile);
const main = join(repoRoot, "webhooks/main.ts");

let ns = "";
let dir = "";
let admin: KubeClient;
let configs: WebhookConfiguration[] = [];
let proc: LoggedProcess | undefined;

async function injectedCa(c: WebhookConfiguration): Promise<string | undefined> {
  const live = await admin.get<WebhookConfiguration>(
    WebhookConfigurationResources[c.kind],
    c.metadata.name,
  );
  const b64 = live?.webhooks[0]?.clientConfig.caBundle;
  return b64 ? Buffer.from(b64, "base64").toString("utf8") : undefined;
}

beforeAll(async () => {
  ns = await createTestNamespace("wcproc");
  dir = await mkdtemp(join(tmpdir(), "vaultmesh-wcproc-"));
  admin = await KubeClient.create(await loadClusterAccess(), { fieldManager: "wcproc-test" });
  expect(
    await kubectl(["-n", ns, "create", "service", "clusterip", "hook", "--tcp=443:9443"]),
  ).toMatchObject({ code: 0 });
  const id = ns.slice("wcproc-".length);
  const r = renderWebhookConfigurations({
    target: { url: "https://127.0.0.1:9/" },
    nameSuffix: `-${id}`,
    testScope: { key: WEBHOOK_TEST_LABEL, value: id },
  });
  configs = [r.validating, r.mutating];
});

afterAll(async () => {
  await proc?.kill("SIGKILL");
  await deleteWebhookConfigurations(admin, configs);
  await deleteNamespace(ns);
  admin.close();
  await rm(dir, { recursive: true, force: true });
});

describe("webhooks/main.ts serve --certificates=managed --inject-ca-bundle", () => {
  it("creates the Secret, keeps the CA in both configurations and serves for the Service name", async () => {
    const [validating, mutating] = configs;
    // One configuration exists before the server starts, the other is applied afterwards.
    await admin.create(WebhookConfigurationResources[validating!.kind], validating!);
    proc = startLoggedProcess({
      command: process.execPath,
      args: [
        main,
        "serve",
        "--certificates=managed",
        "--tls-secret=hook-tls",
        "--service-name=hook",
        "--inject-ca-bundle",
        `--validating-configuration=${validating!.metadata.name}`,
        `--mutating-configuration=${mutating!.metadata.name}`,
        "--port=0",
      ],
      logFile: join(dir, "serve.log"),
      env: { ...process.env, POD_NAMESPACE: ns, LOG_LEVEL: "info" },
    });
    const port = await waitFor("the server to listen", async () => {
      const m = /"url":"https:\/\/127\.0\.0\.1:(\d+)"/.exec(await readFile(proc!.logFile, "utf8"));
      if (proc!.exited()) throw new Error(`exited: ${await readFile(proc!.logFile, "utf8")}`);
      return m ? Number(m[1]) : undefined;
    });
    const secret = await waitFor("the Secret", async () => {
      const s = await admin.get<SecretObject>(Resources.Secret, "hook-tls", ns);
      return secretMaterial(s);
    });
    await waitFor("the CA in the existing configuration", async () =>
      (await injectedCa(validating!)) === secret.caCert ? true : undefined,
    );
    await admin.create(WebhookConfigurationResources[mutating!.kind], mutating!);
    await waitFor("the CA in the configuration applied later", async () =>
      (await injectedCa(mutating!)) === secret.caCert ? true : undefined,
    );
    const authorized = await new Promise<boolean>((resolve, reject) => {
      const socket = connect(
        { host: "127.0.0.1", port, servername: `hook.${ns}.svc`, ca: secret.caCert },
        () => {
          resolve(socket.authorized);
          socket.end();
        },
      );
      socket.on("error", reject);
    });
    expect(authorized).toBe(true);
    await proc.kill("SIGTERM");
    expect(proc.exited()).toEqual({ code: 0, signal: null });
  });

  it.each([
    [
      ["--certificates=mounted", "--service-name=hook"],
      "webhooks serve: --service-name applies to --certificates=managed only",
    ],
    [
      ["--certificates=vault"],
      'webhooks serve: --certificates="vault": expected managed or mounted',
    ],
    [["--certificate=managed"], "webhooks: Unknown option '--certificate'"],
  ])("refuses %j with one line naming the flag", async (flags, want) => {
    const err = await run(process.execPath, [main, "serve", ...flags], {
      env: { ...process.env, POD_NAMESPACE: ns },
    }).then(
      () => undefined,
      (e: unknown) => e as { code: number; stderr: string },
    );
    expect(err?.code).toBe(2);
    expect(err?.stderr.trim().split("\n")).toEqual([expect.stringContaining(want)]);
  });
});
