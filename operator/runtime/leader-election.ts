/**
 * Lease-based leader election (coordination.k8s.io/v1), after client-go's leaderelection:
 * a candidate takes the Lease when it is free or when its holder has not renewed it for
 * leaseDurationSeconds *as observed locally* (we time the lapse from when we last saw the
 * record change, so clocks need not agree); the leader renews every retryPeriod and steps
 * down when it could not renew for renewDeadline. Every write carries the resourceVersion it
 * read, so two candidates cannot both win the same round. Leadership narrows overlap but does
 * not exclude it (a paused leader may write once more): the controllers' writes are
 * idempotent or resourceVersion-guarded for that reason (DESIGN §8).
 */
import {
  isAlreadyExists,
  isConflict,
  Resources,
  silentLogger,
  type KubeClient,
  type KubeObject,
  type Logger,
} from "../../services/kube/index.ts";
import { realTimers, type Timers } from "./work-queue.ts";

interface LeaseSpec {
  holderIdentity?: string | null;
  leaseDurationSeconds?: number;
  acquireTime?: string | null;
  renewTime?: string | null;
  leaseTransitions?: number;
}
interface Lease extends KubeObject {
  spec?: LeaseSpec;
}

/** Options of a {@link LeaderElector}. */
export interface LeaderElectionOptions {
  readonly namespace: string;
  /** @default "vaultmesh-operator" */
  readonly name?: string;
  /** Unique id of this candidate (pod name + random suffix). */
  readonly identity: string;
  /** @default 15 */
  readonly leaseDurationSeconds?: number;
  /** @default 10 */
  readonly renewDeadlineSeconds?: number;
  /** @default 2 */
  readonly retryPeriodSeconds?: number;
  readonly logger?: Logger;
  readonly timers?: Timers;
}

/** Callbacks of a {@link LeaderElector}. */
export interface LeaderCallbacks {
  onStartedLeading(): void | Promise<void>;
  onStoppedLeading(): void | Promise<void>;
}

const microTime = (ms: number): string => new Date(ms).toISOString().replace("Z", "000Z");

/** Campaigns for a Lease and keeps it while this process leads. */
export class LeaderElector {
  private readonly client: KubeClient;
  private readonly o: Required<Omit<LeaderElectionOptions, "logger" | "timers">>;
  private readonly log: Logger;
  private readonly timers: Timers;
  private observed: { record: string; at: number } | undefined;
  private leading = false;
  private stopped = false;
  private lastRenew = 0;
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private cb: LeaderCallbacks | undefined;

  constructor(client: KubeClient, opts: LeaderElectionOptions) {
    this.client = client;
    this.o = {
      namespace: opts.namespace,
      name: opts.name ?? "vaultmesh-operator",
      identity: opts.identity,
      leaseDurationSeconds: opts.leaseDurationSeconds ?? 15,
      renewDeadlineSeconds: opts.renewDeadlineSeconds ?? 10,
      retryPeriodSeconds: opts.retryPeriodSeconds ?? 2,
    };
    this.log = opts.logger ?? silentLogger;
    this.timers = opts.timers ?? realTimers;
  }

  /** True while this candidate holds the Lease. */
  isLeader(): boolean {
    return this.leading;
  }

  /** Starts campaigning; callbacks fire on each change of leadership. */
  start(cb: LeaderCallbacks): void {
    this.cb = cb;
    this.stopped = false;
    this.loop = this.run();
  }

  /** Stops campaigning; a leader releases the Lease so a standby takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
    if (this.leading) {
      this.leading = false;
      await this.release().catch((err: Error) =>
        this.log.warn({ err: err.message }, "could not release the lease"),
      );
      await this.cb?.onStoppedLeading();
    }
  }

  private async sleep(ms: number): Promise<void> {
    await new Promise<void>((r) => {
      const h = this.timers.setTimeout(r, ms);
      this.wake = () => {
        this.timers.clearTimeout(h);
        r();
      };
    });
    this.wake = undefined;
  }

  private async run(): Promise<void> {
    const period = this.o.retryPeriodSeconds * 1000;
    while (!this.stopped) {
      let ok = false;
      try {
        ok = await this.tryAcquireOrRenew();
      } catch (err) {
        this.log.warn({ err: (err as Error).message }, "lease update failed");
      }
      const now = this.timers.now();
      if (ok) {
        this.lastRenew = now;
        if (!this.leading) {
          this.leading = true;
          this.log.info({ identity: this.o.identity, lease: this.o.name }, "became leader");
          await this.cb?.onStartedLeading();
        }
      } else if (this.leading && now - this.lastRenew > this.o.renewDeadlineSeconds * 1000) {
        this.leading = false;
        this.log.warn({ identity: this.o.identity }, "lost leadership (renew deadline passed)");
        await this.cb?.onStoppedLeading();
      }
      if (!this.stopped) await this.sleep(period);
    }
  }

  // One round: create the Lease, renew it, or take it over when it lapsed. Returns whether we hold it.
  private async tryAcquireOrRenew(): Promise<boolean> {
    const now = this.timers.now();
    const { namespace, name, identity, leaseDurationSeconds } = this.o;
    const lease = await this.client.get<Lease>(Resources.Lease, name, namespace);
    if (!lease) {
      try {
        await this.client.create<Lease>(Resources.Lease, {
          apiVersion: "coordination.k8s.io/v1",
          kind: "Lease",
          metadata: { name, namespace },
          spec: {
            holderIdentity: identity,
            leaseDurationSeconds,
            acquireTime: microTime(now),
            renewTime: microTime(now),
            leaseTransitions: 0,
          },
        });
        return true;
      } catch (err) {
        if (isAlreadyExists(err)) return false;
        throw err;
      }
    }
    const spec = lease.spec ?? {};
    const record = JSON.stringify([spec.holderIdentity, spec.renewTime, spec.leaseDurationSeconds]);
    if (this.observed?.record !== record) this.observed = { record, at: now };
    const holder = spec.holderIdentity ?? "";
    const duration = (spec.leaseDurationSeconds ?? leaseDurationSeconds) * 1000;
    const expired = !holder || now - this.observed.at > duration;
    if (holder !== identity && !expired) return false;
    const takeover = holder !== identity;
    const next: Lease = {
      ...lease,
      spec: {
        ...spec,
        holderIdentity: identity,
        leaseDurationSeconds,
        renewTime: microTime(now),
        ...(takeover
          ? { acquireTime: microTime(now), leaseTransitions: (spec.leaseTransitions ?? 0) + 1 }
          : {}),
      },
    };
    try {
      await this.client.replace(Resources.Lease, next); // guarded by lease's resourceVersion
    } catch (err) {
      if (isConflict(err)) return false;
      throw err;
    }
    if (takeover) this.log.info({ from: holder, to: identity }, "took over the lease");
    return true;
  }

  private async release(): Promise<void> {
    const lease = await this.client.get<Lease>(Resources.Lease, this.o.name, this.o.namespace);
    if (!lease || lease.spec?.holderIdentity !== this.o.identity) return;
    await this.client.replace(Resources.Lease, {
      ...lease,
      spec: { ...lease.spec, holderIdentity: null, leaseDurationSeconds: 1, renewTime: null },
    });
  }
}
