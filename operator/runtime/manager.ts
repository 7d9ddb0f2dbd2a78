/**
 * The Manager owns what controllers share: the API client, one informer per watched resource
 * (so two controllers watching Jobs share one watch and one cache), the Event recorder, leader
 * election and shutdown. Registering a controller is one line:
 *
 *   mgr.add(createTreatyController(mgr, deps));
 *
 * Informers run on every replica (a standby has a warm cache); controllers run only while
 * this replica leads. See docs/operator-runtime.md.
 */
import {
  Informer,
  silentLogger,
  type InformerOptions,
  type KubeClient,
  type KubeObject,
  type Logger,
  type ResourceType,
} from "../../services/kube/index.ts";
import { Controller, type ControllerMetrics, type ControllerOptions } from "./controller.ts";
import { KubeEventRecorder, type EventRecorder } from "./events.ts";
import { LeaderElector, type LeaderElectionOptions } from "./leader-election.ts";

/** What the manager does with every informer, whatever its kind. */
type SharedInformer = Pick<Informer<KubeObject>, "start" | "stop" | "hasSynced" | "size">;

/** What the manager does with every controller, whatever its kind. */
export type Runnable = Pick<Controller, "name" | "start" | "stop">;

/** Options of a {@link Manager}. */
export interface ManagerOptions {
  readonly client: KubeClient;
  readonly logger?: Logger;
  readonly metrics?: ControllerMetrics & { leader?(isLeader: boolean): void };
  /** Lease settings; without them this process always leads (tests, single replica). */
  readonly leaderElection?: Omit<LeaderElectionOptions, "logger">;
  /** Component name on Events. @default "vaultmesh-operator" */
  readonly component?: string;
  /**
   * Called when leadership is lost after being held; the controllers are already stopped and
   * the elector campaigns again (ADR 0075: main.ts logs it and stays up as a standby).
   */
  readonly onLostLeadership?: () => void;
}

/** Holds the shared client, informers, controllers and leader election of one process. */
export class Manager {
  readonly client: KubeClient;
  readonly log: Logger;
  readonly events: EventRecorder & { flush?(): Promise<void> };
  readonly metrics: ManagerOptions["metrics"];
  // Informers of every kind, each stored under its type's key; read back typed by informer<T>.
  private readonly informers = new Map<string, SharedInformer>();
  private readonly controllers: Runnable[] = [];
  private readonly elector: LeaderElector | undefined;
  private readonly opts: ManagerOptions;
  private started = false;
  private leading = false;
  private stopping = false;

  constructor(opts: ManagerOptions) {
    this.opts = opts;
    this.client = opts.client;
    this.log = opts.logger ?? silentLogger;
    this.metrics = opts.metrics;
    this.events = new KubeEventRecorder(opts.client, {
      component: opts.component ?? "vaultmesh-operator",
      logger: this.log,
    });
    this.elector = opts.leaderElection
      ? new LeaderElector(opts.client, { ...opts.leaderElection, logger: this.log })
      : undefined;
  }

  /**
   * The shared informer of `type` (one per type, namespace and selectors). Indexers given
   * here are added to it, so several controllers can each add the indexes they need.
   */
  informer<T extends KubeObject>(type: ResourceType, opts: InformerOptions<T> = {}): Informer<T> {
    const key = [
      type.group,
      type.plural,
      opts.namespace ?? "",
      opts.labelSelector ?? "",
      opts.fieldSelector ?? "",
    ].join("|");
    // The key names the type, so the informer under it holds objects of that type: T.
    let inf = this.informers.get(key) as Informer<T> | undefined;
    if (!inf) {
      const { indexers: _ignored, ...rest } = opts;
      inf = new Informer<T>(this.client, type, { logger: this.log, ...rest });
      this.informers.set(key, inf);
      if (this.started) void inf.start();
    }
    for (const [name, fn] of Object.entries(opts.indexers ?? {})) inf.addIndexer(name, fn);
    return inf;
  }

  /**
   * Builds a controller with the manager's logger and metrics, and registers it. Let `T` and
   * the watched kinds be inferred from `for` and `watches` (each watch's `map` then reads its
   * own kind's fields).
   */
  controller<T extends KubeObject, W extends readonly KubeObject[] = readonly KubeObject[]>(
    opts: ControllerOptions<T, W>,
  ): Controller<T> {
    const { watches, ...settings } = opts;
    const c = new Controller<T>({
      logger: this.log,
      ...(this.metrics ? { metrics: this.metrics } : {}),
      ...settings,
    });
    for (const w of watches ?? []) c.watch(w);
    this.add(c);
    return c;
  }

  /** Registers a controller; it runs while this process leads. */
  add(c: Runnable): void {
    this.controllers.push(c);
    if (this.leading) c.start();
  }

  /** True while this process is leader (always true without leader election once started). */
  isLeader(): boolean {
    return this.leading;
  }

  /** Liveness: the process is serving. */
  healthy(): boolean {
    return true;
  }

  /** Readiness: every informer has loaded its first list. */
  ready(): boolean {
    return this.started && [...this.informers.values()].every((i) => i.hasSynced());
  }

  /** Number of objects cached across informers. */
  cachedObjects(): number {
    let n = 0;
    for (const i of this.informers.values()) n += i.size();
    return n;
  }

  /** Starts informers, waits for their caches, then campaigns for (or takes) leadership. */
  async start(): Promise<void> {
    this.started = true;
    await Promise.all([...this.informers.values()].map((i) => i.start()));
    this.log.info({ informers: this.informers.size }, "caches synced");
    if (!this.elector) {
      this.startLeading();
      return;
    }
    this.elector.start({
      onStartedLeading: () => this.startLeading(),
      onStoppedLeading: async () => {
        await this.stopLeading();
        if (!this.stopping) this.opts.onLostLeadership?.();
      },
    });
  }

  private startLeading(): void {
    this.leading = true;
    this.metrics?.leader?.(true);
    for (const c of this.controllers) c.start();
    this.log.info({ controllers: this.controllers.map((c) => c.name) }, "controllers started");
  }

  private async stopLeading(): Promise<void> {
    this.leading = false;
    this.metrics?.leader?.(false);
    await Promise.all(this.controllers.map((c) => c.stop()));
  }

  /** Graceful shutdown: finish in-flight reconciles, release the lease, stop watches. */
  async stop(): Promise<void> {
    this.stopping = true;
    // Drain reconciles before releasing the lease, so a standby never overlaps with us here.
    await this.stopLeading();
    if (this.elector) await this.elector.stop();
    await this.events.flush?.();
    await Promise.all([...this.informers.values()].map((i) => i.stop()));
    this.started = false;
  }
}
