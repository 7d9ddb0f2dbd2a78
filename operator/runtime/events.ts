/**
 * Kubernetes Events (core/v1) for state changes, as `kubectl describe` shows them. Repeats of
 * the same (object, type, reason, message) within a process bump `count` on one Event instead
 * of creating another. Recording never throws and never blocks a reconcile: a failed write is
 * logged and dropped, since an Event is an aid, not a record (receipts are the record).
 */
import {
  apiVersionOf,
  isNotFound,
  Resources,
  silentLogger,
  type KubeClient,
  type KubeObject,
  type Logger,
  type ResourceType,
} from "../../services/kube/index.ts";

/** Normal or Warning, as core/v1 Event.type. */
export type EventType = "Normal" | "Warning";

/** Records Events about objects. */
export interface EventRecorder {
  event(
    type: ResourceType,
    obj: KubeObject,
    eventType: EventType,
    reason: string,
    message: string,
  ): void;
}

/** An EventRecorder that drops everything (unit tests). */
export const nullRecorder: EventRecorder = { event() {} };

const MAX_REMEMBERED = 4096;

/** Writes core/v1 Events through the API server. */
export class KubeEventRecorder implements EventRecorder {
  private readonly client: KubeClient;
  private readonly component: string;
  private readonly log: Logger;
  private readonly now: () => Date;
  private readonly seen = new Map<string, { name: string; namespace: string; count: number }>();
  private chain: Promise<void> = Promise.resolve();

  constructor(client: KubeClient, opts: { component: string; logger?: Logger; now?: () => Date }) {
    this.client = client;
    this.component = opts.component;
    this.log = opts.logger ?? silentLogger;
    this.now = opts.now ?? (() => new Date());
  }

  event(
    type: ResourceType,
    obj: KubeObject,
    eventType: EventType,
    reason: string,
    message: string,
  ): void {
    // Serialised so that a repeat finds the Event its predecessor created.
    this.chain = this.chain
      .then(() => this.write(type, obj, eventType, reason, message))
      .catch((err: Error) => this.log.warn({ reason, err: err.message }, "could not record event"));
  }

  /** Resolves when every event recorded so far has been written (tests, shutdown). */
  async flush(): Promise<void> {
    await this.chain;
  }

  private async write(
    type: ResourceType,
    obj: KubeObject,
    eventType: EventType,
    reason: string,
    message: string,
  ): Promise<void> {
    const m = obj.metadata ?? {};
    const namespace = m.namespace ?? "default";
    const key = `${m.uid ?? m.name}|${eventType}|${reason}|${message}`;
    const now = this.now().toISOString();
    const prev = this.seen.get(key);
    if (prev) {
      prev.count++;
      try {
        await this.client.patch(
          Resources.Event,
          { name: prev.name, namespace: prev.namespace },
          { count: prev.count, lastTimestamp: now.replace(/\.\d{3}Z$/, "Z") },
        );
        return;
      } catch (err) {
        if (!isNotFound(err)) throw err;
        this.seen.delete(key);
      }
    }
    const ts = now.replace(/\.\d{3}Z$/, "Z");
    const created = await this.client.create<KubeObject>(Resources.Event, {
      apiVersion: "v1",
      kind: "Event",
      metadata: { generateName: `${(m.name ?? "object").slice(0, 200)}.`, namespace },
      involvedObject: {
        apiVersion: apiVersionOf(type),
        kind: type.kind,
        name: m.name,
        namespace: m.namespace,
        uid: m.uid,
        resourceVersion: m.resourceVersion,
      },
      type: eventType,
      reason,
      message: message.slice(0, 1024),
      source: { component: this.component },
      reportingComponent: this.component,
      reportingInstance: this.component,
      firstTimestamp: ts,
      lastTimestamp: ts,
      count: 1,
    });
    if (this.seen.size >= MAX_REMEMBERED) {
      const first = this.seen.keys().next().value;
      if (first !== undefined) this.seen.delete(first);
    }
    this.seen.set(key, { name: created.metadata?.name ?? "", namespace, count: 1 });
  }
}
