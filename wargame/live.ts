// Live mode's I/O half (ADR 0133): plays a scenario's plan (live-plan.ts) against the real
// operator on a control plane with one provider simulator per external provider, then reads
// the result back from the GPUWorkloads. The operator, the client and the namespace are given:
// the agreement test (ADR 0133) passes the shared test control plane and the CLI a stack of its
// own (live-stack.ts), both with the in-process operator of hack/in-process-operator.ts; nothing
// here knows how they were started.
import type { GPUWorkload, Treaty } from "../crds/index.ts";
import { API_VERSION } from "../crds/index.ts";
import { Resources, type KubeClient } from "../services/kube/index.ts";
import {
  startProviderSim,
  type RunningSim,
  type SimFaults,
} from "../services/provider-sim/index.ts";
import type { RoutingStrategy } from "../services/routing/index.ts";
import {
  livePlan,
  liveResult,
  type FaultSwitch,
  type LivePlan,
  type LiveResult,
} from "./live-plan.ts";
import { prng } from "./sim-kernel.ts";
import type { Scenario } from "./scenario.ts";

/** What a live run needs. */
export interface LiveDeps {
  readonly client: KubeClient;
  /** Namespace the workloads and the credentials Secret go in. */
  readonly namespace: string;
  /** `key=value` label put on the Treaties (the operator's treaty selector). */
  readonly treatyLabel: string;
  /** Simulated ms per wall ms. */
  readonly compression: number;
  /** Wall ms to wait past the plan's end for workloads to finish. @default 30000 */
  readonly settleMs?: number;
  readonly strategy?: RoutingStrategy;
  readonly log?: (msg: string) => void;
  /** Wall clock and timer (tests of this module stay on real time). */
  readonly now?: () => number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, ms)));

/** Treaties of the scenario as Treaty objects on the simulators' endpoints. */
export function liveTreaties(
  s: Scenario,
  compression: number,
  urls: ReadonlyMap<string, string>,
  label: string,
  secret: { name: string; namespace: string; key: string },
): Treaty[] {
  const [k, v] = label.split("=");
  return s.treaties.map((t) => ({
    apiVersion: API_VERSION,
    kind: "Treaty",
    metadata: { name: `${s.name}-${t.name}`, labels: { [k ?? "wargame"]: v ?? "" } },
    spec: {
      provider: t.provider,
      regions: [...t.regions],
      pricing: Object.entries(t.pricing).map(([gpuType, usdPerHour]) => ({
        gpuType: gpuType as Treaty["spec"]["pricing"][number]["gpuType"],
        usdPerHour: usdPerHour,
      })),
      // Provision deadlines are compressed like every other duration.
      ...(t.slo
        ? {
            slo: {
              ...t.slo,
              ...(t.slo.maxProvisionTimeSeconds === undefined
                ? {}
                : {
                    maxProvisionTimeSeconds: Math.max(
                      1,
                      Math.round(t.slo.maxProvisionTimeSeconds / compression),
                    ),
                  }),
            },
          }
        : {}),
      ...(t.quotas ? { quotas: { ...t.quotas } } : {}),
      reputationFloor: t.reputationFloor ?? 0,
      suspended: false,
      endpoint: urls.get(t.provider) ?? "",
      credentialsSecretRef: { ...secret },
    },
  }));
}

/** Runs scenario `s` live and returns what the operator did. */
export async function runLive(s: Scenario, deps: LiveDeps): Promise<LiveResult> {
  const log = deps.log ?? (() => {});
  const now = deps.now ?? Date.now;
  const plan: LivePlan = livePlan(s, deps.compression);
  const strategy = deps.strategy ?? s.strategy;
  const token = `wargame-${s.seed}-${Math.random().toString(36).slice(2, 10)}`;
  const faults = new Map<string, SimFaults>();
  const sims: RunningSim[] = [];
  const urls = new Map<string, string>();
  const { client, namespace } = deps;
  const secret = { name: `${s.name}-wargame`, namespace, key: "token" };
  const treaties: Treaty[] = [];
  try {
    await startSims(s, plan, token, now, { faults, sims, urls });
    await client.create(Resources.Secret, {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: secret.name, namespace },
      stringData: { token },
    } as never);
    for (const t of liveTreaties(s, deps.compression, urls, deps.treatyLabel, secret)) {
      treaties.push(await client.create(Resources.Treaty, t));
    }
    await until(now, 60_000, "treaties probed", async () => {
      for (const t of treaties) {
        const x = await client.get<Treaty>(Resources.Treaty, t.metadata.name ?? "");
        if (x?.status?.latencyMs === undefined) return false;
      }
      return true;
    });
    const t0 = now();
    log(`${s.name}: live, ${plan.arrivals.length} workloads over ${plan.durationWallMs} ms`);
    const switches = [...plan.faults];
    const apply = (): void => {
      while (switches.length > 0 && switches[0]!.atWallMs <= now() - t0) {
        const sw = switches.shift()!;
        const f = faults.get(sw.provider)!;
        for (const key of Object.keys(f)) delete f[key as keyof SimFaults];
        Object.assign(f, sw.faults);
        log(`+${now() - t0} ms ${sw.provider} faults ${JSON.stringify(sw.faults)}`);
      }
    };
    for (const a of plan.arrivals) {
      for (;;) {
        apply();
        const next = Math.min(a.atWallMs, switches[0]?.atWallMs ?? Infinity);
        if (next > now() - t0) await sleep(Math.min(next - (now() - t0), 250));
        else break;
        if (a.atWallMs <= now() - t0) break;
      }
      apply();
      await client.create(Resources.GPUWorkload, workloadOf(s, a.arrival, namespace, strategy));
    }
    const end = t0 + plan.durationWallMs + (deps.settleMs ?? 30_000);
    const names = new Set(plan.arrivals.map((a) => nameOf(s, a.arrival.index)));
    const elapsed = (): number => now() - t0;
    const wls = await untilFinished({
      client,
      namespace,
      names,
      now,
      elapsed,
      end,
      switches,
      apply,
    });
    return liveResult(s, strategy, wls);
  } finally {
    for (const t of treaties) {
      await client.delete(Resources.Treaty, { name: t.metadata.name ?? "" }).catch(() => undefined);
    }
    for (const sim of sims) await sim.close();
  }
}

/**
 * Waits until every workload of `names` finished and every fault switch was applied (or `end`),
 * switching faults on time meanwhile; returns the workloads as last listed.
 */
async function untilFinished(w: {
  client: KubeClient;
  namespace: string;
  names: ReadonlySet<string>;
  now: () => number;
  /** Wall ms since the run started. */
  elapsed: () => number;
  end: number;
  switches: readonly FaultSwitch[];
  apply: () => void;
}): Promise<GPUWorkload[]> {
  for (;;) {
    w.apply();
    const list = await w.client.list<GPUWorkload>(Resources.GPUWorkload, {
      namespace: w.namespace,
    });
    const wls = list.items.filter((x) => w.names.has(x.metadata.name ?? ""));
    const open = wls.filter((x) => x.status?.completionTime === undefined).length;
    if ((open === 0 && w.switches.length === 0) || w.now() > w.end) return wls;
    // Not past the next fault switch: a late one would stretch an outage live only.
    await sleep(Math.min(500, (w.switches[0]?.atWallMs ?? Infinity) - w.elapsed()));
  }
}

/** One provider simulator per provider of the plan, pushed into `into` as it starts. */
async function startSims(
  s: Scenario,
  plan: LivePlan,
  token: string,
  now: () => number,
  into: { faults: Map<string, SimFaults>; sims: RunningSim[]; urls: Map<string, string> },
): Promise<void> {
  const { faults, sims, urls } = into;
  for (const [i, p] of plan.providers.entries()) {
    const f: SimFaults = {};
    faults.set(p.name, f);
    const sim = await startProviderSim({
      clock: { now: () => new Date(now()) },
      faults: f,
      provider: p.name,
      tokens: [token],
      pricing: pricesOf(s, p.name),
      regions: [
        ...new Set(s.treaties.filter((t) => t.provider === p.name).flatMap((t) => t.regions)),
      ],
      capacityGpus: p.capacityGpus,
      durations: { queuedMs: p.queuedMs, runningMs: p.runningMs },
      random: prng(s.seed + i + 1),
    });
    sims.push(sim);
    urls.set(p.name, sim.url);
  }
}

function pricesOf(s: Scenario, provider: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const t of s.treaties.filter((x) => x.provider === provider)) {
    for (const [g, usd] of Object.entries(t.pricing)) out[g] = Math.max(out[g] ?? 0, usd);
  }
  return out;
}

const nameOf = (s: Scenario, i: number): string => `${s.name}-w${String(i).padStart(4, "0")}`;

function workloadOf(
  s: Scenario,
  a: LivePlan["arrivals"][number]["arrival"],
  namespace: string,
  strategy: RoutingStrategy,
): GPUWorkload {
  return {
    apiVersion: API_VERSION,
    kind: "GPUWorkload",
    metadata: { name: nameOf(s, a.index), namespace },
    spec: {
      gpu: { type: a.gpuType, count: a.gpus },
      template: { image: "registry.example/wargame:1" },
      routing: { strategy },
      profile: a.profile,
      maxRuntimeSeconds: 3600,
    },
  } as GPUWorkload;
}

async function until(
  now: () => number,
  ms: number,
  what: string,
  fn: () => Promise<boolean>,
): Promise<void> {
  const deadline = now() + ms;
  while (!(await fn())) {
    if (now() > deadline) throw new Error(`wargame live: timed out waiting for ${what}`);
    await sleep(250);
  }
}
