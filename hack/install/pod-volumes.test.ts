import { describe, expect, it } from "@jest/globals";
import type { ObjectData } from "./pod-spec.ts";
import type { Pod, Volume } from "./pod-types.ts";
import { referencedObjects, tokenKey, tokenRequests, volumeFiles } from "./pod-volumes.ts";

const data: ObjectData = {
  secrets: new Map([["keys", { "ed25519.key": "PRIVATE", "trust.json": "{}" }]]),
  configMaps: new Map([["kube-root-ca.crt", { "ca.crt": "CA" }]]),
};

// What the ServiceAccount admission plugin injects into every Pod that mounts a token.
const kubeApiAccess: Volume = {
  name: "kube-api-access-x",
  projected: {
    defaultMode: 420,
    sources: [
      { serviceAccountToken: { expirationSeconds: 3607, path: "token" } },
      { configMap: { name: "kube-root-ca.crt", items: [{ key: "ca.crt", path: "ca.crt" }] } },
      {
        downwardAPI: {
          items: [{ path: "namespace", fieldRef: { fieldPath: "metadata.namespace" } }],
        },
      },
    ],
  },
};

const pod = (volumes: Volume[]): Pod => ({
  metadata: { name: "p", namespace: "ns", uid: "u" },
  spec: {
    containers: [
      { name: "c", env: [{ name: "U", valueFrom: { secretKeyRef: { name: "db", key: "url" } } }] },
    ],
    volumes,
  },
});

describe("volumeFiles", () => {
  const tokens = new Map([[tokenKey(undefined, 3607), "TOKEN"]]);

  it("lays out kube-api-access as the kubelet does: token, ca.crt, namespace", () => {
    expect(volumeFiles(pod([kubeApiAccess]), kubeApiAccess, data, tokens)).toEqual({
      name: "kube-api-access-x",
      kind: "files",
      files: [
        { path: "token", content: "TOKEN", mode: 0o644 },
        { path: "ca.crt", content: "CA", mode: 0o644 },
        { path: "namespace", content: "ns", mode: 0o644 },
      ],
    });
  });

  it.each<[string, Volume, { path: string; content: string; mode: number }[]]>([
    [
      "every key of a Secret with its defaultMode",
      { name: "v", secret: { secretName: "keys", defaultMode: 0o400 } },
      [
        { path: "ed25519.key", content: "PRIVATE", mode: 0o400 },
        { path: "trust.json", content: "{}", mode: 0o400 },
      ],
    ],
    [
      "the items of a Secret, with their own mode",
      {
        name: "v",
        secret: {
          secretName: "keys",
          items: [{ key: "ed25519.key", path: "k/key.pem", mode: 0o440 }],
        },
      },
      [{ path: "k/key.pem", content: "PRIVATE", mode: 0o440 }],
    ],
    [
      "an optional Secret that is missing",
      { name: "v", secret: { secretName: "nope", optional: true } },
      [],
    ],
  ])("writes %s", (_what, v, want) => {
    expect(volumeFiles(pod([v]), v, data, tokens).files).toEqual(want);
  });

  it("leaves an emptyDir empty", () => {
    const v: Volume = { name: "tmp", emptyDir: { sizeLimit: "64Mi" } };
    expect(volumeFiles(pod([v]), v, data, tokens)).toEqual({
      name: "tmp",
      kind: "emptyDir",
      files: [],
    });
  });

  it.each<[string, Volume, RegExp]>([
    [
      "a missing Secret",
      { name: "v", secret: { secretName: "nope" } },
      /spec\.volumes\[v\]\.secret: "nope" does not exist/,
    ],
    [
      "a missing key",
      { name: "v", secret: { secretName: "keys", items: [{ key: "x", path: "x" }] } },
      /items\[0\]\.key: "keys" has no key "x"/,
    ],
    [
      "a path leaving the volume",
      {
        name: "v",
        secret: { secretName: "keys", items: [{ key: "trust.json", path: "../etc/passwd" }] },
      },
      /must be relative and stay inside the volume/,
    ],
    ["an unsupported type", { name: "v" }, /unsupported volume type/],
  ])("refuses %s, naming the field", (_what, v, want) => {
    expect(() => volumeFiles(pod([v]), v, data, tokens)).toThrow(want);
  });
});

describe("tokenRequests and referencedObjects", () => {
  it("asks one token per audience and lifetime, and lists the objects to read", () => {
    const p = pod([
      kubeApiAccess,
      { name: "keys", secret: { secretName: "keys" } },
      {
        name: "aud",
        projected: { sources: [{ serviceAccountToken: { path: "t", audience: "vault" } }] },
      },
    ]);
    expect(tokenRequests(p)).toEqual([
      { expirationSeconds: 3607 },
      { audience: "vault", expirationSeconds: 3600 },
    ]);
    expect(referencedObjects(p)).toEqual({
      secrets: new Set(["db", "keys"]),
      configMaps: new Set(["kube-root-ca.crt"]),
    });
  });
});
