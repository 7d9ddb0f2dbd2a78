/**
 * A list+watch informer: a local cache of one resource type kept current by a watch, with
 * secondary indexes and change handlers. It relists when the watch answers 410 Gone (its
 * resourceVersion is too old) and re-watches with capped backoff after a dropped stream,
 * so handlers always converge on the server's state. The operator's controllers and the
 * webhooks both read through the {@link ObjectCache} interface.
 */
import { KubeApiError, type KubeClient, type WatchEvent } from "./client.ts";
import { sharedInterner } from "./intern.ts";
import { objectKey, type KubeObject, type ResourceType } from "./resources.ts";

/** Read access to a cache of objects: what controllers and webhooks need. */
export interface ObjectCache<T extends KubeObject> {
  /** The object `name` (in `namespace` for namespaced types), or undefined. */
  get(name: string, namespace?: string): T | undefined;
  /** Every object, or those of one namespace. */
  list(namespace?: string): T[];
  /** Objects whose indexer `index` produced `value`. */
  byIndex(index: string, value: string): T[];
  /** True once the first list has been loaded. */
  hasSynced(): boolean;
}

/** Maps an object to the index values it is filed under. */
export type Indexer<T> = (obj: T) => readonly string[];

/** A change seen by an informer; `old` is set for updates and deletes when known. */
export type ChangeHandler<T> = (type: "add" | "update" | "delete", obj: T, old?: T) => void;

/** Minimal logger shape (pino-compatible). */
export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

/** A logger that discards everything. */
export const silentLogger: Logger = { info() {}, warn() {}, error() {}, debug() {} };

/** Options of an {@link Informer}. */
export interface InformerOptions<T> {
  readonly namespace?: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  /** Secondary indexes by name. */
  readonly indexers?: Readonly<Record<string, Indexer<T>>>;
  readonly logger?: Logger;
  /** Page size of the initial list. @default 500 */
  readonly pageSize?: number;
  /** First delay after a failed watch or list; doubles up to maxBackoffMs. @default 200 */
  readonly minBackoffMs?: number;
  /** @default 10000 */
  readonly maxBackoffMs?: number;
  /** Share repeated string values of cached objects (./intern.ts). @default true */
  readonly intern?: boolean;
  /**
   * Applied to every object before it is cached, to drop what no reader needs.
   * @default {@link stripBookkeeping}
   */
  readonly transform?: (obj: T) => T;
}

/** kubectl's copy of the whole applied object, kept in an annotation by client-side apply. */
export const LAST_APPLIED_ANNOTATION = "kubectl.kubernetes.io/last-applied-configuration";

/**
 * Drops metadata.managedFields and kubectl's last-applied-configuration annotation: together
 * often larger than the rest of the object, and read by no controller (like controller-runtime's
 * TransformStripManagedFields). Mutates and returns `obj`.
 */
export function stripBookkeeping<T extends KubeObject>(obj: T): T {
  const m = obj.metadata;
  if (
    !m ||
    (m.managedFields === undefined && m.annotations?.[LAST_APPLIED_ANNOTATION] === undefined)
  ) {
    return obj;
  }
  // Rebuilt rather than `delete`d: deleting a property turns an object into a slower and
  // larger dictionary-mode object in V8.
  const { managedFields: _mf, annotations, ...rest } = m;
  const { [LAST_APPLIED_ANNOTATION]: _la, ...keep } = annotations ?? {};
  obj.metadata = Object.keys(keep).length > 0 ? { ...rest, annotations: keep } : rest;
  return obj;
}

/** A list+watch cache of one resource type. */
export class Informer<T extends KubeObject> implements ObjectCache<T> {
  readonly type: ResourceType;
  private readonly client: KubeClient;
  private readonly opts: InformerOptions<T>;
  private readonly store = new Map<string, T>();
  private readonly indexes = new Map<string, Map<string, Set<string>>>();
  private readonly handlers: ChangeHandler<T>[] = [];
  private readonly log: Logger;
  private resourceVersion = "";
  private synced = false;
  private stopped = true;
  private current: { abort(): void } | undefined;
  private loop: Promise<void> | undefined;
  private syncWaiters: (() => void)[] = [];
  /** Number of full relists (the first list included); exposed for tests and metrics. */
  relists = 0;

  constructor(client: KubeClient, type: ResourceType, opts: InformerOptions<T> = {}) {
    this.client = client;
    this.type = type;
    this.opts = opts;
    this.log = opts.logger ?? silentLogger;
    for (const name of Object.keys(opts.indexers ?? {})) this.indexes.set(name, new Map());
  }

  /** Registers a change handler; handlers run synchronously, in registration order. */
  on(handler: ChangeHandler<T>): void {
    this.handlers.push(handler);
  }

  /** Adds an index; allowed before or after start (existing objects are indexed). */
  addIndexer(name: string, fn: Indexer<T>): void {
    if (this.indexes.has(name)) return;
    (this.opts as { indexers?: Record<string, Indexer<T>> }).indexers = {
      ...(this.opts.indexers ?? {}),
      [name]: fn,
    };
    const idx = new Map<string, Set<string>>();
    this.indexes.set(name, idx);
    for (const [key, obj] of this.store) for (const v of fn(obj)) addTo(idx, v, key);
  }

  get(name: string, namespace?: string): T | undefined {
    return this.store.get(this.type.namespaced && namespace ? `${namespace}/${name}` : name);
  }

  list(namespace?: string): T[] {
    const all = [...this.store.values()];
    return namespace === undefined ? all : all.filter((o) => o.metadata?.namespace === namespace);
  }

  byIndex(index: string, value: string): T[] {
    const idx = this.indexes.get(index);
    if (!idx) throw new Error(`informer ${this.type.plural}: no index ${index}`);
    const keys = idx.get(value);
    if (!keys) return [];
    const out: T[] = [];
    for (const k of keys) {
      const o = this.store.get(k);
      if (o) out.push(o);
    }
    return out;
  }

  hasSynced(): boolean {
    return this.synced;
  }

  /** Number of cached objects. */
  size(): number {
    return this.store.size;
  }

  /** Starts list+watch; resolves once the first list is in the cache. */
  async start(): Promise<void> {
    if (!this.stopped) return this.waitForSync();
    this.stopped = false;
    this.loop = this.run();
    return this.waitForSync();
  }

  /** Stops watching; the cache keeps its last contents. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.current?.abort();
    await this.loop;
  }

  /** Resolves once the first list is in the cache. */
  waitForSync(): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((r) => this.syncWaiters.push(r));
  }

  private async run(): Promise<void> {
    let backoff = this.opts.minBackoffMs ?? 200;
    const maxBackoff = this.opts.maxBackoffMs ?? 10000;
    while (!this.stopped) {
      try {
        if (!this.resourceVersion) await this.relist();
        const ok = await this.watchOnce();
        if (ok) backoff = this.opts.minBackoffMs ?? 200;
      } catch (err) {
        if (this.stopped) break;
        if (err instanceof KubeApiError && err.status === 410) {
          this.log.info({ resource: this.type.plural }, "watch expired (410 Gone); relisting");
          this.resourceVersion = "";
          continue;
        }
        this.log.warn(
          { resource: this.type.plural, err: (err as Error).message, backoffMs: backoff },
          "list/watch failed; retrying",
        );
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(backoff * 2, maxBackoff);
      }
    }
  }

  private async relist(): Promise<void> {
    const items: T[] = [];
    let cont: string | undefined;
    let rv = "";
    do {
      const page = await this.client.list<T>(this.type, {
        namespace: this.opts.namespace,
        labelSelector: this.opts.labelSelector,
        fieldSelector: this.opts.fieldSelector,
        limit: this.opts.pageSize ?? 500,
        ...(cont ? { continue: cont } : {}),
      });
      items.push(...page.items);
      cont = page.metadata.continue || undefined;
      rv = page.metadata.resourceVersion ?? "";
    } while (cont);
    this.relists++;
    this.replaceAll(items);
    this.resourceVersion = rv;
    if (!this.synced) {
      this.synced = true;
      for (const w of this.syncWaiters.splice(0)) w();
    }
  }

  // Returns true when the stream delivered at least one event (a healthy watch).
  private async watchOnce(): Promise<boolean> {
    let gone = false;
    let got = false;
    const ref: { handle?: { abort(): void } } = {};
    const h = await this.client.watch<T>(
      this.type,
      {
        namespace: this.opts.namespace,
        labelSelector: this.opts.labelSelector,
        fieldSelector: this.opts.fieldSelector,
        resourceVersion: this.resourceVersion,
        timeoutSeconds: 240 + Math.floor(Math.random() * 120),
      },
      (e) => {
        got = true;
        if (this.handleEvent(e)) {
          gone = true;
          ref.handle?.abort();
        }
      },
    );
    ref.handle = h;
    this.current = h;
    if (this.stopped || gone) h.abort();
    try {
      await h.done;
    } catch (err) {
      if (!gone && !this.stopped) throw err;
    }
    if (gone) throw new KubeApiError(410, "Expired", "watch: resourceVersion too old");
    return got;
  }

  // What the cache holds of an object from the API server: transformed, strings shared.
  private prepare(raw: T): T {
    const obj = (this.opts.transform ?? stripBookkeeping)(raw);
    return this.opts.intern === false ? obj : sharedInterner.internDeep(obj);
  }

  // Applies one watch event; returns true when the watch must restart with a relist.
  private handleEvent(e: WatchEvent<T>): boolean {
    if (e.type === "ERROR") {
      const code = (e.object as { code?: number }).code;
      return code === 410 || code === undefined || code >= 400;
    }
    const rv = e.object.metadata?.resourceVersion;
    if (e.type === "BOOKMARK") {
      if (rv) this.resourceVersion = rv;
      return false;
    }
    const obj = this.prepare(e.object);
    const key = objectKey(obj);
    const old = this.store.get(key);
    if (e.type === "DELETED") {
      this.remove(key, old);
      this.emit("delete", obj, old);
    } else {
      this.put(key, obj, old);
      this.emit(old ? "update" : "add", obj, old);
    }
    if (rv) this.resourceVersion = rv;
    return false;
  }

  private replaceAll(items: T[]): void {
    const seen = new Set<string>();
    for (const raw of items) {
      const obj = this.prepare(raw);
      const key = objectKey(obj);
      seen.add(key);
      const old = this.store.get(key);
      if (old && old.metadata?.resourceVersion === obj.metadata?.resourceVersion) continue;
      this.put(key, obj, old);
      this.emit(old ? "update" : "add", obj, old);
    }
    for (const [key, old] of [...this.store]) {
      if (seen.has(key)) continue;
      this.remove(key, old);
      this.emit("delete", old, old);
    }
  }

  private put(key: string, obj: T, old: T | undefined): void {
    if (old) this.unindex(key, old);
    this.store.set(key, obj);
    for (const [name, fn] of Object.entries(this.opts.indexers ?? {})) {
      const idx = this.indexes.get(name);
      if (idx) for (const v of fn(obj)) addTo(idx, v, key);
    }
  }

  private remove(key: string, old: T | undefined): void {
    if (old) this.unindex(key, old);
    this.store.delete(key);
  }

  private unindex(key: string, obj: T): void {
    for (const [name, fn] of Object.entries(this.opts.indexers ?? {})) {
      const idx = this.indexes.get(name);
      if (!idx) continue;
      for (const v of fn(obj)) {
        const s = idx.get(v);
        s?.delete(key);
        if (s?.size === 0) idx.delete(v);
      }
    }
  }

  private emit(type: "add" | "update" | "delete", obj: T, old?: T): void {
    for (const h of this.handlers) {
      try {
        h(type, obj, old);
      } catch (err) {
        this.log.error(
          { resource: this.type.plural, err: (err as Error).message },
          "handler failed",
        );
      }
    }
  }
}

function addTo(idx: Map<string, Set<string>>, value: string, key: string): void {
  let s = idx.get(value);
  if (!s) idx.set(value, (s = new Set()));
  s.add(key);
}
