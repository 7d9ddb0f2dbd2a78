/**
 * Runs one container of a Pod the API server holds as a process, the way a kubelet and a
 * container runtime would, from the unpacked image (ADR 0067): the environment and argv the
 * Pod spec resolves to, its Secret/ConfigMap/projected/downwardAPI volumes written to a tmpfs
 * and bind-mounted at their mountPaths, a ServiceAccount token from the TokenRequest API
 * (bound to the Pod) where the spec projects one (kube-api-access at
 * /var/run/secrets/kubernetes.io/serviceaccount), KUBERNETES_SERVICE_HOST/PORT, and the
 * process in its own mount, PID and UTS namespaces, chrooted into the image with the UID, GID
 * and read-only root the spec asks for. Networking is the host's loopback (ADR 0066).
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { delimiter, join } from "node:path";
import { groupAlive, startComponent, stopGroups, type Component } from "../cluster/process.ts";
import { Resources, type KubeClient, type KubeObject } from "../../services/kube/index.ts";
import {
  containerOf,
  containerPort,
  resolveArgv,
  resolveEnv,
  resolveIdentity,
  type ObjectData,
} from "./pod-spec.ts";
import { sandboxScript, type BindMount, type SandboxTool } from "./pod-script.ts";
import type { Container, ImageConfig, Pod } from "./pod-types.ts";
import {
  referencedObjects,
  tokenKey,
  tokenRequests,
  volumeFiles,
  writeVolumes,
  type VolumeContent,
} from "./pod-volumes.ts";

/** Options of {@link runPod}. */
export interface RunPodOptions {
  readonly pod: Pod;
  /** @default the first container */
  readonly container?: string;
  /** The "kubelet's" client: reads Secrets and ConfigMaps, requests tokens. */
  readonly client: KubeClient;
  readonly rootfs: string;
  readonly image: ImageConfig;
  /** What the kubelet puts in KUBERNETES_SERVICE_HOST/PORT. */
  readonly apiserver: { readonly host: string; readonly port: number };
  /** A directory on a tmpfs for the pod's volumes and overlay (created, removed by stop()). */
  readonly podDir: string;
  readonly logFile: string;
}

/** A pod whose container runs. */
export interface RunningPod {
  readonly name: string;
  readonly namespace: string;
  readonly logFile: string;
  /** The container's ports by name (and number), for Services and probes. */
  readonly container: Container;
  /** Resolves with the exit status once the sandbox is gone. */
  readonly exited: Promise<string>;
  isRunning(): boolean;
  /** True when the readiness probe (HTTP/HTTPS GET on loopback) answers 2xx/3xx; true without one. */
  ready(): Promise<boolean>;
  /** The host processes of the sandbox (its process group): PID, real UID and command name. */
  processes(): PodProcess[];
  /** SIGTERM, SIGKILL after `graceMs`; removes the pod directory. */
  stop(graceMs?: number): Promise<void>;
}

/** A host process of a pod's sandbox. */
export interface PodProcess {
  readonly pid: number;
  readonly uid: number;
  readonly comm: string;
}

/** The processes whose process group is `pgid`, read from /proc. */
function processGroup(pgid: number): PodProcess[] {
  const out: PodProcess[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const close = stat.lastIndexOf(")");
      const fields = stat.slice(close + 2).split(" ");
      if (Number(fields[2]) !== pgid) continue;
      const status = readFileSync(`/proc/${entry}/status`, "utf8");
      const uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1] ?? -1);
      out.push({ pid: Number(entry), uid, comm: stat.slice(stat.indexOf("(") + 1, close) });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

const TOOLS: readonly SandboxTool[] = [
  "mount",
  "mkdir",
  "touch",
  "ln",
  "setpriv",
  "unshare",
  "sleep",
];

/** Absolute paths of the host tools the sandbox needs, or an error naming the missing one. */
function hostTools(): Record<SandboxTool | "sh", string> {
  const dirs = [
    ...(process.env.PATH ?? "").split(delimiter),
    "/usr/sbin",
    "/usr/bin",
    "/sbin",
    "/bin",
  ];
  const find = (t: string): string => {
    for (const d of dirs) {
      if (d && existsSync(join(d, t))) return join(d, t);
    }
    throw new Error(`${t} not found on PATH: run 'apt-get install -y util-linux mount coreutils'`);
  };
  return Object.fromEntries([...TOOLS, "sh"].map((t) => [t, find(t)])) as Record<
    SandboxTool | "sh",
    string
  >;
}

async function fetchData(client: KubeClient, pod: Pod): Promise<ObjectData> {
  const ns = pod.metadata.namespace ?? "default";
  const refs = referencedObjects(pod);
  const secrets = new Map<string, Record<string, string>>();
  const configMaps = new Map<string, Record<string, string>>();
  for (const name of refs.secrets) {
    const s = await client.get<KubeObject & { data?: Record<string, string> }>(
      Resources.Secret,
      name,
      ns,
    );
    if (s) {
      secrets.set(
        name,
        Object.fromEntries(
          Object.entries(s.data ?? {}).map(([k, v]) => [
            k,
            Buffer.from(v, "base64").toString("utf8"),
          ]),
        ),
      );
    }
  }
  for (const name of refs.configMaps) {
    const c = await client.get<KubeObject & { data?: Record<string, string> }>(
      Resources.ConfigMap,
      name,
      ns,
    );
    if (c) configMaps.set(name, { ...(c.data ?? {}) });
  }
  return { secrets, configMaps };
}

/** Requests the Pod's projected tokens through the TokenRequest API, bound to the Pod. */
async function fetchTokens(client: KubeClient, pod: Pod): Promise<Map<string, string>> {
  const ns = pod.metadata.namespace ?? "default";
  const sa = pod.spec.serviceAccountName ?? "default";
  const tokens = new Map<string, string>();
  for (const t of tokenRequests(pod)) {
    const res = await client.request<{ status: { token: string } }>(
      "POST",
      `/api/v1/namespaces/${ns}/serviceaccounts/${sa}/token`,
      {
        apiVersion: "authentication.k8s.io/v1",
        kind: "TokenRequest",
        spec: {
          ...(t.audience ? { audiences: [t.audience] } : {}),
          expirationSeconds: t.expirationSeconds,
          boundObjectRef: {
            apiVersion: "v1",
            kind: "Pod",
            name: pod.metadata.name,
            uid: pod.metadata.uid,
          },
        },
      },
    );
    tokens.set(tokenKey(t.audience, t.expirationSeconds), res.status.token);
  }
  return tokens;
}

function bindMounts(
  c: Container,
  volumes: readonly VolumeContent[],
  dirs: ReadonlyMap<string, string>,
): BindMount[] {
  return (c.volumeMounts ?? []).map((m, i) => {
    const dir = dirs.get(m.name);
    const v = volumes.find((x) => x.name === m.name);
    if (!dir || !v) {
      throw new Error(
        `spec.containers[${c.name}].volumeMounts[${i}].name: no volume "${m.name}" in the pod`,
      );
    }
    const source = m.subPath ? join(dir, m.subPath) : dir;
    const file = existsSync(source) && statSync(source).isFile();
    // Secret, ConfigMap, projected and downwardAPI volumes are always read-only in a container.
    return {
      source,
      target: m.mountPath,
      readOnly: m.readOnly === true || v.kind === "files",
      file,
    };
  });
}

function probeOnce(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = (url.startsWith("https:") ? httpsRequest : httpRequest)(
      url,
      { timeout: 1000, rejectUnauthorized: false },
      (res) => {
        res.resume();
        const code = res.statusCode ?? 0;
        resolve(code >= 200 && code < 400);
      },
    );
    req.on("error", () => resolve(false));
    req.on("timeout", () => req.destroy());
    req.end();
  });
}

/**
 * Starts `sh script` in new mount, PID and UTS namespaces with exactly the container's
 * environment, in its own process group (hack/cluster's startComponent). setpriv's parent-death
 * signal kills unshare if this process dies (even by SIGKILL); unshare's --kill-child then sends
 * the sandbox's PID 1 the SIGTERM that stops the container with its grace period.
 */
function spawnSandbox(
  tools: Record<SandboxTool | "sh", string>,
  script: string,
  logFile: string,
  env: Record<string, string>,
): Component {
  return startComponent({
    name: "sandbox",
    bin: tools.setpriv,
    args: [
      "--pdeathsig=SIGKILL",
      "--",
      tools.unshare,
      "--mount",
      "--pid",
      "--uts",
      "--fork",
      "--kill-child=SIGTERM",
      "--",
      tools.sh,
      script,
    ],
    log: logFile,
    lifeline: false,
    env,
  });
}

/** Starts the container of `opts.pod`; throws naming the field when the spec cannot be honoured. */
export async function runPod(opts: RunPodOptions): Promise<RunningPod> {
  const { pod } = opts;
  const name = pod.metadata.name ?? "";
  const namespace = pod.metadata.namespace ?? "default";
  const c = containerOf(pod, opts.container);
  const [data, tokens] = await Promise.all([
    fetchData(opts.client, pod),
    fetchTokens(opts.client, pod),
  ]);
  const kubelet = {
    KUBERNETES_SERVICE_HOST: opts.apiserver.host,
    KUBERNETES_SERVICE_PORT: String(opts.apiserver.port),
    KUBERNETES_SERVICE_PORT_HTTPS: String(opts.apiserver.port),
    HOSTNAME: name,
  };
  const env = resolveEnv(pod, c, opts.image, data, kubelet);
  const argv = resolveArgv(c, opts.image, env);
  const identity = resolveIdentity(pod, c, opts.image);
  const volumes = (pod.spec.volumes ?? []).map((v) => volumeFiles(pod, v, data, tokens));
  await mkdir(opts.podDir, { recursive: true, mode: 0o711 });
  const dirs = await writeVolumes(
    join(opts.podDir, "volumes"),
    volumes,
    pod.spec.securityContext?.fsGroup,
  );
  const hosts = join(opts.podDir, "hosts");
  await writeFile(hosts, `127.0.0.1\tlocalhost\n::1\tlocalhost\n127.0.0.1\t${name}\n`, {
    mode: 0o644,
  });
  const tools = hostTools();
  const script = join(opts.podDir, "sandbox.sh");
  await writeFile(
    script,
    sandboxScript({
      rootfs: opts.rootfs,
      podDir: opts.podDir,
      hostname: (pod.spec.hostname ?? name).slice(0, 63),
      mounts: [
        ...bindMounts(c, volumes, dirs),
        { source: hosts, target: "/etc/hosts", readOnly: true, file: true },
      ],
      identity,
      workingDir: c.workingDir ?? opts.image.workingDir ?? "/",
      argv,
      envNames: [...env.keys()],
      graceSeconds: pod.spec.terminationGracePeriodSeconds ?? 30,
      tools,
    }),
    { mode: 0o700 },
  );
  const proc = spawnSandbox(tools, script, opts.logFile, Object.fromEntries(env));
  const probe = c.readinessProbe?.httpGet;
  const probeUrl = probe
    ? `${(probe.scheme ?? "HTTP").toLowerCase()}://127.0.0.1:${containerPort(c, probe.port)}${probe.path ?? "/"}`
    : undefined;
  let stopped = false;
  return {
    name,
    namespace,
    logFile: opts.logFile,
    container: c,
    exited: proc.exited,
    isRunning: () => proc.isRunning() || groupAlive(proc.pid),
    ready: async () => (probeUrl ? await probeOnce(probeUrl) : proc.isRunning()),
    processes: () => processGroup(proc.pid),
    async stop(graceMs = 10000) {
      if (stopped) return;
      stopped = true;
      await stopGroups([proc.pid], graceMs);
      await rm(opts.podDir, { recursive: true, force: true });
    },
  };
}
