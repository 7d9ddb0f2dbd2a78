/**
 * What every Argo CD health case is made of: the sample objects of config/samples, a fixed
 * clock, and the lifecycle cases every kind shares (no status yet, a generation the operator
 * has not observed, deletion in progress). The statuses themselves come from the operator's
 * own status functions, in the per-kind case files.
 */
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { pruneUndefined } from "../../../operator/runtime/index.ts";

/** A health code Argo CD accepts from a health script. */
export type HealthCode = "Healthy" | "Progressing" | "Degraded" | "Suspended";

/** One test of a health check: an object and the health its script must report. */
export interface HealthCase {
  /** File name in testdata/ (without .yaml): `<expected health>-<what>`. */
  readonly name: string;
  readonly object: Record<string, unknown>;
  readonly want: { readonly status: HealthCode; readonly message: string };
}

/** The clock every case is computed at. */
export const NOW = new Date("2026-06-01T10:00:00Z");

/** When the cases' objects were created and when deletion was requested. */
export const CREATED = "2026-06-01T09:00:00Z";
export const DELETION_REQUESTED = "2026-06-01T10:05:00Z";

/** Kubernetes' own finalizer of a foreground cascading deletion. */
export const FOREGROUND_DELETION = "foregroundDeletion";

/** An object of config/samples, parsed. */
export function sample<T>(file: string): T {
  const url = new URL(`../../../config/samples/${file}`, import.meta.url);
  return parse(readFileSync(url, "utf8")) as T;
}

/** A plain JSON copy of an API object (undefined fields dropped), as the apiserver serves it. */
export function plain(obj: unknown): Record<string, unknown> {
  return pruneUndefined(obj) as Record<string, unknown>;
}

const UID_SUFFIX: Readonly<Record<string, string>> = {
  Treaty: "1",
  Tenant: "2",
  GPUWorkload: "3",
  Receipt: "4",
  FederationPeer: "5",
};

/** Metadata the apiserver adds: uid (fixed per kind), generation and creation time. */
export function served<T extends { kind?: string; metadata: object }>(obj: T, generation = 1): T {
  return {
    ...obj,
    metadata: {
      ...obj.metadata,
      uid: `5f0c6c1e-7c1a-4d7e-9a39-00000000000${UID_SUFFIX[obj.kind ?? ""] ?? "0"}`,
      generation,
      creationTimestamp: CREATED,
    },
  };
}

interface Meta {
  readonly metadata: { readonly generation?: number | undefined; readonly finalizers?: string[] };
  readonly status?: unknown;
}

/**
 * The cases every kind shares, from an object with a current status: before the operator
 * wrote any status, after a spec change it has not observed, and while being deleted.
 */
export function lifecycleCases(
  current: Meta & Record<string, unknown>,
  finalizer: string,
  deletingMessage = "being deleted",
): HealthCase[] {
  const { status: _status, ...withoutStatus } = current;
  const gen = current.metadata.generation ?? 1;
  return [
    {
      name: "progressing-no-status",
      object: plain(withoutStatus),
      want: { status: "Progressing", message: "waiting for the operator to report status" },
    },
    {
      name: "progressing-generation-not-observed",
      object: plain({ ...current, metadata: { ...current.metadata, generation: gen + 1 } }),
      want: {
        status: "Progressing",
        message: `waiting for the operator to observe generation ${gen + 1} (status is of generation ${gen})`,
      },
    },
    {
      name: "progressing-deleting",
      object: plain({
        ...current,
        metadata: {
          ...current.metadata,
          deletionTimestamp: DELETION_REQUESTED,
          finalizers: [
            ...(current.metadata.finalizers ?? []).filter((f) => f !== finalizer),
            finalizer,
          ],
        },
      }),
      want: { status: "Progressing", message: deletingMessage },
    },
  ];
}
