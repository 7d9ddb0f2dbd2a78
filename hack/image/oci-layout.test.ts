import { describe, expect, it } from "@jest/globals";
import {
  dockerArchiveManifest,
  imageConfig,
  imageIndex,
  imageManifest,
  jsonBlob,
  MEDIA_TYPES,
  parseLayersTsv,
  type ImageSettings,
  type LayerBlob,
} from "./oci-layout.ts";

const hex = (c: string): string => c.repeat(64);
const layers: LayerBlob[] = [
  { name: "1-base", diffId: hex("a"), digest: hex("b"), size: 10 },
  { name: "4-app", diffId: hex("c"), digest: hex("d"), size: 20 },
];
const settings: ImageSettings = {
  repository: "ghcr.io/vaultmesh/vaultmesh",
  tag: "0.1.0",
  uid: 65532,
  epoch: 0,
};

describe("imageConfig", () => {
  it("runs as the numeric non-root user in /app, with layers in order and no wall clock", () => {
    const config = imageConfig(layers, settings) as Record<string, unknown>;
    expect(config).toMatchObject({
      created: "1970-01-01T00:00:00Z",
      architecture: "amd64",
      os: "linux",
      config: {
        User: "65532:65532",
        WorkingDir: "/app",
        Env: ["PATH=/usr/local/bin:/usr/bin:/bin"],
      },
      rootfs: { type: "layers", diff_ids: [`sha256:${hex("a")}`, `sha256:${hex("c")}`] },
    });
  });

  it.each([
    { epoch: 0, wantCreated: "1970-01-01T00:00:00Z" },
    { epoch: 1700000000, wantCreated: "2023-11-14T22:13:20Z" },
  ])("takes `created` from the epoch $epoch", ({ epoch, wantCreated }) => {
    expect(imageConfig(layers, { ...settings, epoch })).toMatchObject({ created: wantCreated });
  });
});

describe("jsonBlob", () => {
  it("gives the same bytes and digest for the same layers (reproducible)", () => {
    const a = jsonBlob(imageConfig(layers, settings));
    const b = jsonBlob(imageConfig([...layers], { ...settings }));
    expect(b.bytes.equals(a.bytes)).toBe(true);
    expect(b.digest).toBe(a.digest);
    expect(a.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(a.size).toBe(a.bytes.length);
  });
});

describe("manifest, index and docker-archive manifest", () => {
  const config = jsonBlob(imageConfig(layers, settings));
  const manifest = jsonBlob(imageManifest(config, layers));

  it("describes the config and gzip layers by digest and size", () => {
    expect(imageManifest(config, layers)).toEqual({
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.manifest,
      config: { mediaType: MEDIA_TYPES.config, digest: config.digest, size: config.size },
      layers: [
        { mediaType: MEDIA_TYPES.layerGzip, digest: `sha256:${hex("b")}`, size: 10 },
        { mediaType: MEDIA_TYPES.layerGzip, digest: `sha256:${hex("d")}`, size: 20 },
      ],
    });
  });

  it("names the manifest by tag (skopeo oci:DIR:TAG) and by reference (containerd)", () => {
    expect(imageIndex(manifest, settings)).toMatchObject({
      manifests: [
        {
          digest: manifest.digest,
          annotations: {
            "io.containerd.image.name": "ghcr.io/vaultmesh/vaultmesh:0.1.0",
            "org.opencontainers.image.ref.name": "0.1.0",
          },
        },
      ],
    });
  });

  it("points docker-archive's manifest.json into the layout's blobs", () => {
    expect(dockerArchiveManifest(config, layers, settings)).toEqual([
      {
        Config: `blobs/sha256/${config.digest.slice(7)}`,
        RepoTags: ["ghcr.io/vaultmesh/vaultmesh:0.1.0"],
        Layers: [`blobs/sha256/${hex("b")}`, `blobs/sha256/${hex("d")}`],
      },
    ]);
  });
});

describe("parseLayersTsv", () => {
  it("reads name, diff_id, digest and size per line", () => {
    expect(parseLayersTsv(`1-base\t${hex("a")}\t${hex("b")}\t10\n`)).toEqual([layers[0]]);
  });

  it.each([
    { line: `1-base\tnothex\t${hex("b")}\t10`, want: /line 1: expected .*sha256 hex/ },
    { line: `1-base\t${hex("a")}\t${hex("b")}`, want: /line 1: expected "name<TAB>diff_id/ },
    { line: `1-base\t${hex("a")}\t${hex("b")}\t-3`, want: /line 1: size must be a positive/ },
  ])("refuses $line", ({ line, want }) => {
    expect(() => parseLayersTsv(line)).toThrow(want);
  });
});
