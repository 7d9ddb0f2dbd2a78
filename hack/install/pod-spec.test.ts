import { describe, expect, it } from "@jest/globals";
import {
  containerPort,
  expandVars,
  parseQuantity,
  podField,
  PodSpecError,
  resolveArgv,
  resolveEnv,
  resolveIdentity,
  type ObjectData,
} from "./pod-spec.ts";
import type { Container, ImageConfig, Pod } from "./pod-types.ts";

const image: ImageConfig = {
  user: "65532:65532",
  env: ["PATH=/usr/local/bin:/usr/bin:/bin"],
  cmd: ["node"],
  workingDir: "/app",
};

function pod(c: Partial<Container> = {}, spec: Partial<Pod["spec"]> = {}): Pod {
  return {
    metadata: {
      name: "op-abc-123",
      namespace: "vaultmesh-system",
      uid: "u-1",
      labels: { app: "op" },
      annotations: { note: "x" },
    },
    spec: {
      containers: [{ name: "main", ...c }],
      serviceAccountName: "sa",
      nodeName: "cpu-1",
      ...spec,
    },
    status: { podIP: "10.244.0.5", hostIP: "127.0.0.1" },
  };
}

const data: ObjectData = {
  secrets: new Map([["db", { url: "postgres://x" }]]),
  configMaps: new Map([["cfg", { level: "debug", mode: "fast" }]]),
};

describe("expandVars", () => {
  const vars = new Map([
    ["A", "1"],
    ["B", "two"],
  ]);
  it.each([
    ["$(A)", "1"],
    ["x-$(B)-y", "x-two-y"],
    ["$(MISSING)", "$(MISSING)"],
    ["$$(A)", "$(A)"],
    ["cost $5", "cost $5"],
    ["$(A", "$(A"],
    ["trailing $", "trailing $"],
  ])("%s → %s", (input, want) => {
    expect(expandVars(input, vars)).toBe(want);
  });
});

describe("podField", () => {
  it.each([
    ["metadata.name", "op-abc-123"],
    ["metadata.namespace", "vaultmesh-system"],
    ["metadata.uid", "u-1"],
    ["metadata.labels['app']", "op"],
    ["metadata.annotations['note']", "x"],
    ["metadata.labels['none']", ""],
    ["spec.nodeName", "cpu-1"],
    ["spec.serviceAccountName", "sa"],
    ["status.podIP", "10.244.0.5"],
  ])("%s → %s", (path, want) => {
    expect(podField(pod(), path, "env")).toBe(want);
  });
  it("names an unsupported field path", () => {
    expect(() => podField(pod(), "spec.priority", "env[0].valueFrom.fieldRef")).toThrow(
      /env\[0\]\.valueFrom\.fieldRef\.fieldPath: "spec\.priority" is not supported/,
    );
  });
});

describe("parseQuantity", () => {
  it.each([
    ["512Mi", 512 * 2 ** 20],
    ["250m", 0.25],
    ["2", 2],
    ["1G", 1e9],
    [3, 3],
  ])("%s → %d", (q, want) => {
    expect(parseQuantity(q, "x")).toBeCloseTo(want);
  });
  it("refuses a malformed quantity", () => {
    expect(() => parseQuantity("lots", "limits.memory")).toThrow(
      /limits\.memory: "lots" is not a quantity/,
    );
  });
});

describe("resolveEnv", () => {
  it("layers image env, kubelet variables, envFrom and env, expanding $(VAR) in order", () => {
    const p = pod({
      envFrom: [{ configMapRef: { name: "cfg" }, prefix: "CFG_" }],
      env: [
        { name: "NS", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
        { name: "URL", valueFrom: { secretKeyRef: { name: "db", key: "url" } } },
        { name: "LEVEL", valueFrom: { configMapKeyRef: { name: "cfg", key: "level" } } },
        { name: "GREETING", value: "in $(NS) at $(KUBERNETES_SERVICE_HOST)" },
        { name: "OPT", valueFrom: { secretKeyRef: { name: "absent", key: "k", optional: true } } },
        {
          name: "MEM",
          valueFrom: { resourceFieldRef: { resource: "limits.memory", divisor: "1Mi" } },
        },
      ],
      resources: { limits: { memory: "512Mi" } },
    });
    const env = resolveEnv(p, p.spec.containers[0]!, image, data, {
      KUBERNETES_SERVICE_HOST: "127.0.0.1",
    });
    expect(Object.fromEntries(env)).toEqual({
      PATH: "/usr/local/bin:/usr/bin:/bin",
      KUBERNETES_SERVICE_HOST: "127.0.0.1",
      CFG_level: "debug",
      CFG_mode: "fast",
      NS: "vaultmesh-system",
      URL: "postgres://x",
      LEVEL: "debug",
      GREETING: "in vaultmesh-system at 127.0.0.1",
      MEM: "512",
    });
  });
  it.each([
    [
      { name: "X", valueFrom: { secretKeyRef: { name: "nope", key: "url" } } },
      /env\[0\] \(X\)\.valueFrom\.secretKeyRef: Secret "nope" does not exist/,
    ],
    [
      { name: "X", valueFrom: { secretKeyRef: { name: "db", key: "password" } } },
      /Secret "db" has no key "password" \(keys: url\)/,
    ],
    [
      { name: "X", valueFrom: { configMapKeyRef: { name: "cfg", key: "nope" } } },
      /ConfigMap "cfg" has no key "nope"/,
    ],
    [{ name: "X", valueFrom: {} }, /expected one of fieldRef, resourceFieldRef/],
  ])("names the field of a reference it cannot resolve (%#)", (e, want) => {
    const p = pod({ env: [e] });
    expect(() => resolveEnv(p, p.spec.containers[0]!, image, data)).toThrow(want);
  });
});

describe("resolveArgv", () => {
  const env = new Map([["PORT", "8090"]]);
  it.each([
    [{ command: ["node", "main.ts"] }, ["node", "main.ts"]],
    [{ command: ["node"], args: ["--port=$(PORT)"] }, ["node", "--port=8090"]],
    [{ args: ["x.js"] }, ["x.js"]],
    [{}, ["node"]],
  ])("%j → %j", (c, want) => {
    expect(resolveArgv({ name: "c", ...c }, image, env)).toEqual(want);
  });
  it("refuses a container with nothing to run", () => {
    expect(() => resolveArgv({ name: "c" }, { env: [] }, env)).toThrow(PodSpecError);
  });
});

describe("resolveIdentity", () => {
  it.each([
    ["the image User", {}, {}, { uid: 65532, gid: 65532, groups: [65532] }],
    [
      "the pod's securityContext",
      {},
      { securityContext: { runAsUser: 1000, runAsGroup: 2000, fsGroup: 3000 } },
      { uid: 1000, gid: 2000, groups: [2000, 3000] },
    ],
    [
      "the container's over the pod's",
      { securityContext: { runAsUser: 7 } },
      { securityContext: { runAsUser: 1000, supplementalGroups: [5] } },
      { uid: 7, gid: 65532, groups: [65532, 5] },
    ],
  ])("takes %s", (_what, c, spec, want) => {
    const p = pod(c, spec);
    expect(resolveIdentity(p, p.spec.containers[0]!, image)).toMatchObject(want);
  });
  it("carries readOnlyRootFilesystem and allowPrivilegeEscalation", () => {
    const p = pod({
      securityContext: { readOnlyRootFilesystem: true, allowPrivilegeEscalation: false },
    });
    expect(resolveIdentity(p, p.spec.containers[0]!, image)).toMatchObject({
      readOnlyRootFilesystem: true,
      noNewPrivileges: true,
    });
  });
  it("refuses runAsNonRoot when the container would run as root", () => {
    const p = pod({}, { securityContext: { runAsNonRoot: true } });
    expect(() => resolveIdentity(p, p.spec.containers[0]!, { env: [] })).toThrow(
      /spec\.containers\[main\]\.securityContext\.runAsNonRoot: the container would run as UID 0/,
    );
  });
  it("refuses a non-numeric image User", () => {
    const p = pod();
    expect(() => resolveIdentity(p, p.spec.containers[0]!, { env: [], user: "nonroot" })).toThrow(
      /image config User: "nonroot" is not numeric/,
    );
  });
});

describe("containerPort", () => {
  const c: Container = { name: "w", ports: [{ name: "https", containerPort: 9443 }] };
  it.each([
    ["https", 9443],
    [8080, 8080],
    ["8081", 8081],
  ])("%s → %d", (p, want) => {
    expect(containerPort(c, p)).toBe(want);
  });
  it("names the missing port", () => {
    expect(() => containerPort(c, "http")).toThrow(/no port named "http" \(has https\)/);
  });
});
