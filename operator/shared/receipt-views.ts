/**
 * Creating a Receipt view of a ledger entry, once: the view's name comes from the receipt's
 * digest, so creating it again after a crash or on another replica collides instead of
 * duplicating (AlreadyExists is success), and its Logged condition is written only while it
 * has no log position. Used by every controller that appends receipts (GPUWorkload,
 * FederationPeer, the deployment recorder); the Receipt controller then checks each view
 * against the ledger.
 */
import type { Receipt } from "../../crds/index.ts";
import { loggedCondition } from "../../crds/domain/index.ts";
import {
  isAlreadyExists,
  isConflict,
  Resources,
  type KubeClient,
  type ObjectCache,
} from "../../services/kube/index.ts";
import { rfc3339, writeStatus } from "../runtime/index.ts";

/** Where a receipt sits in the log, and the tree head the append returned (if any). */
export interface AppendedEntry {
  readonly logIndex: number;
  readonly leafHash: string;
  readonly treeHead?: { readonly treeSize: number; readonly rootHash: string } | undefined;
}

/**
 * Creates the Receipt `view` unless it exists (in `cache` when given, else by a read;
 * AlreadyExists is success) and marks it Logged at `entry` when it has no log position yet.
 */
export async function ensureReceiptView(
  client: KubeClient,
  view: Receipt,
  entry: AppendedEntry,
  now: Date,
  cache?: ObjectCache<Receipt>,
): Promise<void> {
  const ns = view.metadata.namespace ?? "";
  const name = view.metadata.name ?? "";
  // With a cache, a miss goes straight to create (AlreadyExists covers a lagging cache).
  let obj = cache ? cache.get(name, ns) : await client.get<Receipt>(Resources.Receipt, name, ns);
  if (!obj) {
    try {
      obj = await client.create(Resources.Receipt, view);
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      obj = await client.get<Receipt>(Resources.Receipt, name, ns);
    }
  }
  if (!obj || obj.status?.logIndex !== undefined) return;
  const head = entry.treeHead;
  try {
    await writeStatus(client, Resources.Receipt, obj, {
      logIndex: entry.logIndex,
      leafHash: entry.leafHash,
      ...(head ? { treeSize: head.treeSize, rootHash: head.rootHash } : {}),
      conditions: [{ ...loggedCondition(entry.logIndex), lastTransitionTime: rfc3339(now) }],
    });
  } catch (err) {
    // The Receipt controller may mark the new view Logged (it matches the entry by leaf hash)
    // between our create and this write: that conflict is success, not a retry.
    if (!isConflict(err)) throw err;
    const current = await client.get<Receipt>(Resources.Receipt, name, ns);
    if (current?.status?.logIndex === undefined) throw err;
  }
}
