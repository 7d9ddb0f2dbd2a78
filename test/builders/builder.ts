// The base of the fluent builders in this folder (kueue's `makeWorkload("a").queue("q").obj()`
// habit): a builder holds one mutable object, each method changes it and returns the builder,
// and `obj()` hands out a deep copy, so one builder can stamp out many variants.

/** `T` with every `readonly` removed, at every depth (the builders mutate their object). */
export type DeepMutable<T> = { -readonly [K in keyof T]: DeepMutable<T[K]> };

/**
 * A deep copy of a JSON value. Not structuredClone: under jest's VM modules its copies come
 * from another realm, and the ledger's canonical JSON refuses them as non-plain objects.
 */
export function copy<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

/** Object metadata every kind's builder can set. */
interface BuiltMeta {
  metadata: {
    name?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
}

/** The shared part of every kind's builder: metadata setters and `obj()`. */
export abstract class ObjectBuilder<T> {
  protected readonly o: DeepMutable<T> & BuiltMeta;
  protected constructor(initial: DeepMutable<T> & BuiltMeta) {
    this.o = initial;
  }
  /** Adds labels (merged over those already set). */
  labels(l: Record<string, string>): this {
    this.o.metadata.labels = { ...(this.o.metadata.labels ?? {}), ...l };
    return this;
  }
  /** Adds annotations (merged over those already set). */
  annotations(a: Record<string, string>): this {
    this.o.metadata.annotations = { ...(this.o.metadata.annotations ?? {}), ...a };
    return this;
  }
  /** Sets metadata.uid (objects read back from the apiserver have one). */
  uid(uid: string): this {
    this.o.metadata.uid = uid;
    return this;
  }
  /** Sets metadata.resourceVersion (as on an object read from an informer). */
  resourceVersion(rv: string): this {
    this.o.metadata.resourceVersion = rv;
    return this;
  }
  /** A deep copy of the object built so far. */
  obj(): T {
    return copy(this.o) as T;
  }
}
