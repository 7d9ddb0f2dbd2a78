/**
 * A Pod's volumes as files, the way the kubelet's volume plugins lay them out: Secret and
 * ConfigMap volumes (all keys or `items`), projected volumes (secret, configMap, downwardAPI
 * and serviceAccountToken sources) and downwardAPI volumes, with their file modes; emptyDirs
 * as writable directories. {@link volumeFiles} is pure; {@link writeVolumes} writes the files
 * under a directory on a tmpfs, where the pod runner bind-mounts them at their mountPaths.
 */
import { chmod, chown, mkdir, writeFile } from "node:fs/promises";
import { dirname, join, normalize } from "node:path";
import { podField, PodSpecError, type ObjectData } from "./pod-spec.ts";
import type { DownwardApiFile, KeyToPath, Pod, ProjectionSource, Volume } from "./pod-types.ts";

/** One file of a volume, relative to the volume's root. */
export interface VolumeFile {
  readonly path: string;
  readonly content: string;
  readonly mode: number;
}

/** A materialised volume: files, or an empty writable directory. */
export interface VolumeContent {
  readonly name: string;
  readonly kind: "files" | "emptyDir";
  readonly files: readonly VolumeFile[];
}

/** Service account tokens a Pod's projected volumes ask for, keyed by {@link tokenKey}. */
export type Tokens = ReadonlyMap<string, string>;

/** The key of a token request: audience (empty = the apiserver's) and lifetime. */
export function tokenKey(
  audience: string | undefined,
  expirationSeconds: number | undefined,
): string {
  return `${audience ?? ""}|${expirationSeconds ?? 3600}`;
}

/** The token requests the Pod's volumes need, one per distinct audience and lifetime. */
export function tokenRequests(
  pod: Pod,
): { readonly audience?: string; readonly expirationSeconds: number }[] {
  const seen = new Map<string, { audience?: string; expirationSeconds: number }>();
  for (const v of pod.spec.volumes ?? []) {
    for (const s of v.projected?.sources ?? []) {
      const t = s.serviceAccountToken;
      if (!t) continue;
      const exp = t.expirationSeconds ?? 3600;
      seen.set(tokenKey(t.audience, exp), {
        ...(t.audience ? { audience: t.audience } : {}),
        expirationSeconds: exp,
      });
    }
  }
  return [...seen.values()];
}

const DEFAULT_MODE = 0o644;

function safePath(p: string, where: string): string {
  const n = normalize(p);
  if (n.startsWith("/") || n === ".." || n.startsWith("../")) {
    throw new PodSpecError(`${where}: path "${p}" must be relative and stay inside the volume`);
  }
  return n;
}

function keyFiles(
  data: Readonly<Record<string, string>> | undefined,
  ref: {
    readonly name: string;
    readonly items?: readonly KeyToPath[];
    readonly optional?: boolean;
  },
  mode: number,
  where: string,
): VolumeFile[] {
  if (!data) {
    if (ref.optional) return [];
    throw new PodSpecError(`${where}: "${ref.name}" does not exist (or mark it optional)`);
  }
  if (!ref.items) {
    return Object.entries(data).map(([k, v]) => ({ path: safePath(k, where), content: v, mode }));
  }
  return ref.items.map((it, i) => {
    const v = data[it.key];
    if (v === undefined) {
      throw new PodSpecError(`${where}.items[${i}].key: "${ref.name}" has no key "${it.key}"`);
    }
    return { path: safePath(it.path, `${where}.items[${i}]`), content: v, mode: it.mode ?? mode };
  });
}

function downwardFiles(
  pod: Pod,
  items: readonly DownwardApiFile[],
  mode: number,
  where: string,
): VolumeFile[] {
  return items.map((it, i) => {
    if (!it.fieldRef) throw new PodSpecError(`${where}.items[${i}]: expected fieldRef`);
    return {
      path: safePath(it.path, `${where}.items[${i}]`),
      content: podField(pod, it.fieldRef.fieldPath, `${where}.items[${i}].fieldRef`),
      mode: it.mode ?? mode,
    };
  });
}

function projectedFiles(
  pod: Pod,
  s: ProjectionSource,
  ctx: {
    readonly data: ObjectData;
    readonly tokens: Tokens;
    readonly mode: number;
    readonly where: string;
  },
): VolumeFile[] {
  const { data, mode, where } = ctx;
  if (s.secret) return keyFiles(data.secrets.get(s.secret.name), s.secret, mode, `${where}.secret`);
  if (s.configMap) {
    return keyFiles(data.configMaps.get(s.configMap.name), s.configMap, mode, `${where}.configMap`);
  }
  if (s.downwardAPI)
    return downwardFiles(pod, s.downwardAPI.items ?? [], mode, `${where}.downwardAPI`);
  if (s.serviceAccountToken) {
    const t = s.serviceAccountToken;
    const token = ctx.tokens.get(tokenKey(t.audience, t.expirationSeconds ?? 3600));
    if (token === undefined) {
      throw new PodSpecError(`${where}.serviceAccountToken: no token was requested for it`);
    }
    return [{ path: safePath(t.path, `${where}.serviceAccountToken`), content: token, mode }];
  }
  throw new PodSpecError(
    `${where}: expected one of secret, configMap, downwardAPI, serviceAccountToken`,
  );
}

/** The files of volume `v` of `pod` (pure: Secrets, ConfigMaps and tokens come in). */
export function volumeFiles(pod: Pod, v: Volume, data: ObjectData, tokens: Tokens): VolumeContent {
  const where = `spec.volumes[${v.name}]`;
  const files = (list: VolumeFile[]): VolumeContent => ({
    name: v.name,
    kind: "files",
    files: list,
  });
  if (v.emptyDir) return { name: v.name, kind: "emptyDir", files: [] };
  if (v.secret) {
    const ref = { ...v.secret, name: v.secret.secretName };
    const mode = v.secret.defaultMode ?? DEFAULT_MODE;
    return files(keyFiles(data.secrets.get(ref.name), ref, mode, `${where}.secret`));
  }
  if (v.configMap) {
    const mode = v.configMap.defaultMode ?? DEFAULT_MODE;
    return files(
      keyFiles(data.configMaps.get(v.configMap.name), v.configMap, mode, `${where}.configMap`),
    );
  }
  if (v.downwardAPI) {
    const mode = v.downwardAPI.defaultMode ?? DEFAULT_MODE;
    return files(downwardFiles(pod, v.downwardAPI.items ?? [], mode, `${where}.downwardAPI`));
  }
  if (v.projected) {
    const mode = v.projected.defaultMode ?? DEFAULT_MODE;
    return files(
      v.projected.sources.flatMap((s, i) =>
        projectedFiles(pod, s, { data, tokens, mode, where: `${where}.projected.sources[${i}]` }),
      ),
    );
  }
  throw new PodSpecError(
    `${where}: unsupported volume type (supported: secret, configMap, projected, downwardAPI, emptyDir)`,
  );
}

function containerReferences(pod: Pod, secrets: Set<string>, configMaps: Set<string>): void {
  for (const c of [...pod.spec.containers, ...(pod.spec.initContainers ?? [])]) {
    for (const e of c.env ?? []) {
      if (e.valueFrom?.secretKeyRef) secrets.add(e.valueFrom.secretKeyRef.name);
      if (e.valueFrom?.configMapKeyRef) configMaps.add(e.valueFrom.configMapKeyRef.name);
    }
    for (const f of c.envFrom ?? []) {
      if (f.secretRef) secrets.add(f.secretRef.name);
      if (f.configMapRef) configMaps.add(f.configMapRef.name);
    }
  }
}

/** The names of the Secrets and ConfigMaps a Pod's env and volumes reference. */
export function referencedObjects(pod: Pod): { secrets: Set<string>; configMaps: Set<string> } {
  const secrets = new Set<string>();
  const configMaps = new Set<string>();
  containerReferences(pod, secrets, configMaps);
  for (const v of pod.spec.volumes ?? []) {
    if (v.secret) secrets.add(v.secret.secretName);
    if (v.configMap) configMaps.add(v.configMap.name);
    for (const s of v.projected?.sources ?? []) {
      if (s.secret) secrets.add(s.secret.name);
      if (s.configMap) configMaps.add(s.configMap.name);
    }
  }
  return { secrets, configMaps };
}

/**
 * Writes volume contents under `dir/<volume name>` (files root-owned with their modes; with an
 * fsGroup, group-owned by it and group-readable, as the kubelet does; emptyDirs mode 0777).
 * Returns the host directory of each volume.
 */
export async function writeVolumes(
  dir: string,
  volumes: readonly VolumeContent[],
  fsGroup?: number,
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const v of volumes) {
    const root = join(dir, v.name);
    await mkdir(root, { recursive: true, mode: 0o755 });
    if (v.kind === "emptyDir") await chmod(root, 0o777);
    for (const f of v.files) {
      const p = join(root, f.path);
      await mkdir(dirname(p), { recursive: true, mode: 0o755 });
      await writeFile(p, f.content, { mode: f.mode });
      let mode = f.mode;
      if (fsGroup !== undefined) {
        await chown(p, 0, fsGroup);
        mode |= 0o040;
      }
      await chmod(p, mode);
    }
    out.set(v.name, root);
  }
  return out;
}
