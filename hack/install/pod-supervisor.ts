/**
 * The install test's stand-in for a kubelet (ADR 0067): it follows the Pods the controllers
 * created in a namespace (Deployments → ReplicaSets → Pods, scheduled onto kwok's nodes), runs
 * the container of each scheduled Pod from the image with {@link runPod}, probes readiness,
 * and stops the process once its Pod is terminating or gone (so uninstalling a Deployment
 * stops what ran for it). kwok still writes the Pods' status; the processes are real.
 */
import { join } from "node:path";
import { Resources, type KubeClient, type KubeObject } from "../../services/kube/index.ts";
import { containerPort } from "./pod-spec.ts";
import { runPod, type RunningPod } from "./pod-runner.ts";
import type { ImageConfig, Pod } from "./pod-types.ts";
import type { ProxyBackend } from "./service-proxy.ts";

/** Options of {@link startPodSupervisor}. */
export interface PodSupervisorOptions {
  readonly client: KubeClient;
  readonly namespace: string;
  readonly rootfs: string;
  readonly image: ImageConfig;
  readonly apiserver: { readonly host: string; readonly port: number };
  /** A tmpfs directory for the pods' volumes and overlays. */
  readonly runDir: string;
  readonly logDir: string;
  readonly log?: (msg: string) => void;
  /** @default 500 */
  readonly intervalMs?: number;
}

/** A pod the supervisor runs, with its last readiness result. */
export interface SupervisedPod {
  readonly pod: Pod;
  readonly run: RunningPod;
  ready: boolean;
}

/** A running supervisor. */
export interface PodSupervisor {
  /** One pass: start new Pods, stop gone ones, probe readiness. */
  sync(): Promise<void>;
  /** Pods running now, by name. */
  readonly pods: ReadonlyMap<string, SupervisedPod>;
  /** Every pod ever started (with its log file), for diagnostics. */
  readonly history: readonly { readonly name: string; readonly logFile: string }[];
  /** Errors that kept a Pod from starting, by Pod name (the spec named what was wrong). */
  readonly failures: ReadonlyMap<string, string>;
  /** The running pods as Service backends. */
  backends(): ProxyBackend[];
  /** Stops the loop and every process. */
  close(): Promise<void>;
}

/** Starts following the Pods of `opts.namespace`. */
export function startPodSupervisor(opts: PodSupervisorOptions): PodSupervisor {
  const pods = new Map<string, SupervisedPod>();
  const history: { name: string; logFile: string }[] = [];
  const failures = new Map<string, string>();
  const log = opts.log ?? (() => {});
  let closed = false;

  const start = async (p: Pod): Promise<void> => {
    const name = p.metadata.name ?? "";
    const logFile = join(opts.logDir, `${name}.log`);
    try {
      const run = await runPod({
        pod: p,
        client: opts.client,
        rootfs: opts.rootfs,
        image: opts.image,
        apiserver: opts.apiserver,
        podDir: join(opts.runDir, name),
        logFile,
      });
      pods.set(name, { pod: p, run, ready: false });
      history.push({ name, logFile });
      failures.delete(name);
      log(`started ${name}`);
    } catch (err) {
      const msg = (err as Error).message;
      if (failures.get(name) !== msg) log(`cannot start ${name}: ${msg}`);
      failures.set(name, msg);
    }
  };

  const syncOnce = async (): Promise<void> => {
    const list = await opts.client.list<KubeObject>(Resources.Pod, { namespace: opts.namespace });
    const live = new Map(
      list.items.map((o) => {
        const p = o as unknown as Pod;
        return [p.metadata.name ?? "", p];
      }),
    );
    for (const [name, sp] of pods) {
      const cur = live.get(name);
      if (!cur || cur.metadata.deletionTimestamp || !sp.run.isRunning()) {
        pods.delete(name);
        log(`stopping ${name} (${stopCause(cur)})`);
        await sp.run.stop();
      }
    }
    for (const [name, p] of live) {
      // Exited containers are not restarted: a crash shows in the test, not in a restart loop.
      if (closed || pods.has(name) || history.some((h) => h.name === name)) continue;
      if (!p.spec.nodeName || p.metadata.deletionTimestamp) continue;
      await start(p);
    }
    await Promise.all(
      [...pods.values()].map(async (sp) => {
        sp.ready = await sp.run.ready();
      }),
    );
  };

  // One pass at a time: the timer and callers share it.
  let running: Promise<void> | undefined;
  const sync = (): Promise<void> =>
    (running ??= syncOnce()
      .catch((err: unknown) => log(`sync failed: ${(err as Error).message}`))
      .finally(() => (running = undefined)));
  const timer = setInterval(() => void sync(), opts.intervalMs ?? 500);
  timer.unref();

  return {
    sync,
    pods,
    history,
    failures,
    backends: () => [...pods.values()].map(podBackend),
    async close() {
      closed = true;
      clearInterval(timer);
      await running;
      await Promise.all([...pods.values()].map((sp) => sp.run.stop(5000)));
      pods.clear();
    },
  };
}

/** Why a supervised pod is stopped: its Pod is gone, terminating, or its process exited. */
function stopCause(cur: Pod | undefined): string {
  return cur ? (cur.metadata.deletionTimestamp ? "terminating" : "exited") : "deleted";
}

/** A running pod as a Service backend; its readiness is read at each call. */
function podBackend(sp: SupervisedPod): ProxyBackend {
  return {
    namespace: sp.run.namespace,
    name: sp.run.name,
    labels: sp.pod.metadata.labels ?? {},
    port: (target: number | string) => {
      try {
        return containerPort(sp.run.container, target);
      } catch {
        return undefined;
      }
    },
    ready: () => sp.ready,
  };
}
