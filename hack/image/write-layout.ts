// Writes the OCI image layout (oci-layout, index.json, blobs/) from the layer blobs build.sh
// made, plus docker-archive's manifest.json; prints the manifest digest on stdout.
// Usage: write-layout.ts --layers layers.tsv --layer-dir DIR --out OCI_DIR
//          --docker-manifest FILE --repository R --tag T --uid N --epoch S
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { parseArgs } from "node:util";
import {
  dockerArchiveManifest,
  imageConfig,
  imageIndex,
  imageManifest,
  jsonBlob,
  parseLayersTsv,
  type ImageSettings,
} from "./oci-layout.ts";

const { values } = parseArgs({
  options: {
    layers: { type: "string" },
    "layer-dir": { type: "string" },
    out: { type: "string" },
    "docker-manifest": { type: "string" },
    repository: { type: "string" },
    tag: { type: "string" },
    uid: { type: "string" },
    epoch: { type: "string" },
  },
});

function required(name: keyof typeof values): string {
  const v = values[name];
  if (!v) throw new Error(`write-layout: --${name} is required`);
  return v;
}

function integer(name: "uid" | "epoch"): number {
  const raw = required(name);
  const n = Number(raw);
  if (!/^[0-9]+$/.test(raw) || !Number.isSafeInteger(n)) {
    throw new Error(`write-layout: --${name} must be a non-negative integer, got ${raw}`);
  }
  return n;
}

const settings: ImageSettings = {
  repository: required("repository"),
  tag: required("tag"),
  uid: integer("uid"),
  epoch: integer("epoch"),
};
const layers = parseLayersTsv(readFileSync(required("layers"), "utf8"));
const out = required("out");
const blobs = join(out, "blobs", "sha256");
mkdirSync(blobs, { recursive: true });

for (const layer of layers) {
  copyFileSync(join(required("layer-dir"), `${layer.name}.tar.gz`), join(blobs, layer.digest));
}
const config = jsonBlob(imageConfig(layers, settings));
const manifest = jsonBlob(imageManifest(config, layers));
for (const blob of [config, manifest]) {
  writeFileSync(join(blobs, blob.digest.slice("sha256:".length)), blob.bytes);
}
writeFileSync(join(out, "index.json"), jsonBlob(imageIndex(manifest, settings)).bytes);
writeFileSync(join(out, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
writeFileSync(
  required("docker-manifest"),
  jsonBlob(dockerArchiveManifest(config, layers, settings)).bytes,
);
process.stdout.write(`${manifest.digest}\n`);
