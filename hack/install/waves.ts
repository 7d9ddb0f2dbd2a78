/**
 * Argo CD sync waves for a rendered manifest stream: objects grouped by the
 * `argocd.argoproj.io/sync-wave` annotation (default "0"), waves in ascending numeric order,
 * and within a wave Argo CD's kind order (Namespaces and CRDs before what lives in them,
 * webhook configurations last) so that one server-side apply per wave succeeds.
 */
import { parseAllDocuments } from "yaml";

/** An object of a rendered manifest (only what ordering and applying read). */
export interface ManifestObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: {
    readonly name: string;
    readonly namespace?: string;
    readonly annotations?: Readonly<Record<string, string>>;
    readonly labels?: Readonly<Record<string, string>>;
  };
  readonly [field: string]: unknown;
}

/** The objects of one sync wave. */
export interface Wave {
  readonly wave: number;
  readonly objects: readonly ManifestObject[];
}

/** The sync-wave annotation. */
export const SYNC_WAVE = "argocd.argoproj.io/sync-wave";

// Argo CD's kind order within a wave (gitops-engine pkg/sync/sync_tasks.go), abridged.
const KIND_ORDER = [
  "Namespace",
  "NetworkPolicy",
  "ResourceQuota",
  "LimitRange",
  "PodSecurityPolicy",
  "PodDisruptionBudget",
  "ServiceAccount",
  "Secret",
  "SecretList",
  "ConfigMap",
  "StorageClass",
  "PersistentVolume",
  "PersistentVolumeClaim",
  "CustomResourceDefinition",
  "ClusterRole",
  "ClusterRoleList",
  "ClusterRoleBinding",
  "ClusterRoleBindingList",
  "Role",
  "RoleList",
  "RoleBinding",
  "RoleBindingList",
  "Service",
  "DaemonSet",
  "Pod",
  "ReplicationController",
  "ReplicaSet",
  "Deployment",
  "HorizontalPodAutoscaler",
  "StatefulSet",
  "Job",
  "CronJob",
  "IngressClass",
  "Ingress",
  "APIService",
];

/** The wave of an object; throws naming the object when the annotation is not an integer. */
export function waveOf(o: ManifestObject): number {
  const raw = o.metadata.annotations?.[SYNC_WAVE] ?? "0";
  if (!/^-?\d+$/.test(raw.trim())) {
    throw new Error(
      `${o.kind}/${o.metadata.name}: metadata.annotations["${SYNC_WAVE}"] is "${raw}" (expected an integer)`,
    );
  }
  return Number(raw);
}

function kindRank(kind: string): number {
  const i = KIND_ORDER.indexOf(kind);
  // Unknown kinds (custom resources, webhook configurations) go after the known ones.
  return i < 0 ? KIND_ORDER.length : i;
}

/** Parses a multi-document YAML stream into objects (empty documents dropped). */
export function parseManifests(text: string): ManifestObject[] {
  const out: ManifestObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`rendered manifest: ${doc.errors[0]?.message}`);
    const o = doc.toJS() as ManifestObject | null;
    if (o === null || o === undefined) continue;
    if (!o.kind || !o.apiVersion || !o.metadata?.name) {
      throw new Error(
        `rendered manifest: an object lacks apiVersion, kind or metadata.name: ${JSON.stringify(o).slice(0, 200)}`,
      );
    }
    out.push(o);
  }
  return out;
}

/** Groups objects into waves, ascending, each in kind order then by name. */
export function syncWaves(objects: readonly ManifestObject[]): Wave[] {
  const byWave = new Map<number, ManifestObject[]>();
  for (const o of objects) {
    const w = waveOf(o);
    byWave.set(w, [...(byWave.get(w) ?? []), o]);
  }
  return [...byWave.entries()]
    .sort(([a], [b]) => a - b)
    .map(([wave, list]) => ({
      wave,
      objects: [...list].sort(
        (a, b) =>
          kindRank(a.kind) - kindRank(b.kind) ||
          a.kind.localeCompare(b.kind) ||
          a.metadata.name.localeCompare(b.metadata.name),
      ),
    }));
}

/** Objects missing a sync-wave annotation, as "Kind/name" (the chart puts one on every object). */
export function withoutWave(objects: readonly ManifestObject[]): string[] {
  return objects
    .filter((o) => o.metadata.annotations?.[SYNC_WAVE] === undefined)
    .map((o) => `${o.kind}/${o.metadata.name}`);
}
