/**
 * Reads the image configuration (User, Env, Entrypoint, Cmd, WorkingDir) of the image that
 * `hack/image/build.sh` wrote as an OCI image layout, so the pod runner starts containers
 * with the image's defaults where the Pod spec leaves them out.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { ImageConfig } from "./pod-types.ts";

interface Descriptor {
  readonly digest: string;
  readonly annotations?: Record<string, string>;
}

async function blob<T>(layout: string, d: Descriptor, what: string): Promise<T> {
  const [alg, hex] = d.digest.split(":");
  if (!alg || !hex) throw new Error(`${what}: digest "${d.digest}" is not <algorithm>:<hex>`);
  return JSON.parse(await readFile(join(layout, "blobs", alg, hex), "utf8")) as T;
}

/**
 * The configuration of the image tagged `ref` (or the only image) in the OCI layout at
 * `layout`; throws naming the file or reference at fault.
 */
export async function readImageConfig(layout: string, ref?: string): Promise<ImageConfig> {
  const indexFile = join(layout, "index.json");
  const index = JSON.parse(await readFile(indexFile, "utf8")) as { manifests?: Descriptor[] };
  const all = index.manifests ?? [];
  const m = ref
    ? all.find((x) => x.annotations?.["io.containerd.image.name"] === ref)
    : all.length === 1
      ? all[0]
      : undefined;
  if (!m) {
    const names = all.map((x) => x.annotations?.["io.containerd.image.name"] ?? x.digest);
    throw new Error(
      `${indexFile}: no image ${ref ? `"${ref}"` : "(expected exactly one)"}; it holds ${names.join(", ") || "none"}`,
    );
  }
  const manifest = await blob<{ config: Descriptor }>(layout, m, `${indexFile} manifest`);
  const cfg = await blob<{
    config?: {
      User?: string;
      Env?: string[];
      Entrypoint?: string[];
      Cmd?: string[];
      WorkingDir?: string;
    };
  }>(layout, manifest.config, "image config");
  const c = cfg.config ?? {};
  return {
    ...(c.User ? { user: c.User } : {}),
    env: c.Env ?? [],
    ...(c.Entrypoint ? { entrypoint: c.Entrypoint } : {}),
    ...(c.Cmd ? { cmd: c.Cmd } : {}),
    ...(c.WorkingDir ? { workingDir: c.WorkingDir } : {}),
  };
}
