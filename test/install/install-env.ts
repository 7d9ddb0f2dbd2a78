/**
 * Set-up of the chart install test (test/integration/install-chart.test.ts): a dedicated local
 * control plane whose service CIDR is loopback (ADR 0066) and whose apiserver writes an audit
 * log of the release's ServiceAccounts; the image and Helm built (cached) by their scripts;
 * the external dependencies (a Postgres database, the development TSA); `helm template` of
 * charts/vaultmesh; kubectl against the dedicated cluster; and an inventory of every object
 * in the cluster, to tell what an uninstall left behind.
 */
import { execFile, spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { repoRoot, startCluster, type Cluster } from "../../hack/cluster/cluster.ts";
import { systemClock } from "../../services/ledger/clock.ts";
import { generateTsaCredentials } from "../../services/tsa/tsa-certs.ts";
import { createTsaResponder } from "../../services/tsa/tsa-responder.ts";
import { buildTsaServer, listenTsa } from "../../services/tsa/tsa-server.ts";

const run = promisify(execFile);

/** The release namespace of the test install. */
export const RELEASE_NAMESPACE = "vaultmesh-system";
/** The loopback range ClusterIPs come from (ADR 0066). */
export const SERVICE_CIDR = "127.0.96.0/24";

/** A result of a command; never throws on a non-zero exit. */
export interface CommandResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command with optional stdin; the exit code is in the result. */
export async function command(
  bin: string,
  args: readonly string[],
  input?: string,
  timeoutMs = 120000,
): Promise<CommandResult> {
  const p = run(bin, [...args], { maxBuffer: 64 * 1024 * 1024, timeout: timeoutMs });
  if (input !== undefined) p.child.stdin?.end(input);
  try {
    const { stdout, stderr } = await p;
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string; message: string };
    return {
      code: typeof e.code === "number" ? e.code : 1,
      stdout: e.stdout ?? "",
      stderr: e.stderr ?? e.message,
    };
  }
}

/** Runs a build script that prints a path on its last stdout line; throws with its stderr. */
export async function buildScript(script: string, timeoutMs: number): Promise<string> {
  const r = await command("bash", [join(repoRoot, script)], undefined, timeoutMs);
  if (r.code !== 0) throw new Error(`${script} failed (${r.code}):\n${r.stderr.slice(-4000)}`);
  return r.stdout.trim().split("\n").pop() ?? "";
}

// Metadata of every request by the release's ServiceAccounts: a 403 there is a verb the chart's
// RBAC does not grant.
const AUDIT_POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
  - level: Metadata
    userGroups: ["system:serviceaccounts:${RELEASE_NAMESPACE}"]
  - level: None
`;

/** The dedicated control plane and where its audit log goes. */
export interface InstallCluster {
  readonly cluster: Cluster;
  readonly auditLog: string;
  kubectl(args: readonly string[], input?: string): Promise<CommandResult>;
  /** Stops the control plane and removes its directory (kept with VAULTMESH_TEST_KEEP=1). */
  stop(): Promise<void>;
}

/** Starts the test's own control plane (the shared one must not get a cluster-wide install). */
export async function startInstallCluster(log: (m: string) => void): Promise<InstallCluster> {
  const dir = await mkdtemp(join(tmpdir(), "vaultmesh-install-cluster-"));
  const policy = join(dir, "audit-policy.yaml");
  const auditLog = join(dir, "audit.log");
  await writeFile(policy, AUDIT_POLICY);
  const cluster = await startCluster({
    dir: join(dir, "cluster"),
    name: "install",
    lifeline: true,
    serviceClusterIpRange: SERVICE_CIDR,
    extraArgs: {
      "kube-apiserver": [
        `--audit-policy-file=${policy}`,
        `--audit-log-path=${auditLog}`,
        "--audit-log-format=json",
      ],
    },
    log,
  });
  const kubectlBin = join(cluster.binDir, "kubectl");
  return {
    cluster,
    auditLog,
    kubectl: (args, input) =>
      command(kubectlBin, ["--kubeconfig", cluster.kubeconfig, ...args], input),
    async stop() {
      await cluster.stop();
      if (!process.env.VAULTMESH_TEST_KEEP) await rm(dir, { recursive: true, force: true });
    },
  };
}

/** One audit event, the fields the RBAC check reads. */
export interface AuditEvent {
  readonly user: { readonly username: string };
  readonly verb: string;
  readonly requestURI: string;
  readonly objectRef?: {
    readonly resource?: string;
    readonly subresource?: string;
    readonly namespace?: string;
    readonly name?: string;
    readonly apiGroup?: string;
  };
  readonly responseStatus?: { readonly code?: number };
}

/** The audit events logged so far. */
export async function readAudit(file: string): Promise<AuditEvent[]> {
  const text = await readFile(file, "utf8").catch(() => "");
  return text
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as AuditEvent);
}

/** The requests of the release's ServiceAccounts the API server refused (403), one line each. */
export async function refusedRequests(file: string): Promise<string[]> {
  const lines = (await readAudit(file))
    .filter((e) => e.responseStatus?.code === 403)
    .map((e) => {
      const o = e.objectRef ?? {};
      const resource = `${o.apiGroup ? `${o.apiGroup}/` : ""}${o.resource ?? e.requestURI}${o.subresource ? `/${o.subresource}` : ""}`;
      const where = `${o.namespace ? ` in ${o.namespace}` : ""}${o.name ? ` (${o.name})` : ""}`;
      return `${e.user.username} ${e.verb} ${resource}${where}`;
    });
  return [...new Set(lines)];
}

/**
 * Holds a machine-wide lock while the install test runs: its pods listen on fixed container
 * ports of the host's loopback (ADR 0066), so two runs on one machine (two `make test`s) take
 * turns instead of colliding. The lock is a `flock` child holding the file; it is released when
 * `release()` is called or this process dies (the child's stdin closes).
 */
export async function machineLock(path: string, timeoutMs: number): Promise<{ release(): void }> {
  const child = spawn(
    "flock",
    ["--timeout", String(Math.ceil(timeoutMs / 1000)), path, "sh", "-c", "echo locked; exec cat"],
    {
      stdio: ["pipe", "pipe", "pipe"],
    },
  );
  let err = "";
  child.stderr.on("data", (d: Buffer) => (err += d.toString()));
  await new Promise<void>((resolve, reject) => {
    child.stdout.once("data", () => resolve());
    child.once("exit", (code) =>
      reject(
        new Error(
          `another install test held ${path} for ${timeoutMs / 1000}s (flock exit ${code}${err ? `: ${err.trim()}` : ""})`,
        ),
      ),
    );
    child.once("error", (e) =>
      reject(new Error(`flock: ${e.message} (apt-get install -y util-linux)`)),
    );
  });
  child.unref();
  return { release: () => void child.stdin.end() };
}

/** Fails naming the port when something on this machine already listens on one of `ports`. */
export async function checkPortsFree(ports: ReadonlyMap<number, string>): Promise<void> {
  for (const [port, owner] of ports) {
    await new Promise<void>((resolve, reject) => {
      const s = createServer();
      s.once("error", (e) =>
        reject(
          new Error(
            `port ${port} (${owner}) is in use on this machine (${e.message}); the install test runs the chart's pods on the host's loopback with their container ports (ADR 0066)`,
          ),
        ),
      );
      s.listen({ host: "0.0.0.0", port }, () => s.close(() => resolve()));
    });
  }
}

/** The development TSA (services/tsa) on a loopback port, as an external dependency. */
export interface TestTsa {
  readonly url: string;
  readonly caPem: string;
  stop(): Promise<void>;
}

/** Starts the development TSA on 127.0.0.1. */
export async function startTsa(): Promise<TestTsa> {
  const credentials = await generateTsaCredentials(systemClock);
  const responder = await createTsaResponder({ credentials, clock: systemClock });
  const app = buildTsaServer({ responder });
  const url = await listenTsa(app, 0);
  return { url, caPem: responder.caCertificatePem, stop: () => app.close() };
}

/**
 * Renders the chart with `values` (written as a values file), then any `extraValueFiles`
 * (later files win, as with `helm -f a -f b`).
 */
export async function helmTemplate(
  helm: string,
  values: unknown,
  workDir: string,
  extraValueFiles: readonly string[] = [],
): Promise<string> {
  const file = join(workDir, "values.json");
  await writeFile(file, JSON.stringify(values, null, 2));
  const r = await command(helm, [
    "template",
    "vaultmesh",
    join(repoRoot, "charts/vaultmesh"),
    "--namespace",
    RELEASE_NAMESPACE,
    "-f",
    file,
    ...extraValueFiles.flatMap((f) => ["-f", f]),
  ]);
  if (r.code !== 0) throw new Error(`helm template failed:\n${r.stderr}`);
  return r.stdout;
}

/** Every object in the cluster as "resource[.group] namespace/name" (events left out). */
export async function inventory(kubectl: InstallCluster["kubectl"]): Promise<Set<string>> {
  const res = await kubectl(["api-resources", "--verbs=list", "-o", "name"]);
  if (res.code !== 0) throw new Error(`kubectl api-resources: ${res.stderr}`);
  const kinds = res.stdout
    .split("\n")
    .filter((k) => k !== "" && k !== "events" && k !== "events.events.k8s.io");
  const got = await kubectl(["get", kinds.join(","), "-A", "-o", "json"]);
  if (got.code !== 0) throw new Error(`kubectl get: ${got.stderr}`);
  const list = JSON.parse(got.stdout) as {
    items: { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } }[];
  };
  return new Set(
    list.items.map((o) => {
      const group = o.apiVersion.includes("/") ? o.apiVersion.split("/")[0] : "";
      return `${o.kind}${group ? `.${group}` : ""} ${o.metadata.namespace ?? ""}/${o.metadata.name}`;
    }),
  );
}

/** The last `lines` lines of `text`, for error messages. */
export function tail(text: string, lines = 30): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}
