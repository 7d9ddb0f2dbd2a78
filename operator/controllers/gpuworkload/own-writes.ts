/**
 * Copies of the reconciler's own status writes, kept until the cache shows them. The watch
 * event of our own write usually arrives after the Job's, and reconciling the stale copy in
 * the cache would only end in a 409 Conflict and a backoff (ADR 0025).
 */
import { stripBookkeeping } from "../../../services/kube/index.ts";
import type { GPUWorkload } from "../../../crds/index.ts";

/** The workload as last written, by key, with the versions the write overwrote. */
export class OwnWrites {
  readonly #written = new Map<string, { fromRvs: string[]; obj: GPUWorkload }>();

  /**
   * Remembers `written` (our write of the workload `key`) as the current version while the
   * cache shows one of `fromRvs` (the versions it was written over); bookkeeping is dropped.
   */
  remember(key: string, fromRvs: readonly string[], written: GPUWorkload): void {
    if (written.metadata.resourceVersion === fromRvs[0]) return; // nothing was written
    this.#written.set(key, { fromRvs: [...fromRvs], obj: stripBookkeeping(written) });
  }

  /** The workload to reconcile: our last write while `cached` is a version it overwrote. */
  current(key: string, cached: GPUWorkload | undefined): GPUWorkload | undefined {
    const memo = this.#written.get(key);
    if (!memo) return cached;
    if (cached && memo.fromRvs.includes(cached.metadata.resourceVersion ?? "")) return memo.obj;
    this.#written.delete(key);
    return cached;
  }

  /**
   * The cache saw a newer version of the workload (or its deletion): the copy is no longer
   * needed. Without this, each workload's last write would stay until its next reconcile.
   */
  observed(key: string, resourceVersion: string | undefined, deleted: boolean): void {
    const memo = this.#written.get(key);
    if (memo && (deleted || !memo.fromRvs.includes(resourceVersion ?? ""))) {
      this.#written.delete(key);
    }
  }

  /** How many copies are kept (tests, metrics). */
  get size(): number {
    return this.#written.size;
  }
}
