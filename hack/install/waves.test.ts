import { describe, expect, it } from "@jest/globals";
import { parseManifests, syncWaves, waveOf, withoutWave, type ManifestObject } from "./waves.ts";

const obj = (kind: string, name: string, wave?: string): ManifestObject => ({
  apiVersion: "v1",
  kind,
  metadata: {
    name,
    ...(wave !== undefined ? { annotations: { "argocd.argoproj.io/sync-wave": wave } } : {}),
  },
});

describe("syncWaves", () => {
  it("orders waves numerically and kinds within a wave as Argo CD does", () => {
    const waves = syncWaves([
      obj("ValidatingWebhookConfiguration", "v", "0"),
      obj("Deployment", "op", "-1"),
      obj("Service", "svc", "-1"),
      obj("CustomResourceDefinition", "crd", "-3"),
      obj("Namespace", "ns", "-3"),
      obj("ClusterRole", "r", "-2"),
      obj("ServiceAccount", "sa", "-2"),
      obj("Tenant", "acme", "1"),
      obj("GPUWorkload", "w", "10"),
    ]);
    expect(waves.map((w) => [w.wave, w.objects.map((o) => o.kind)])).toEqual([
      [-3, ["Namespace", "CustomResourceDefinition"]],
      [-2, ["ServiceAccount", "ClusterRole"]],
      [-1, ["Service", "Deployment"]],
      [0, ["ValidatingWebhookConfiguration"]],
      [1, ["Tenant"]],
      [10, ["GPUWorkload"]],
    ]);
  });
});

describe("waveOf", () => {
  it.each([
    [undefined, 0],
    ["-3", -3],
    [" 2 ", 2],
  ])("%s → %d", (wave, want) => {
    expect(waveOf(obj("Secret", "s", wave))).toBe(want);
  });
  it("names the object with a bad annotation", () => {
    expect(() => waveOf(obj("Secret", "s", "early"))).toThrow(
      /Secret\/s: metadata.annotations\["argocd.argoproj.io\/sync-wave"\] is "early" \(expected an integer\)/,
    );
  });
});

describe("parseManifests and withoutWave", () => {
  it("parses a stream, drops empty documents and lists objects without a wave", () => {
    const objects = parseManifests(
      '---\n# only a comment\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: b\n  annotations:\n    argocd.argoproj.io/sync-wave: "-1"\n',
    );
    expect(objects.map((o) => o.kind)).toEqual(["ConfigMap", "Secret"]);
    expect(withoutWave(objects)).toEqual(["ConfigMap/a"]);
  });
  it("refuses an object without a name", () => {
    expect(() => parseManifests("apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n")).toThrow(
      /lacks apiVersion, kind or metadata.name/,
    );
  });
});
