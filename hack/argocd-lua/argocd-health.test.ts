// Runs every Argo CD health check in deploy/argocd under the gopher-lua harness
// (hack/argocd-lua, built at the gopher-lua version Argo CD pins) in both of Argo CD's library
// modes, checks that the harness itself catches a wrong answer and a script that needs the
// standard libraries, and that the generated testdata and argocd-cm snippets are current.
import { beforeAll, describe, expect, it } from "@jest/globals";
import { spawnSync } from "node:child_process";
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import YAML from "yaml";
import { TENANT_SUSPENSION_REASONS, TREATY_READY_REASONS } from "../../crds/constants.ts";
import { WEBHOOK_SERVICE } from "../../webhooks/manifest-file.ts";
import { renderWebhookConfigurations } from "../../webhooks/manifests.ts";
import {
  ARGO_HELM_VALUES_PATH,
  ARGOCD_CM_PATH,
  argocdFiles,
  CUSTOMIZATIONS_DIR,
  HEALTH_CHECKS,
  healthKey,
} from "./argocd-files.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
const checksDir = path.join(root, CUSTOMIZATIONS_DIR);
let harness = "";

beforeAll(() => {
  const built = spawnSync("bash", [path.join(root, "hack/argocd-lua/build.sh")], {
    encoding: "utf8",
    timeout: 600_000,
  });
  if (built.status !== 0) throw new Error(`hack/argocd-lua/build.sh failed:\n${built.stderr}`);
  harness = built.stdout.trim();
}, 600_000);

function runHarness(args: string[]): { rc: number | null; out: string; err: string } {
  const r = spawnSync(harness, args, { encoding: "utf8", timeout: 60_000 });
  return { rc: r.status, out: r.stdout, err: r.stderr };
}

interface HealthTestFile {
  tests: { inputPath: string; healthStatus: { status: string; message: string } }[];
}

/** A check's directory under resource_customizations: `<group>/<Kind>`. */
const checkPath = (c: { group: string; kind: string }): string => `${c.group}/${c.kind}`;
const VM = "vaultmesh.cloud";

const readTests = (check: string): HealthTestFile =>
  YAML.parse(
    readFileSync(path.join(checksDir, check, "health_test.yaml"), "utf8"),
  ) as HealthTestFile;

/** A scratch copy of one check (`<group>/<Kind>`), for breaking it on purpose. */
function scratchCheck(name: string): { dir: string; check: string } {
  const dir = mkdtempSync(path.join(tmpdir(), "argocd-lua-"));
  const check = path.join(dir, name);
  cpSync(path.join(checksDir, name), check, { recursive: true });
  return { dir, check };
}

describe("Argo CD health checks under gopher-lua", () => {
  it("builds the harness on the gopher-lua version Argo CD pins", () => {
    const pin = /^GOPHER_LUA_VERSION=(\S+)$/m.exec(
      readFileSync(path.join(root, "hack/argocd-lua/versions.env"), "utf8"),
    )?.[1];
    expect(runHarness(["--version"]).out.trim()).toBe(pin);
  });

  it("has a check for every kind, in Argo CD's <group>/<Kind> layout", () => {
    const dirs = readdirSync(checksDir).flatMap((g) =>
      readdirSync(path.join(checksDir, g)).map((k) => `${g}/${k}`),
    );
    expect(dirs.sort()).toEqual(HEALTH_CHECKS.map(checkPath).sort());
  });

  it.each([
    ["off (Argo CD's default)", []],
    ["on", ["--open-libs"]],
  ])("every health_test.yaml passes with open libs %s", (_mode, flags) => {
    const r = runHarness([...flags, checksDir]);
    expect(r.err).toBe("");
    expect(r.rc).toBe(0);
    const wantCount = HEALTH_CHECKS.reduce((n, c) => n + readTests(checkPath(c)).tests.length, 0);
    expect(r.out.split("\n").filter((l) => l.startsWith("PASS "))).toHaveLength(wantCount);
  });

  it("checks both webhook configurations with the same script", () => {
    const lua = (kind: string): string =>
      readFileSync(
        path.join(checksDir, "admissionregistration.k8s.io", kind, "health.lua"),
        "utf8",
      );
    expect(lua("MutatingWebhookConfiguration")).toBe(lua("ValidatingWebhookConfiguration"));
  });

  it("covers every health code the checks can report", () => {
    const codes = new Set(
      HEALTH_CHECKS.map(checkPath).flatMap((k) =>
        readTests(k).tests.map((t) => t.healthStatus.status),
      ),
    );
    expect([...codes].sort()).toEqual(["Degraded", "Healthy", "Progressing", "Suspended"]);
  });

  it("has a Treaty case for every Ready reason and a Tenant case for every suspension", () => {
    const readyReasons = (kind: string): Set<string> =>
      new Set(
        readTests(kind).tests.flatMap((t) => {
          const obj = YAML.parse(readFileSync(path.join(checksDir, kind, t.inputPath), "utf8")) as {
            status?: { conditions?: { type: string; reason: string }[] };
          };
          return (obj.status?.conditions ?? [])
            .filter((c) => c.type === "Ready")
            .map((c) => c.reason);
        }),
      );
    const treaty = readyReasons(`${VM}/Treaty`);
    for (const reason of Object.values(TREATY_READY_REASONS)) expect(treaty).toContain(reason);
    const tenant = readyReasons(`${VM}/Tenant`);
    for (const s of TENANT_SUSPENSION_REASONS) {
      expect(tenant).toContain(s === "Spec" ? "Suspended" : s);
    }
  });

  it("fails with a want/got diff when a script's answer differs from health_test.yaml", () => {
    const { dir, check } = scratchCheck(`${VM}/Treaty`);
    try {
      const spec = path.join(check, "health_test.yaml");
      const tests = readTests(`${VM}/Treaty`);
      const expired = tests.tests.find((t) => t.inputPath === "testdata/degraded-expired.yaml");
      if (!expired) throw new Error("no degraded-expired case");
      expired.healthStatus.status = "Healthy";
      writeFileSync(spec, YAML.stringify(tests));
      const r = runHarness([dir]);
      expect(r.rc).toBe(1);
      expect(r.out).toContain(
        [
          "FAIL vaultmesh.cloud/Treaty testdata/degraded-expired.yaml (open libs off)",
          '  want: Healthy "Expired: expired on 2026-05-31"',
          '  got:  Degraded "Expired: expired on 2026-05-31"',
        ].join("\n"),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("runs scripts with Argo CD's libraries: string.format fails with open libs off", () => {
    const { dir, check } = scratchCheck(`${VM}/Receipt`);
    try {
      const lua = path.join(check, "health.lua");
      const script = readFileSync(lua, "utf8").replace(
        "local function explain(c)\n",
        'local function explain(c)\n  if c.reason == "Proven" then return string.format("%s", c.reason .. ": " .. c.message) end\n',
      );
      writeFileSync(lua, script);
      const off = runHarness([dir]);
      expect(off.rc).toBe(1);
      expect(off.out).toMatch(
        /got: {2}error: running health\.lua: .*attempt to index a non-table object\(nil\) with key 'format'/,
      );
      expect(runHarness(["--open-libs", dir]).rc).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("reads a script's answer as Argo CD does: an unknown status is Unknown, a loop times out", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "argocd-lua-"));
    try {
      const check = path.join(dir, "example.com", "Widget");
      mkdirSync(path.join(check, "testdata"), { recursive: true });
      writeFileSync(
        path.join(check, "health.lua"),
        'if obj.spec.loop then\n  while true do end\nend\nreturn { status = "Fine", message = "x" }\n',
      );
      writeFileSync(path.join(check, "testdata/fine.yaml"), "spec:\n  loop: false\n");
      writeFileSync(path.join(check, "testdata/loop.yaml"), "spec:\n  loop: true\n");
      const tests = (loopStatus: string): string =>
        YAML.stringify({
          tests: [
            {
              inputPath: "testdata/fine.yaml",
              healthStatus: { status: "Unknown", message: "Lua returned an invalid health status" },
            },
            { inputPath: "testdata/loop.yaml", healthStatus: { status: loopStatus, message: "" } },
          ],
        });
      writeFileSync(path.join(check, "health_test.yaml"), tests("Unknown"));
      const r = runHarness([dir]);
      expect(r.out).toMatch(/PASS example\.com\/Widget testdata\/fine\.yaml: Unknown/);
      expect(r.out).toMatch(
        /FAIL example\.com\/Widget testdata\/loop\.yaml[^\n]*\n.*\n {2}got: {2}error: .*context deadline exceeded/,
      );
      expect(r.rc).toBe(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses a testdata file no test reads, naming it", () => {
    const { dir, check } = scratchCheck(`${VM}/Tenant`);
    try {
      cpSync(
        path.join(check, "testdata/suspended-spec.yaml"),
        path.join(check, "testdata/forgotten.yaml"),
      );
      const r = runHarness([dir]);
      expect(r.rc).toBe(2);
      expect(r.err).toContain(
        "testdata no test in health_test.yaml reads: testdata/forgotten.yaml",
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("generated Argo CD files", () => {
  it("are current: testdata from the status functions, snippets from the health.lua files", async () => {
    const want = await argocdFiles(root);
    const stale = [...want].filter(([p, text]) => {
      try {
        return readFileSync(path.join(root, p), "utf8") !== text;
      } catch {
        return true;
      }
    });
    expect(stale.map(([p]) => p)).toEqual([]);
  });

  it.each([
    [ARGOCD_CM_PATH, (doc: Record<string, Record<string, string>>) => doc.data],
    [
      ARGO_HELM_VALUES_PATH,
      (doc: Record<string, Record<string, Record<string, string>>>) => doc.configs?.cm,
    ],
  ])("%s carries every health.lua verbatim", (file, data) => {
    const doc = YAML.parse(readFileSync(path.join(root, file), "utf8")) as never;
    const keys = data(doc) ?? {};
    for (const c of HEALTH_CHECKS) {
      const lua = readFileSync(path.join(checksDir, checkPath(c), "health.lua"), "utf8");
      expect(keys[healthKey(c)]).toBe(lua);
    }
    expect(Object.keys(keys)).toHaveLength(HEALTH_CHECKS.length);
  });
});

describe("the example Application", () => {
  interface Application {
    spec: {
      source: { path: string };
      syncPolicy: { syncOptions: string[]; retry?: { limit: number } };
      ignoreDifferences: {
        group: string;
        kind: string;
        name: string;
        jqPathExpressions: string[];
      }[];
    };
  }
  const app = YAML.parse(
    readFileSync(path.join(root, "deploy/argocd/application.yaml"), "utf8"),
  ) as Application;

  it("installs the chart with server-side apply, a created namespace and retries", () => {
    expect(readdirSync(path.join(root, app.spec.source.path))).toContain("Chart.yaml");
    expect(app.spec.syncPolicy.syncOptions).toEqual(
      expect.arrayContaining(["ServerSideApply=true", "CreateNamespace=true"]),
    );
    expect(app.spec.syncPolicy.retry?.limit).toBeGreaterThan(0);
  });

  it("ignores the caBundle of both webhook configurations the product renders", () => {
    const { validating, mutating } = renderWebhookConfigurations({
      target: { service: WEBHOOK_SERVICE },
    });
    const ignored = app.spec.ignoreDifferences.map((d) => ({
      kind: d.kind,
      name: d.name,
      paths: d.jqPathExpressions,
    }));
    expect(ignored).toEqual(
      [validating, mutating].map((c) => ({
        kind: c.kind,
        name: c.metadata.name,
        paths: [".webhooks[]?.clientConfig.caBundle"],
      })),
    );
    expect(app.spec.syncPolicy.syncOptions).toContain("RespectIgnoreDifferences=true");
  });
});
