// Issue 9: managed webhook certificates and CA injection against the real control plane
// (ADR 0065), with the permissions of config/webhook/rbac.yaml only: the managers and injectors
// act as the webhook's ServiceAccount (impersonated), in this file's namespace, with the
// ClusterRole's configuration names swapped for this file's copies.
//   - two replicas starting together create ONE Secret and serve the same certificate;
//   - the served certificate verifies against the injected caBundle for the Service DNS name;
//   - a configuration re-created, or its caBundle cleared, gets the CA back (watched), and a
//     configuration that is already right is never written;
//   - a rotation by one replica (clock moved on) is picked up by the other through the watch;
//   - a server without permission is not ready with the reason, retries, and recovers;
//   - deleting the Service garbage-collects the Secret.
import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { request } from "node:https";
import { join } from "node:path";
import { connect } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import YAML from "yaml";
import { repoRoot } from "../../hack/cluster/cluster.ts";
import {
  KubeClient,
  Resources,
  loadClusterAccess,
  type KubeObject,
} from "../../services/kube/index.ts";
import { CaBundleInjector, type InjectionTarget } from "../../webhooks/ca-injector.ts";
import { serviceDnsNames } from "../../webhooks/cert-checks.ts";
import {
  ManagedCertificates,
  secretMaterial,
  type SecretObject,
} from "../../webhooks/managed-certificates.ts";
import {
  CONFIGURATION_NAMES,
  renderWebhookConfigurations,
  type WebhookConfiguration,
} from "../../webhooks/manifests.ts";
import { MemoryLookups } from "../../webhooks/memory-lookups.ts";
import {
  WebhookConfigurationResources,
  deleteWebhookConfigurations,
} from "../../webhooks/registration.ts";
import { startWebhookServer, type RunningWebhookServer } from "../../webhooks/server.ts";
import { createTestNamespace, kubectl, waitFor } from "../harness/kube.ts";
import { WEBHOOK_TEST_LABEL, deleteNamespace } from "../harness/webhook.ts";

const SECRET = "vaultmesh-webhook-tls";
const SERVICE = "vaultmesh-webhook";
const SERVICE_ACCOUNT = "vaultmesh-webhook";
const DAY = 86_400_000;

let ns = "";
let id = "";
let admin: KubeClient;
let configs: WebhookConfiguration[] = [];
let targets: InjectionTarget[] = [];
const clusterScoped: string[] = [];
const clients: KubeClient[] = [];
// Shared by both replicas: the test moves time on for a rotation, as a real clock would.
let offsetMs = 0;
const clock = (): Date => new Date(Date.now() + offsetMs);

/** A client that acts as `user` (a ServiceAccount of `ns`) through impersonation. */
async function clientAs(serviceAccount: string): Promise<KubeClient> {
  const access = await loadClusterAccess();
  const user = `system:serviceaccount:${ns}:${serviceAccount}`;
  const groups = ["system:serviceaccounts", `system:serviceaccounts:${ns}`, "system:authenticated"];
  const client = await KubeClient.create(
    {
      ...access,
      headers: async () =>
        ({
          ...(await access.headers()),
          "Impersonate-User": user,
          // node:http sends an array as repeated headers, as impersonation wants.
          "Impersonate-Group": groups,
        }) as unknown as Record<string, string>,
    },
    { fieldManager: `webhook-certs-${serviceAccount}` },
  );
  clients.push(client);
  return client;
}

/** The parts of an RBAC object the rewrite below touches. */
interface RbacObject {
  kind: string;
  metadata: { name: string; namespace?: string };
  roleRef?: { kind: string; name: string };
  subjects?: { namespace?: string }[];
  rules?: { resourceNames?: string[] }[];
}

/** config/webhook/rbac.yaml for this file: its namespace, and its configuration names. */
function rbacForTest(): string {
  const rename: Record<string, string> = {
    [CONFIGURATION_NAMES.validating]: `${CONFIGURATION_NAMES.validating}-${id}`,
    [CONFIGURATION_NAMES.mutating]: `${CONFIGURATION_NAMES.mutating}-${id}`,
  };
  const docs = YAML.parseAllDocuments(
    readFileSync(join(repoRoot, "config/webhook/rbac.yaml"), "utf8"),
  ).map((d) => d.toJS() as RbacObject);
  for (const d of docs) {
    if (d.metadata.namespace) d.metadata.namespace = ns;
    if (d.kind === "ClusterRole" || d.kind === "ClusterRoleBinding") {
      d.metadata.name = `${d.metadata.name}-${id}`;
      clusterScoped.push(`${d.kind.toLowerCase()}/${d.metadata.name}`);
    }
    if (d.roleRef?.kind === "ClusterRole") d.roleRef.name = `${d.roleRef.name}-${id}`;
    for (const s of d.subjects ?? []) s.namespace = ns;
    for (const r of d.rules ?? []) {
      if (r.resourceNames) r.resourceNames = r.resourceNames.map((n) => rename[n] ?? n);
    }
  }
  return docs.map((d) => YAML.stringify(d)).join("---\n");
}

async function getSecret(): Promise<SecretObject | undefined> {
  return await admin.get<SecretObject>(Resources.Secret, SECRET, ns);
}

async function getConfig(t: InjectionTarget): Promise<WebhookConfiguration | undefined> {
  return await admin.get<WebhookConfiguration>(WebhookConfigurationResources[t.kind], t.name);
}

async function createConfig(c: WebhookConfiguration): Promise<void> {
  await admin.create(WebhookConfigurationResources[c.kind], c);
}

/** The caBundle (PEM) of every entry of `t`, when they all carry the same one. */
async function injectedCa(t: InjectionTarget): Promise<string | undefined> {
  const c = await getConfig(t);
  const bundles = new Set((c?.webhooks ?? []).map((w) => w.clientConfig.caBundle ?? ""));
  const [only] = [...bundles];
  if (bundles.size !== 1 || !only) return undefined;
  return Buffer.from(only, "base64").toString("utf8");
}

/** Connects as the apiserver would: to the server, for the Service's DNS name, trusting `ca`. */
async function handshake(port: number, servername: string, ca: string): Promise<X509Certificate> {
  return await new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, servername, ca }, () => {
      const peer = socket.getPeerX509Certificate();
      socket.end();
      if (peer) resolve(peer);
      else reject(new Error("no peer certificate"));
    });
    socket.on("error", reject);
  });
}

/** The certificate the server presents, unverified. */
async function presented(port: number): Promise<X509Certificate> {
  return await new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, rejectUnauthorized: false }, () => {
      const peer = socket.getPeerX509Certificate();
      socket.end();
      if (peer) resolve(peer);
      else reject(new Error("no peer certificate"));
    });
    socket.on("error", reject);
  });
}

async function readyz(port: number): Promise<{ status: number; body: string }> {
  return await new Promise((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port, path: "/readyz", rejectUnauthorized: false },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (body += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

function servedCert(m: ManagedCertificates): string | undefined {
  const c = m.current();
  return "cert" in c ? c.cert : undefined;
}

let server: RunningWebhookServer;
let replicaA: ManagedCertificates;
let replicaB: ManagedCertificates;
let injectorA: CaBundleInjector;
let injectorB: CaBundleInjector;

beforeAll(async () => {
  ns = await createTestNamespace("wcerts");
  id = ns.slice("wcerts-".length);
  admin = await KubeClient.create(await loadClusterAccess(), {
    fieldManager: "webhook-certs-test",
  });
  clients.push(admin);
  const rbac = await kubectl(["apply", "-f", "-"], rbacForTest());
  expect(rbac).toMatchObject({ code: 0 });
  const svc = await kubectl(
    ["-n", ns, "create", "service", "clusterip", SERVICE, "--tcp=443:9443"],
    undefined,
  );
  expect(svc).toMatchObject({ code: 0 });
  const rendered = renderWebhookConfigurations({
    target: { url: "https://127.0.0.1:9/" },
    nameSuffix: `-${id}`,
    testScope: { key: WEBHOOK_TEST_LABEL, value: id },
  });
  configs = [rendered.validating, rendered.mutating];
  targets = configs.map((c) => ({ kind: c.kind, name: c.metadata.name }));
  const replica = async (): Promise<ManagedCertificates> =>
    new ManagedCertificates({
      client: await clientAs(SERVICE_ACCOUNT),
      namespace: ns,
      secretName: SECRET,
      serviceName: SERVICE,
      clock,
      minBackoffMs: 100,
      maxBackoffMs: 1000,
    });
  replicaA = await replica();
  replicaB = await replica();
});

let stopped = false;
async function stopReplicas(): Promise<void> {
  if (stopped) return;
  stopped = true;
  await injectorA?.stop();
  await injectorB?.stop();
  await server?.close();
  await replicaB?.stop();
}

afterAll(async () => {
  await stopReplicas();
  await deleteWebhookConfigurations(admin, configs);
  for (const o of clusterScoped) await kubectl(["delete", o, "--ignore-not-found"]);
  await deleteNamespace(ns);
  for (const c of clients) c.close();
});

describe("managed webhook certificates", () => {
  it("two replicas starting together create one Secret and serve the same certificate", async () => {
    expect(await getSecret()).toBeUndefined();
    [server] = await Promise.all([
      startWebhookServer({
        deps: { lookups: new MemoryLookups() },
        certificates: replicaA,
        host: "127.0.0.1",
        port: 0,
      }),
      replicaB.start(),
    ]);
    const secret = await getSecret();
    const stored = secretMaterial(secret);
    expect(stored?.cert).toBeDefined();
    expect(servedCert(replicaA)).toBe(stored?.cert);
    expect(servedCert(replicaB)).toBe(stored?.cert);
    expect(server.servedCertificate()?.cert).toBe(stored?.cert);
    expect(secret).toMatchObject({
      type: "kubernetes.io/tls",
      metadata: {
        labels: { "app.kubernetes.io/managed-by": "vaultmesh-webhook" },
        ownerReferences: [{ kind: "Service", name: SERVICE }],
      },
    });
    expect(await readyz(server.port)).toEqual({
      status: 200,
      body: JSON.stringify({ status: "ready" }),
    });
  });

  it("injects the CA into configurations created after the server started", async () => {
    const caBundle = (m: ManagedCertificates) => (): string | undefined => {
      const c = m.current();
      return "caCert" in c ? c.caCert : undefined;
    };
    injectorA = new CaBundleInjector({
      client: await clientAs(SERVICE_ACCOUNT),
      caBundle: caBundle(replicaA),
      targets,
      minBackoffMs: 100,
      maxBackoffMs: 1000,
    });
    injectorB = new CaBundleInjector({
      client: await clientAs(SERVICE_ACCOUNT),
      caBundle: caBundle(replicaB),
      targets,
      minBackoffMs: 100,
      maxBackoffMs: 1000,
    });
    // As webhooks/main.ts wires them: a new certificate (maybe a new CA) is injected at once.
    replicaA.onChange(() => void injectorA.sync());
    replicaB.onChange(() => void injectorB.sync());
    await Promise.all([injectorA.start(), injectorB.start()]);
    // Nothing to inject into yet: not an error, and no write.
    expect(injectorA.notReady()).toBeUndefined();
    for (const c of configs) await createConfig(c);
    const ca = secretMaterial(await getSecret())?.caCert;
    for (const t of targets) {
      await waitFor(`the CA in ${t.name}`, async () => (await injectedCa(t)) === ca, 15_000);
    }
  });

  it("serves a certificate that verifies against the injected CA for the Service DNS names", async () => {
    const ca = await injectedCa(targets[0]!);
    expect(ca).toBeDefined();
    const stored = new X509Certificate(secretMaterial(await getSecret())!.cert!);
    for (const name of serviceDnsNames(SERVICE, ns)) {
      const peer = await handshake(server.port, name, ca!);
      expect(peer.fingerprint256).toBe(stored.fingerprint256);
    }
    // And not for another name: the check is real.
    await expect(handshake(server.port, `other.${ns}.svc`, ca!)).rejects.toThrow(
      /does not match certificate's altnames/,
    );
  });

  it("writes nothing when every configuration already carries the CA", async () => {
    const before = await Promise.all(targets.map(getConfig));
    const writes = injectorA.writes + injectorB.writes;
    await Promise.all([injectorA.sync(), injectorB.sync(), injectorA.sync()]);
    const after = await Promise.all(targets.map(getConfig));
    const versions = (cs: (WebhookConfiguration | undefined)[]): unknown[] =>
      cs.map((c) => (c as KubeObject | undefined)?.metadata?.resourceVersion);
    expect(versions(after)).toEqual(versions(before));
    expect(injectorA.writes + injectorB.writes).toBe(writes);
  });

  it("puts the CA back into a configuration deleted and re-created", async () => {
    const [validating] = configs;
    const t = targets[0]!;
    const ca = await injectedCa(t);
    await admin.delete(WebhookConfigurationResources[t.kind], { name: t.name });
    await createConfig(validating!); // as applied from Git: no caBundle
    await waitFor(`the CA back in ${t.name}`, async () => (await injectedCa(t)) === ca, 15_000);
  });

  it("puts the CA back into a configuration whose caBundle was cleared", async () => {
    const t = targets[1]!;
    const ca = await injectedCa(t);
    const current = await getConfig(t);
    for (const w of current!.webhooks) delete w.clientConfig.caBundle;
    await admin.replace(WebhookConfigurationResources[t.kind], current!);
    await waitFor(`the CA back in ${t.name}`, async () => (await injectedCa(t)) === ca, 15_000);
  });

  it("a rotation by one replica is served by the other (same CA, so the caBundle stays)", async () => {
    const before = secretMaterial(await getSecret())!;
    offsetMs = 300 * DAY; // past renewAt (90 days before the 365-day certificate expires)
    expect(await replicaB.refresh()).toBe(true);
    const after = secretMaterial(await getSecret())!;
    expect(after.cert).not.toBe(before.cert);
    expect(after.caCert).toBe(before.caCert);
    expect(servedCert(replicaB)).toBe(after.cert);
    // Replica A only learns of it through its watch on the Secret.
    await waitFor("replica A serving the rotated certificate", async () =>
      Promise.resolve(server.servedCertificate()?.cert === after.cert),
    );
    // Its validity starts 300 days from now, so no verifying client takes it today: compare it.
    expect((await presented(server.port)).fingerprint256).toBe(
      new X509Certificate(after.cert!).fingerprint256,
    );
  });

  it("a new CA reaches both configurations, and the old CA stays trusted meanwhile", async () => {
    const before = secretMaterial(await getSecret())!;
    offsetMs = 3400 * DAY; // within a year of the CA's 10-year expiry
    expect(await replicaA.refresh()).toBe(true);
    const after = secretMaterial(await getSecret())!;
    expect(after.caCert).not.toBe(before.caCert);
    expect(after.caCert).toContain(before.caCert!.trim());
    for (const t of targets) {
      await waitFor(`the new CA in ${t.name}`, async () => (await injectedCa(t)) === after.caCert);
    }
    await waitFor("replica B serving the new certificate", async () =>
      Promise.resolve(servedCert(replicaB) === after.cert),
    );
  });
});

describe("a server that cannot get its certificate", () => {
  it("is not ready with the reason, keeps retrying, and serves once allowed", async () => {
    const denied = new ManagedCertificates({
      client: await clientAs("no-rbac-yet"),
      namespace: ns,
      secretName: SECRET,
      serviceName: SERVICE,
      clock,
      minBackoffMs: 100,
      maxBackoffMs: 500,
    });
    const late = await startWebhookServer({
      deps: { lookups: new MemoryLookups() },
      certificates: denied,
      host: "127.0.0.1",
      port: 0,
    });
    try {
      const res = await readyz(late.port);
      expect(res.status).toBe(503);
      const body = JSON.parse(res.body) as { reasons: string[] };
      expect(body.reasons).toEqual([
        expect.stringMatching(new RegExp(`^certificate: secret ${ns}/${SECRET}: .*403.*forbidden`)),
      ]);
      const bind = await kubectl([
        "-n",
        ns,
        "create",
        "rolebinding",
        "late-certificates",
        "--role=vaultmesh-webhook-certificates",
        `--serviceaccount=${ns}:no-rbac-yet`,
      ]);
      expect(bind).toMatchObject({ code: 0 });
      await waitFor("the late server ready", async () => (await readyz(late.port)).status === 200);
      expect(late.servedCertificate()?.cert).toBe(secretMaterial(await getSecret())?.cert);
    } finally {
      await late.close();
    }
  });
});

describe("uninstall", () => {
  it("deleting the Service garbage-collects the Secret it owns", async () => {
    await stopReplicas();
    expect((await kubectl(["-n", ns, "delete", "service", SERVICE])).code).toBe(0);
    await waitFor("the Secret gone", async () => (await getSecret()) === undefined, 60_000);
  });
});
