/**
 * The chaos suite's steady load: Tenants (billed, with Discord), GPUWorkloads pinned to the
 * tainted GPU pool or routed to the cheapest treaty, the provider simulator (failing over to the
 * pool), and requests the admission webhooks must deny
 * (over the tenant's GPU quota). Creates that fail while a component is down are counted, not
 * retried under the same name: what was created is read back from the world at the end.
 */
import { tenantNamespace } from "../../crds/domain/tenancy.ts";
import type { GPUWorkload, Tenant } from "../../crds/index.ts";
import { API_VERSION } from "../../crds/index.ts";
import { KubeApiError, Resources, type KubeClient } from "../../services/kube/index.ts";
import { gpuWorkload } from "../builders/objects.ts";
import { POOL_TREATY } from "./stack.ts";

/** Prefix of the names of requests that must be denied. */
export const DENY_PREFIX = "deny-";

/** What the load generator saw (its own view; the invariants read the world). */
export interface LoadCounts {
  tenantsCreated: number;
  inClusterCreated: number;
  providerCreated: number;
  deniedAsExpected: number;
  /** Creates refused for another reason (a component down, a tenant not Ready yet). */
  refused: number;
}

/** A Tenant of the chaos run: billed (pro), its own Discord guild and channel. */
export function chaosTenant(name: string, n: number): Tenant {
  // Snowflakes as strings: 18 digits are past a double's exact integers.
  const id = `112233445566${String(n).padStart(5, "0")}`;
  return {
    apiVersion: API_VERSION,
    kind: "Tenant",
    metadata: { name },
    spec: {
      displayName: `Chaos tenant ${n}`,
      plan: "pro",
      owners: [{ kind: "User", name: `owner@${name}.example`, email: `owner@${name}.example` }],
      quotas: { maxGpus: 8, maxConcurrentWorkloads: 50 },
      allowedRegions: ["local", "us-west"],
      billing: { email: `billing@${name}.example` },
      discord: { guildId: `${id}0`, channelId: `${id}1` },
      rateLimit: { requestsPerMinute: 600 },
    },
  } as Tenant;
}

export { tenantNamespace };

function isDenial(err: unknown): boolean {
  return (
    err instanceof KubeApiError && err.status === 403 && /denied the request/.test(err.message)
  );
}

/** A workload of the load: in-cluster (kwok completes it after `runFor`) or on the provider. */
export function loadWorkload(
  name: string,
  namespace: string,
  where: "pool" | "provider",
  runFor = "1s",
): GPUWorkload {
  const b = gpuWorkload(name, namespace).gpu("a10g", 1);
  if (where === "pool") return b.treatyRef(POOL_TREATY).completeAfter(runFor).obj();
  // Not pinned: the provider is the cheapest treaty, the pool its failover. (Pinned to a provider
  // that lost the job, a workload has no treaty left and waits for ever — see ADR 0073.)
  return b.strategy("cheapest").completeAfter(runFor).obj();
}

/** Drives the load until stopped. */
export class LoadGenerator {
  readonly counts: LoadCounts = {
    tenantsCreated: 0,
    inClusterCreated: 0,
    providerCreated: 0,
    deniedAsExpected: 0,
    refused: 0,
  };
  readonly tenants: string[] = [];
  readonly #client: KubeClient;
  readonly #tickMs: number;
  #seq = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #busy: Promise<void> = Promise.resolve();
  #stopped = false;

  constructor(client: KubeClient, tickMs: number) {
    this.#client = client;
    this.#tickMs = tickMs;
  }

  /** Creates a tenant (counted once it is accepted). */
  async addTenant(): Promise<boolean> {
    const n = this.tenants.length + 1;
    const name = `chaos-t${n}`;
    try {
      await this.#client.create(Resources.Tenant, chaosTenant(name, n));
    } catch (err) {
      if (!(err instanceof KubeApiError && err.reason === "AlreadyExists")) {
        this.counts.refused++;
        return false;
      }
    }
    this.tenants.push(name);
    this.counts.tenantsCreated++;
    return true;
  }

  async #create(w: GPUWorkload, kind: "inCluster" | "provider" | "deny"): Promise<void> {
    try {
      await this.#client.create(Resources.GPUWorkload, w);
      if (kind === "inCluster") this.counts.inClusterCreated++;
      else if (kind === "provider") this.counts.providerCreated++;
      // An admitted denial shows up in the invariants (a deny-* workload exists).
    } catch (err) {
      if (kind === "deny" && isDenial(err)) this.counts.deniedAsExpected++;
      else this.counts.refused++;
    }
  }

  /** One tick: an in-cluster workload; every 2nd a provider one; every 3rd a denied request. */
  async tick(): Promise<void> {
    if (this.tenants.length === 0) return;
    const i = this.#seq++;
    const ns = tenantNamespace(this.tenants[i % this.tenants.length] ?? "");
    const work: Promise<void>[] = [this.#create(loadWorkload(`w-${i}`, ns, "pool"), "inCluster")];
    if (i % 2 === 0) work.push(this.#create(loadWorkload(`p-${i}`, ns, "provider"), "provider"));
    if (i % 3 === 0) {
      const deny = gpuWorkload(`${DENY_PREFIX}${i}`, ns).gpu("a10g", 64).treatyRef(POOL_TREATY);
      work.push(this.#create(deny.obj(), "deny"));
    }
    await Promise.all(work);
  }

  /** Starts ticking every tickMs (a slow tick delays the next; ticks never overlap). */
  start(): void {
    const loop = (): void => {
      if (this.#stopped) return;
      this.#busy = this.tick().finally(() => {
        if (!this.#stopped) this.#timer = setTimeout(loop, this.#tickMs);
      });
    };
    loop();
  }

  /** Stops and waits for the tick in flight. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#busy;
  }
}
