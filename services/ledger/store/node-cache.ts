/**
 * An in-memory copy of every perfect subtree of [0, size): one growable buffer per level,
 * 32 bytes per node, ~64 bytes per entry in all (64 MB at 1M entries). With it an inclusion
 * or consistency proof costs a few map-free array reads instead of a database round trip.
 * It only ever holds a contiguous prefix of the log; anything beyond is served from Postgres.
 */
import type { Hash, NodeId, TreeNode } from "../merkle.ts";

/** Perfect-subtree hashes of the log prefix [0, size). */
export class NodeCache {
  #levels: Buffer[] = [];
  #counts: number[] = [];
  #size = 0;

  /** Leaves covered: every perfect subtree inside [0, size) is present. */
  get size(): number {
    return this.#size;
  }

  /** Approximate bytes held. */
  get bytes(): number {
    return this.#levels.reduce((n, b) => n + b.length, 0);
  }

  #put(level: number, index: number, hash: Hash): void {
    let buf = this.#levels[level];
    const need = (index + 1) * 32;
    if (!buf || buf.length < need) {
      const grown = Buffer.alloc(Math.max(need, (buf?.length ?? 0) * 2, 32 * 1024));
      buf?.copy(grown);
      this.#levels[level] = grown;
      buf = grown;
    }
    buf.set(hash, index * 32);
    this.#counts[level] = Math.max(this.#counts[level] ?? 0, index + 1);
  }

  /**
   * Adds the nodes completed by appending leaves [start, end). Ignored (the cache stops
   * growing) when `start` is not where the cache ends: another writer appended in between.
   */
  extend(start: number, end: number, nodes: readonly TreeNode[]): boolean {
    if (start !== this.#size) return false;
    for (const n of nodes) this.#put(n.level, n.index, n.hash);
    this.#size = end;
    return true;
  }

  /** Replaces the contents with a full prefix loaded from storage. */
  load(size: number, nodes: Iterable<TreeNode>): void {
    this.#levels = [];
    this.#counts = [];
    for (const n of nodes) this.#put(n.level, n.index, n.hash);
    this.#size = size;
  }

  /** The hash of a perfect subtree, if cached. */
  get(id: NodeId): Hash | undefined {
    if (id.index >= (this.#counts[id.level] ?? 0)) return undefined;
    const buf = this.#levels[id.level]!;
    return buf.subarray(id.index * 32, id.index * 32 + 32);
  }
}
