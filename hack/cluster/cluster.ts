import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { request } from "node:https";
import { request as httpRequest } from "node:http";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { generatePki, type Pki } from "./pki.ts";
import { freePort } from "./ports.ts";
import { logTail, startComponent, stopGroups, type Component } from "./process.ts";
import { kubeconfigYaml } from "./kubeconfig.ts";
import {
  apiserverArgs,
  controllerManagerArgs,
  etcdArgs,
  kwokArgs,
  schedulerArgs,
} from "./component-args.ts";

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
/** Repository root. */
export const repoRoot = resolve(here, "../..");

/** What `cluster up` records so that `down`, `env` and `status` can find a cluster. */
export interface ClusterState {
  readonly name: string;
  readonly dir: string;
  readonly kubeconfig: string;
  readonly apiserverPort: number;
  readonly etcdPort: number;
  readonly pids: Record<string, number>;
  readonly ownerPid: number;
  readonly binDir: string;
  /** How each component was launched, so one can be started again (the chaos suite). */
  readonly specs: Record<string, ComponentSpec>;
}

/** A component's command line and log: what {@link restartComponent} needs. */
export interface ComponentSpec {
  readonly bin: string;
  readonly args: readonly string[];
  readonly log: string;
}

/** A running local control plane. */
export interface Cluster extends ClusterState {
  stop(): Promise<void>;
}

/** Options for {@link startCluster}. */
export interface StartOptions {
  /** Directory for PKI, data and logs; created, and removed by stop(). */
  readonly dir: string;
  readonly name?: string;
  /** Components die with this process (tests) or outlive it (`cluster up`). @default true */
  readonly lifeline?: boolean;
  /** Create the seed's CPU and GPU node pools. @default true */
  readonly nodePools?: boolean;
  readonly log?: (msg: string) => void;
  /** Extra flags per component, e.g. `{ "kube-apiserver": ["--v=4"] }`. @default {} */
  readonly extraArgs?: Readonly<Record<string, readonly string[]>>;
  /**
   * The apiserver's --service-cluster-ip-range. The install test uses a loopback range so that
   * ClusterIPs are addresses it may listen on (ADR 0066). @default "10.0.0.0/24"
   */
  readonly serviceClusterIpRange?: string;
}

/** Builds (or finds cached) control-plane binaries and returns their directory. */
export async function ensureBinaries(log: (m: string) => void = () => {}): Promise<string> {
  const start = Date.now();
  try {
    const { stdout } = await run("bash", [join(repoRoot, "hack/controlplane/build.sh")], {
      maxBuffer: 16 * 1024 * 1024,
      timeout: 80 * 60 * 1000,
    });
    log(`control-plane binaries ready in ${((Date.now() - start) / 1000).toFixed(1)}s`);
    return stdout.trim().split("\n").pop() ?? "";
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`building the control plane failed:\n${e.stderr ?? e.message}`);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function probe(url: string, pki?: Pki): Promise<number> {
  return new Promise((res) => {
    const opts = pki
      ? {
          ca: readFileSync(pki.caCert),
          cert: readFileSync(pki.adminCert),
          key: readFileSync(pki.adminKey),
          timeout: 2000,
        }
      : { timeout: 2000 };
    const req = (pki ? request : httpRequest)(url, opts, (r) => {
      r.resume();
      res(r.statusCode ?? 0);
    });
    req.on("error", () => res(0));
    req.on("timeout", () => req.destroy());
    req.end();
  });
}

async function waitReady(
  c: Component,
  check: () => Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!c.isRunning()) {
      throw new Error(
        `${c.name} exited during start-up; last lines of ${c.log}:\n${logTail(c.log)}`,
      );
    }
    if (await check()) return;
    await sleep(100);
  }
  throw new Error(
    `${c.name} not ready after ${timeoutMs / 1000}s; last lines of ${c.log}:\n${logTail(c.log)}`,
  );
}

/** Starts a component on fresh ports, retrying with new ports if one was taken meanwhile. */
async function startWithPorts(
  n: number,
  launch: (ports: number[]) => Promise<Component>,
): Promise<{ c: Component; ports: number[] }> {
  let lastErr: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const ports = await Promise.all(Array.from({ length: n }, () => freePort()));
    try {
      return { c: await launch(ports), ports };
    } catch (err) {
      lastErr = err;
      if (!String(err).includes("address already in use")) throw err;
    }
  }
  throw lastErr;
}

async function kubectl(
  binDir: string,
  kubeconfig: string,
  args: readonly string[],
): Promise<string> {
  try {
    const { stdout } = await run(join(binDir, "kubectl"), ["--kubeconfig", kubeconfig, ...args], {
      maxBuffer: 16 * 1024 * 1024,
    });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`kubectl ${args.join(" ")} failed: ${e.stderr ?? e.message}`);
  }
}

/** Spawns a component with its flags (and records it); what startCluster hands its steps. */
type Spawn = (name: string, args: string[]) => Component;

/** Starts etcd on fresh ports and waits for its health; returns its client port. */
async function startEtcd(spawnC: Spawn, dir: string): Promise<number> {
  const etcd = await startWithPorts(2, async ([client, peer]) => {
    const c = spawnC("etcd", etcdArgs(dir, client as number, peer as number));
    await waitReady(
      c,
      async () => (await probe(`http://127.0.0.1:${client}/health`)) === 200,
      30000,
    );
    return c;
  });
  return etcd.ports[0] as number;
}

/** Starts kube-apiserver on a fresh port and waits until it is ready; returns that port. */
async function startApiserver(
  spawnC: Spawn,
  o: Omit<Parameters<typeof apiserverArgs>[0], "port">,
): Promise<number> {
  const api = await startWithPorts(1, async ([port]) => {
    const c = spawnC("kube-apiserver", apiserverArgs({ ...o, port: port as number }));
    await waitReady(
      c,
      async () => (await probe(`https://127.0.0.1:${port}/readyz`, o.pki)) === 200,
      90000,
    );
    return c;
  });
  return api.ports[0] as number;
}

/** Creates the seed's node pools and waits until kwok reports every node Ready. */
async function createNodePools(kwok: Component, binDir: string, kubeconfig: string): Promise<void> {
  await kubectl(binDir, kubeconfig, [
    "apply",
    "-f",
    join(repoRoot, "hack/controlplane/node-pools.yaml"),
  ]);
  const want = (await kubectl(binDir, kubeconfig, ["get", "nodes", "-o", "name"]))
    .trim()
    .split("\n").length;
  await waitReady(
    kwok,
    async () => {
      const out = await kubectl(binDir, kubeconfig, [
        "get",
        "nodes",
        "-o",
        'jsonpath={range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}',
      ]);
      return out.split("\n").filter((l) => l === "True").length === want;
    },
    60000,
  );
}

/**
 * Starts etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok on
 * 127.0.0.1 with free ports and a fresh PKI, writes `<dir>/kubeconfig`, creates the node
 * pools and waits until every node is Ready. On any failure it stops what it started and
 * throws with the failing component's log tail.
 */
export async function startCluster(opts: StartOptions): Promise<Cluster> {
  const log = opts.log ?? (() => {});
  const lifeline = opts.lifeline ?? true;
  const name = opts.name ?? "test";
  const t0 = Date.now();
  const binDir = await ensureBinaries(log);
  const dir = resolve(opts.dir);
  await mkdir(join(dir, "pki"), { recursive: true });
  await mkdir(join(dir, "logs"), { recursive: true });
  const started: Component[] = [];
  const specs: Record<string, ComponentSpec> = {};
  const bin = (b: string): string => join(binDir, b);
  const spawnC = (n: string, args: string[]): Component => {
    const spec = {
      bin: bin(n),
      args: [...args, ...(opts.extraArgs?.[n] ?? [])],
      log: join(dir, "logs", `${n}.log`),
    };
    specs[n] = spec;
    const c = startComponent({ name: n, ...spec, lifeline });
    started.push(c);
    return c;
  };
  try {
    const pki = await generatePki(join(dir, "pki"));
    const etcdPort = await startEtcd(spawnC, dir);
    const serviceClusterIpRange = opts.serviceClusterIpRange ?? "10.0.0.0/24";
    const apiserverPort = await startApiserver(spawnC, {
      dir,
      name,
      etcdPort,
      pki,
      serviceClusterIpRange,
    });
    const kubeconfig = join(dir, "kubeconfig");
    await writeFile(
      kubeconfig,
      kubeconfigYaml({ name, server: `https://127.0.0.1:${apiserverPort}`, pki }),
      { mode: 0o600 },
    );
    spawnC("kube-controller-manager", controllerManagerArgs(kubeconfig, pki));
    spawnC("kube-scheduler", schedulerArgs(kubeconfig));
    const kwokPort = await freePort();
    const stagesDir = join(repoRoot, "hack/controlplane/kwok-stages");
    const stages = (await readdir(stagesDir)).filter((f) => f.endsWith(".yaml")).sort();
    const kwok = spawnC(
      "kwok",
      kwokArgs({ kubeconfig, stages: stages.map((f) => join(stagesDir, f)), port: kwokPort, pki }),
    );
    if (opts.nodePools ?? true) await createNodePools(kwok, binDir, kubeconfig);
    for (const c of started) {
      if (!c.isRunning())
        throw new Error(`${c.name} exited; last lines of ${c.log}:\n${logTail(c.log)}`);
    }
    const pids = Object.fromEntries(started.map((c) => [c.name, c.pid]));
    const state: ClusterState = {
      name,
      dir,
      kubeconfig,
      apiserverPort,
      etcdPort,
      pids,
      ownerPid: process.pid,
      binDir,
      specs,
    };
    await writeFile(join(dir, "state.json"), JSON.stringify(state, null, 2));
    log(
      `cluster ${name} up in ${((Date.now() - t0) / 1000).toFixed(1)}s (apiserver 127.0.0.1:${apiserverPort})`,
    );
    return { ...state, stop: () => stopCluster(state) };
  } catch (err) {
    await stopGroups(started.map((c) => c.pid));
    throw err;
  }
}

/**
 * Starts one component of a running cluster again from its recorded spec (after it was killed),
 * in its own process group, dying with this process; the caller waits for its readiness. The
 * new pid replaces the recorded one, so stopping the cluster never signals the dead process's
 * group id — which the kernel may have handed to someone else's process by then.
 */
export function restartComponent(
  state: Pick<ClusterState, "specs" | "pids">,
  name: string,
): Component {
  const spec = state.specs[name];
  if (!spec) throw new Error(`cluster has no component ${name}`);
  const c = startComponent({ name, ...spec, lifeline: true });
  state.pids[name] = c.pid;
  return c;
}

/** Stops every component of a cluster and removes its directory. Safe to call twice. */
export async function stopCluster(state: Pick<ClusterState, "dir" | "pids">): Promise<void> {
  await stopGroups(Object.values(state.pids));
  await rm(state.dir, { recursive: true, force: true });
}

/** Reads the state of a cluster started with `cluster up`, or undefined. */
export async function readState(dir: string): Promise<ClusterState | undefined> {
  const p = join(dir, "state.json");
  if (!existsSync(p)) return undefined;
  return JSON.parse(await readFile(p, "utf8")) as ClusterState;
}
