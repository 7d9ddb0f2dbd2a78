// The Helm chart charts/vaultmesh, rendered by the pinned Helm v4 (hack/helm/build.sh): lint,
// schema refusals naming the value, byte-identical renders, parity with config/default (rendered
// by kubectl kustomize), sync waves, restricted security contexts and Secret-only credentials.
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { execFileSync, spawnSync } from "node:child_process";
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import YAML from "yaml";
import { OPERATOR_NODE_FLAGS } from "../../operator/config.ts";
import { generateChart, staleChartFiles } from "../generate-chart.ts";
import { CHART_DIR, chartFiles, defaultValues } from "./chart-files.ts";
import { ChartValuesSchema } from "./values-schema.ts";
import { notFromUsers, notJobControllerPod } from "../../webhooks/manifests.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
const chart = path.join(root, CHART_DIR);
const NS = "vaultmesh-system";
// A cold build of Helm or kubectl takes minutes; `make deps` has normally built both already.
const BUILD_TIMEOUT_MS = 20 * 60 * 1000;

let helm = "";
let kubectl = "";

/** A Kubernetes object as rendered. */
type Obj = {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [key: string]: unknown;
};
type Container = {
  name: string;
  image: string;
  command: string[];
  env?: { name: string; value?: string; valueFrom?: Record<string, Record<string, unknown>> }[];
  securityContext: Record<string, unknown>;
  volumeMounts?: { name: string; mountPath: string }[];
  readinessProbe?: unknown;
  livenessProbe?: unknown;
  resources?: { requests?: unknown; limits?: unknown };
};
type PodSpec = {
  securityContext: Record<string, unknown>;
  containers: Container[];
  volumes?: { name: string; secret?: { secretName: string } }[];
};

function build(script: string): string {
  return execFileSync("bash", [path.join(root, script)], { encoding: "utf8" }).trim();
}

function helmRun(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(helm, args, { encoding: "utf8", cwd: root });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** `helm template` of the chart with `--set` pairs (and a values file); throws on failure. */
function render(set: readonly string[] = [], namespace = NS, valuesFile?: string): string {
  const args = ["template", "vaultmesh", chart, "-n", namespace];
  if (valuesFile) args.push("-f", valuesFile);
  for (const s of set) args.push("--set", s);
  const r = helmRun(args);
  if (r.code !== 0) throw new Error(`helm template failed: ${r.stderr}`);
  return r.stdout;
}

function objects(text: string): Obj[] {
  return YAML.parseAllDocuments(text)
    .map((d) => d.toJS() as Obj | null)
    .filter((o): o is Obj => o !== null);
}

const key = (o: Obj): string => `${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`;
const byKey = (objs: Obj[]): Map<string, Obj> => new Map(objs.map((o) => [key(o), o]));
const podSpec = (o: Obj): PodSpec =>
  (o as unknown as { spec: { template: { spec: PodSpec } } }).spec.template.spec;
const deployments = (objs: Obj[]): Obj[] => objs.filter((o) => o.kind === "Deployment");

/** The sync wave every object of a kind carries (the shared decision of issue 9). */
const WANT_WAVE: Record<string, string> = {
  CustomResourceDefinition: "-3",
  Namespace: "-3",
  ServiceAccount: "-2",
  ClusterRole: "-2",
  ClusterRoleBinding: "-2",
  Role: "-2",
  RoleBinding: "-2",
  ConfigMap: "-1",
  Secret: "-1",
  Service: "-1",
  Deployment: "-1",
  PodDisruptionBudget: "-1",
  NetworkPolicy: "-1",
  ServiceMonitor: "-1",
  PrometheusRule: "-1",
  Issuer: "-1",
  Certificate: "-1",
  ValidatingWebhookConfiguration: "0",
  MutatingWebhookConfiguration: "0",
};

// Every optional part of the chart on.
const FULL_VALUES = {
  namespace: { create: true },
  image: { digest: `sha256:${"ab".repeat(32)}` },
  webhook: { recordDenials: true, gpuJobCreators: ["system:serviceaccount:ci:runner"] },
  tsa: { development: { enabled: true }, caSecretRef: { name: "tsa-ca" } },
  tenants: {
    database: {
      urlSecretRef: { name: "arrakis-db" },
      migrateUrlSecretRef: { name: "arrakis-db-owner" },
    },
    redis: { urlSecretRef: { name: "arrakis-redis" } },
    stripe: {
      apiKeySecretRef: { name: "stripe" },
      apiBase: "http://stripe-mock.dev.svc:12111",
      planPrices: { pro: "price_pro" },
      webhook: { secretRef: { name: "stripe" } },
    },
    discord: {
      tokenSecretRef: { name: "discord" },
      applicationId: "123456789",
      api: "http://discord.dev.svc:8080/api",
    },
    network: { internetEgress: false, clusterCidrs: ["10.0.0.0/8"] },
  },
  networkPolicy: { enabled: true },
  metrics: { serviceMonitor: { enabled: true }, prometheusRule: { enabled: true } },
  federation: { enabled: true, witnessName: "ledger.example/witness" },
};

let scratch = "";
let fullFile = "";
let certManagerFile = "";

beforeAll(() => {
  helm = build("hack/helm/build.sh");
  kubectl = path.join(build("hack/controlplane/build.sh"), "kubectl");
  scratch = mkdtempSync(path.join(tmpdir(), "vaultmesh-chart-"));
  fullFile = path.join(scratch, "full.yaml");
  writeFileSync(fullFile, YAML.stringify(FULL_VALUES));
  certManagerFile = path.join(scratch, "cert-manager.yaml");
  writeFileSync(
    certManagerFile,
    YAML.stringify({ ...FULL_VALUES, webhook: { certificates: { mode: "certManager" } } }),
  );
}, BUILD_TIMEOUT_MS);

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("hack/helm/build.sh", () => {
  it("builds the Helm version pinned in hack/helm/versions.env", () => {
    const pinned = /^HELM_VERSION=(\S+)$/m.exec(
      readFileSync(path.join(root, "hack/helm/versions.env"), "utf8"),
    )?.[1];
    expect(pinned).toMatch(/^v4\./);
    expect(helm).toContain(`/helm/${pinned}/helm`);
    const r = helmRun(["version", "--template", "{{ .Version }}"]);
    expect(r.stdout).toBe(pinned);
  });
});

describe("generated chart files", () => {
  it("equal the committed files (make verify would pass)", () => {
    for (const [file, text] of chartFiles()) {
      expect(readFileSync(path.join(root, file), "utf8")).toBe(text);
    }
  });

  it("values.yaml holds exactly the schema's defaults", () => {
    const values = YAML.parse(readFileSync(path.join(chart, "values.yaml"), "utf8")) as unknown;
    expect(values).toEqual(defaultValues());
    expect(ChartValuesSchema.parse(values)).toEqual(values);
  });
});

describe("helm lint --strict", () => {
  it.each([
    ["the default values", []],
    ["every option on", ["-f", "full"]],
    ["cert-manager certificates", ["-f", "cert-manager"]],
  ])("passes with %s", (_name, extra) => {
    const files: Record<string, string> = { full: fullFile, "cert-manager": certManagerFile };
    const args = extra.map((a) => files[a] ?? a);
    const r = helmRun(["lint", "--strict", chart, "--namespace", NS, ...args]);
    expect(r.stderr + r.stdout).toContain("1 chart(s) linted, 0 chart(s) failed");
    expect(r.code).toBe(0);
  });
});

describe("values of the wrong shape", () => {
  it.each([
    ["operator.replicas=two", "at '/operator/replicas': got string, want integer"],
    ["operator.replica=3", "at '/operator': additional properties 'replica' not allowed"],
    ["webhook.certificates.mode=selfSigned", "at '/webhook/certificates/mode'"],
    ["tenants.redis.urlSecretRef.name=Not_A_Name", "at '/tenants/redis/urlSecretRef/name'"],
    ["image.digest=latest", "at '/image/digest'"],
    ["image.pullPolicy=Sometimes", "at '/image/pullPolicy'"],
    ["crds.install=yes", "at '/crds/install': got string, want boolean"],
    ["tsa.url=ftp://tsa.example", "at '/tsa/url'"],
    ["ledger.publisher.port=70000", "at '/ledger/publisher/port'"],
    ["tenants.discord.tokenSecretRef.name=discord", "tenants.discord.applicationId: required"],
    ["operator.leaderElection.enabled=false", "operator.leaderElection.enabled: must be true"],
    ["webhook.gpuJobCreators[0]=o'brien", "at '/webhook/gpuJobCreators/0'"],
    ["webhook.jobControllers[0]=job controller", "at '/webhook/jobControllers/0'"],
    // "a,b" (helm's escaped comma): the server would read two creators, the CEL one.
    ["webhook.gpuJobCreators[0]=ci:a\\,ci:b", "at '/webhook/gpuJobCreators/0'"],
  ])("--set %s is refused, naming the value", (set, want) => {
    const r = helmRun(["template", "vaultmesh", chart, "-n", NS, "--set", set]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(want);
  });
});

describe("rendering", () => {
  it("gives identical bytes twice (no random or time-dependent data)", () => {
    expect(render()).toBe(render());
    expect(render([], NS, fullFile)).toBe(render([], NS, fullFile));
    expect(render([], NS, certManagerFile)).toBe(render([], NS, certManagerFile));
  });

  it.each([
    ["default", [] as string[], undefined as string | undefined],
    ["every option on", [], "full"],
    ["cert-manager", [], "cert-manager"],
  ])("puts a sync wave on every object (%s)", (_name, set, file) => {
    const files: Record<string, string> = { full: fullFile, "cert-manager": certManagerFile };
    for (const o of objects(render(set, NS, file ? files[file] : undefined))) {
      expect([key(o), o.metadata.annotations?.["argocd.argoproj.io/sync-wave"]]).toEqual([
        key(o),
        WANT_WAVE[o.kind],
      ]);
    }
  });

  it("follows the release namespace everywhere", () => {
    const text = render(["namespace.create=true"], "vm-prod", fullFile);
    expect(text).not.toContain("vaultmesh-system");
    const objs = objects(text);
    const hook = objs.find((o) => o.kind === "ValidatingWebhookConfiguration") as unknown as {
      webhooks: { clientConfig: { service: { namespace: string } } }[];
    };
    for (const w of hook.webhooks) expect(w.clientConfig.service.namespace).toBe("vm-prod");
    const webhook = podSpec(objs.find((o) => key(o) === "Deployment/vm-prod/vaultmesh-webhook")!);
    expect(webhook.containers[0]!.env).toContainEqual({
      name: "VAULTMESH_OPERATOR_SERVICE_ACCOUNT",
      value: "system:serviceaccount:vm-prod:vaultmesh-operator",
    });
  });

  it("skips the same GPU Job creators as the server's, and the Job controller (ADR 0101)", () => {
    const objs = objects(
      render(
        ["webhook.jobControllers={system:serviceaccount:kube-system:job-controller}"],
        "vm-prod",
        fullFile,
      ),
    );
    const hook = objs.find((o) => o.kind === "ValidatingWebhookConfiguration") as unknown as {
      webhooks: { name: string; matchConditions?: { name: string; expression: string }[] }[];
    };
    const cond = (webhook: string, name: string): string | undefined =>
      hook.webhooks.find((w) => w.name === webhook)?.matchConditions?.find((c) => c.name === name)
        ?.expression;
    const creators = [
      "system:serviceaccount:vm-prod:vaultmesh-operator",
      "system:serviceaccount:ci:runner",
    ];
    expect(cond("jobs.gpu-guard.vaultmesh.cloud", "not-gpu-job-creator")).toBe(
      notFromUsers(creators),
    );
    expect(cond("pods.gpu-guard.vaultmesh.cloud", "not-job-controller-pod")).toBe(
      notJobControllerPod(["system:serviceaccount:kube-system:job-controller"]),
    );
    const webhook = podSpec(objs.find((o) => key(o) === "Deployment/vm-prod/vaultmesh-webhook")!);
    expect(webhook.containers[0]!.env).toContainEqual({
      name: "VAULTMESH_GPU_JOB_CREATORS",
      value: creators.join(","),
    });
  });

  it("takes the image from values: appVersion tag by default, a digest when given", () => {
    const images = (text: string): string[] =>
      deployments(objects(text)).flatMap((d) => podSpec(d).containers.map((c) => c.image));
    expect(new Set(images(render()))).toEqual(new Set(["ghcr.io/vaultmesh/vaultmesh:0.1.0"]));
    expect(new Set(images(render(["image.repository=reg.local/vm", "image.tag=dev"])))).toEqual(
      new Set(["reg.local/vm:dev"]),
    );
    expect(new Set(images(render([], NS, fullFile)))).toEqual(
      new Set([`ghcr.io/vaultmesh/vaultmesh@sha256:${"ab".repeat(32)}`]),
    );
  });
});

describe("CRDs", () => {
  const crds = (set: string[]): Obj[] =>
    objects(render(set)).filter((o) => o.kind === "CustomResourceDefinition");

  it("are installed and kept on uninstall by default", () => {
    const got = crds([]);
    expect(got.map((c) => c.metadata.name).sort()).toEqual([
      "federationpeers.vaultmesh.cloud",
      "gpuworkloads.vaultmesh.cloud",
      "receipts.vaultmesh.cloud",
      "tenants.vaultmesh.cloud",
      "treaties.vaultmesh.cloud",
    ]);
    for (const c of got) expect(c.metadata.annotations?.["helm.sh/resource-policy"]).toBe("keep");
  });

  it("are left out with crds.install=false and not kept with crds.keep=false", () => {
    expect(crds(["crds.install=false"])).toEqual([]);
    for (const c of crds(["crds.keep=false"])) {
      expect(c.metadata.annotations?.["helm.sh/resource-policy"]).toBeUndefined();
    }
  });
});

describe("webhook certificates", () => {
  it("are managed by the server by default: RBAC for its Secret, CA injected by the server", () => {
    const objs = byKey(objects(render()));
    const c = podSpec(objs.get(`Deployment/${NS}/vaultmesh-webhook`)!).containers[0]!;
    expect(c.command).toEqual(
      expect.arrayContaining([
        "--certificates=managed",
        "--tls-secret=vaultmesh-webhook-tls",
        "--service-name=vaultmesh-webhook",
        "--inject-ca-bundle",
      ]),
    );
    expect(c.env?.map((e) => e.name)).toContain("POD_NAMESPACE");
    const role = objs.get(`Role/${NS}/vaultmesh-webhook-certificates`) as unknown as {
      rules: { resources: string[]; resourceNames?: string[]; verbs: string[] }[];
    };
    expect(role.rules).toContainEqual({
      apiGroups: [""],
      resources: ["secrets"],
      resourceNames: ["vaultmesh-webhook-tls"],
      verbs: ["get", "list", "watch", "update", "patch"],
    });
    expect([...objs.keys()].filter((k) => k.startsWith("Certificate/"))).toEqual([]);
  });

  it("come from cert-manager when asked: Certificate, mounted Secret, cainjector annotation", () => {
    const objs = byKey(objects(render([], NS, certManagerFile)));
    const cert = objs.get(`Certificate/${NS}/vaultmesh-webhook`) as unknown as {
      spec: { secretName: string; dnsNames: string[] };
    };
    expect(cert.spec.secretName).toBe("vaultmesh-webhook-tls");
    expect(cert.spec.dnsNames).toContain(`vaultmesh-webhook.${NS}.svc`);
    for (const name of [
      "ValidatingWebhookConfiguration//vaultmesh-validating",
      "MutatingWebhookConfiguration//vaultmesh-mutating",
    ]) {
      expect(objs.get(name)?.metadata.annotations?.["cert-manager.io/inject-ca-from"]).toBe(
        `${NS}/vaultmesh-webhook`,
      );
    }
    const pod = podSpec(objs.get(`Deployment/${NS}/vaultmesh-webhook`)!);
    expect(pod.containers[0]!.command).toContain("--certificates=mounted");
    expect(pod.containers[0]!.command).not.toContain("--inject-ca-bundle");
    expect(pod.volumes).toContainEqual({
      name: "tls",
      secret: { secretName: "vaultmesh-webhook-tls" },
    });
    expect(objs.has(`Role/${NS}/vaultmesh-webhook-certificates`)).toBe(false);
  });
});

describe("tenants.enabled=false", () => {
  it("turns the Tenant controller off and drops its ClusterRole", () => {
    const objs = byKey(objects(render(["tenants.enabled=false"])));
    expect(objs.has("ClusterRole//vaultmesh-operator-tenants")).toBe(false);
    expect(objs.has("ClusterRoleBinding//vaultmesh-operator-tenants")).toBe(false);
    const env = podSpec(objs.get(`Deployment/${NS}/vaultmesh-operator`)!).containers[0]!.env;
    expect(env).toContainEqual({ name: "VAULTMESH_TENANT_CONTROLLER", value: "false" });
    expect(env?.map((e) => e.name).filter((n) => n.startsWith("VAULTMESH_TENANT_"))).toEqual([
      "VAULTMESH_TENANT_CONTROLLER",
    ]);
  });
});

describe("federation.enabled", () => {
  const witnessVolume = (d: Obj) =>
    (podSpec(d).volumes ?? []).find((v) => v.name === "witness-key") as
      { secret?: { secretName?: string; items?: unknown[] } } | undefined;

  it("is off by default: no witness key anywhere", () => {
    for (const d of deployments(objects(render()))) expect(witnessVolume(d)).toBeUndefined();
  });

  it("mounts ONE witness key Secret into the operator (env) and the ledger (--witness-key)", () => {
    const objs = byKey(
      objects(
        render([
          "federation.enabled=true",
          "federation.witnessKeySecretRef.name=fed-key",
          "federation.witnessKeySecretRef.key=w.pem",
          "federation.witnessName=ledger.example/witness",
        ]),
      ),
    );
    const operator = objs.get(`Deployment/${NS}/vaultmesh-operator`)!;
    const ledger = objs.get(`Deployment/${NS}/vaultmesh-ledger`)!;
    for (const d of [operator, ledger]) {
      expect(witnessVolume(d)?.secret).toEqual({
        secretName: "fed-key",
        items: [{ key: "w.pem", path: "witness.key" }],
      });
      expect(podSpec(d).containers[0]!.volumeMounts).toContainEqual({
        name: "witness-key",
        mountPath: "/etc/vaultmesh/witness",
        readOnly: true,
      });
    }
    expect(podSpec(operator).containers[0]!.env).toEqual(
      expect.arrayContaining([
        { name: "VAULTMESH_WITNESS_KEY_FILE", value: "/etc/vaultmesh/witness/witness.key" },
        { name: "VAULTMESH_WITNESS_NAME", value: "ledger.example/witness" },
      ]),
    );
    expect(podSpec(ledger).containers[0]!.command).toEqual(
      expect.arrayContaining([
        "--witness-trust-db",
        "--witness-key=/etc/vaultmesh/witness/witness.key",
        "--witness-name=ledger.example/witness",
      ]),
    );
  });

  it("refuses a witness name with whitespace or '+', naming the value", () => {
    const r = helmRun([
      "template",
      "vaultmesh",
      chart,
      "-n",
      NS,
      "--set",
      "federation.enabled=true",
      "--set",
      "federation.witnessName=a+b",
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("witnessName");
  });
});

describe("pods", () => {
  it.each([
    ["default", undefined],
    ["every option on", "full"],
  ])("run restricted, with probes and resources (%s)", (_name, file) => {
    const objs = objects(render([], NS, file === "full" ? fullFile : undefined));
    for (const d of deployments(objs)) {
      const pod = podSpec(d);
      expect(pod.securityContext).toMatchObject({
        runAsNonRoot: true,
        runAsUser: 65532,
        seccompProfile: { type: "RuntimeDefault" },
      });
      for (const c of pod.containers) {
        expect(c.securityContext).toMatchObject({
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          runAsNonRoot: true,
          capabilities: { drop: ["ALL"] },
        });
        expect(c.readinessProbe).toBeDefined();
        expect(c.livenessProbe).toBeDefined();
        expect(c.resources?.requests).toBeDefined();
        expect(c.resources?.limits).toBeDefined();
      }
    }
  });

  it("get credentials only from Secrets: URLs by secretKeyRef, keys as files of Secret volumes", () => {
    const secretUrls = [
      "DATABASE_URL",
      "VAULTMESH_LEDGER_URL",
      "VAULTMESH_TENANT_DB_URL",
      "VAULTMESH_TENANT_DB_MIGRATE_URL",
      "VAULTMESH_REDIS_URL",
    ];
    const seen = new Set<string>();
    for (const d of deployments(objects(render([], NS, fullFile)))) {
      const pod = podSpec(d);
      const secretVolumes = new Set((pod.volumes ?? []).filter((v) => v.secret).map((v) => v.name));
      for (const c of pod.containers) {
        for (const e of c.env ?? []) {
          seen.add(e.name);
          if (secretUrls.includes(e.name)) {
            expect([e.name, e.valueFrom?.secretKeyRef]).toEqual([e.name, expect.any(Object)]);
          }
          if (e.name.endsWith("_FILE")) {
            const mount = (c.volumeMounts ?? []).find((m) =>
              (e.value ?? "").startsWith(`${m.mountPath}/`),
            );
            expect([e.name, mount && secretVolumes.has(mount.name)]).toEqual([e.name, true]);
          }
        }
      }
    }
    // Every process setting docs/tenants.md lists for a service is reachable from values.
    for (const v of [
      ...secretUrls,
      "VAULTMESH_STRIPE_API_KEY_FILE",
      "VAULTMESH_DISCORD_TOKEN_FILE",
      "VAULTMESH_WITNESS_KEY_FILE",
    ]) {
      expect(seen).toContain(v);
    }
  });
});

// config/federation (ADR 0094) is config/default with the witness key: the chart's federation.enabled.
describe.each([
  ["config/default", ["namespace.create=true"]],
  ["config/federation", ["namespace.create=true", "federation.enabled=true"]],
  ["config/bridge", ["namespace.create=true", "bridge.enabled=true"]],
])("parity with %s", (configDir, set) => {
  let chartObjs: Map<string, Obj>;
  let configObjs: Map<string, Obj>;

  beforeAll(() => {
    chartObjs = byKey(objects(render(set)));
    const r = spawnSync(kubectl, ["kustomize", path.join(root, configDir)], {
      encoding: "utf8",
    });
    if (r.status !== 0) throw new Error(`kubectl kustomize ${configDir}: ${r.stderr}`);
    configObjs = byKey(objects(r.stdout));
  });

  it("renders the same set of objects (kind, namespace, name)", () => {
    expect([...chartObjs.keys()].sort()).toEqual([...configObjs.keys()].sort());
  });

  it("puts a sync wave on every object of the kustomization", () => {
    for (const o of configObjs.values()) {
      expect([key(o), o.metadata.annotations?.["argocd.argoproj.io/sync-wave"]]).toEqual([
        key(o),
        WANT_WAVE[o.kind],
      ]);
    }
  });

  // config/default reads the TSA URL from an optional ConfigMap (kustomize has no values);
  // the chart sets it from tsa.url / tsa.development.
  const KUSTOMIZE_ONLY_ENV = ["REMEMBRANCER_TSA_URL"];

  const comparable = (o: Obj): unknown => {
    const { metadata, ...rest } = structuredClone(o);
    if (o.kind === "Deployment") {
      const pod = (rest as unknown as { spec: { template: { metadata?: unknown; spec: PodSpec } } })
        .spec.template;
      delete pod.metadata;
      for (const c of pod.spec.containers) {
        c.env = c.env?.filter((e) => !KUSTOMIZE_ONLY_ENV.includes(e.name));
      }
    }
    return { name: metadata.name, namespace: metadata.namespace, ...rest };
  };

  it("has the same content in each object: RBAC rules, pod specs, commands, webhooks, CRDs", () => {
    for (const [k, c] of configObjs) {
      const h = chartObjs.get(k);
      expect(h).toBeDefined();
      expect([k, comparable(h!)]).toEqual([k, comparable(c)]);
      // The chart adds its own labels; config/default's are all there.
      expect(h!.metadata.labels).toMatchObject(c.metadata.labels ?? {});
      expect(h!.metadata.annotations?.["argocd.argoproj.io/sync-wave"]).toBe(
        c.metadata.annotations?.["argocd.argoproj.io/sync-wave"],
      );
    }
  });

  it("starts the operator with OPERATOR_NODE_FLAGS", () => {
    const pod = podSpec(chartObjs.get(`Deployment/${NS}/vaultmesh-operator`)!);
    expect(pod.containers[0]!.command).toEqual([
      "node",
      ...OPERATOR_NODE_FLAGS,
      "operator/main.ts",
    ]);
  });
});

describe("hack/generate-chart.ts", () => {
  it("finds nothing stale right after generating, and a hand edit after", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "vaultmesh-chart-gen-"));
    try {
      await generateChart(dir);
      expect(await staleChartFiles(dir)).toEqual([]);
      const edited = `${CHART_DIR}/values.yaml`;
      appendFileSync(path.join(dir, edited), "# hand edit\n");
      expect(await staleChartFiles(dir)).toEqual([edited]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
