/**
 * Kubernetes objects in wire format (the JSON the apiserver reads and writes). client-node's
 * generated models rename a few fields (`default` → `_default`, `except` → `_except`), so the
 * builders of kinds with such fields return wire JSON typed by this loose shape instead.
 */

/** A Kubernetes object as JSON: apiVersion, kind, metadata and any other top-level fields. */
export interface WireObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: {
    readonly name: string;
    readonly namespace?: string;
    readonly labels?: Readonly<Record<string, string>>;
    readonly annotations?: Readonly<Record<string, string>>;
    readonly [key: string]: unknown;
  };
  readonly [key: string]: unknown;
}
