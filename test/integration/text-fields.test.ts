// Issue 12, Must have 8 (ADR 0093): the apiserver itself — the generated CRD schema, RE2
// patterns — refuses control and bidirectional-override characters in text fields and image
// references outside the distribution/reference grammar, naming the field, as the webhook's zod
// schemas do (crds/text-fields.test.ts). Server-side dry runs: nothing is stored.
import { describe, expect, it } from "@jest/globals";
import { kubectl } from "../harness/kube.ts";

const RLO = "\u202E";
const NUL = "\u0000";

function workload(template: Record<string, unknown>): string {
  return JSON.stringify({
    apiVersion: "vaultmesh.cloud/v1alpha1",
    kind: "GPUWorkload",
    metadata: { name: "text-fields", namespace: "default" },
    spec: {
      gpu: { type: "a10g", count: 1 },
      template: { image: "ghcr.io/acme/train:1.4", ...template },
    },
  });
}

function tenant(spec: Record<string, unknown>): string {
  return JSON.stringify({
    apiVersion: "vaultmesh.cloud/v1alpha1",
    kind: "Tenant",
    metadata: { name: "text-fields" },
    spec: { plan: "free", ...spec },
  });
}

function treaty(vaultLaw: Record<string, unknown>): string {
  return JSON.stringify({
    apiVersion: "vaultmesh.cloud/v1alpha1",
    kind: "Treaty",
    metadata: { name: "text-fields" },
    spec: {
      provider: "akash",
      regions: ["us-west"],
      pricing: [{ gpuType: "a10g", usdPerHour: 0.85 }],
      vaultLaw,
    },
  });
}

const dryRun = (manifest: string): ReturnType<typeof kubectl> =>
  kubectl(["create", "--dry-run=server", "-o", "name", "-f", "-"], manifest);

describe("text fields at the apiserver", () => {
  it.each([
    ["U+202E in args", workload({ args: ["--out", `evil${RLO}txt.sh`] }), "spec.template.args[1]"],
    ["NUL in command", workload({ command: [`python${NUL}`] }), "spec.template.command[0]"],
    [
      "ESC in an env value",
      workload({ env: [{ name: "A", value: "\u001b[2J" }] }),
      "spec.template.env[0].value",
    ],
    ["U+202E in the image", workload({ image: `ghcr.io/acme/${RLO}niart` }), "spec.template.image"],
    ["an upper-case repository", workload({ image: "ghcr.io/Acme/train" }), "spec.template.image"],
    ["an image with a space", workload({ image: "ghcr.io/acme/train 1.4" }), "spec.template.image"],
    ["U+202E in displayName", tenant({ displayName: `Acme${RLO}` }), "spec.displayName"],
    [
      "a line break in an owner name",
      tenant({ owners: [{ name: "alice\nadmin" }] }),
      "spec.owners[0].name",
    ],
    [
      "NUL in the vault-law governance",
      treaty({ governance: `DAO vote${NUL}` }),
      "spec.vaultLaw.governance",
    ],
    [
      "U+2066 in a vault-law policyRef",
      treaty({ governance: "DAO", policyRef: "policy/\u2066a.wasm" }),
      "spec.vaultLaw.policyRef",
    ],
  ])("refuses %s, naming the field", async (_what, manifest, wantField) => {
    const r = await dryRun(manifest);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/is invalid/);
    expect(r.stderr).toContain(`${wantField}: Invalid value:`);
    expect(r.stderr).toContain(`${wantField} in body should match`);
  });

  it("accepts multi-line args, tabs in env values, right-to-left text and a digest-pinned image", async () => {
    const digest = `sha256:${"a".repeat(64)}`;
    const r = await dryRun(
      workload({
        image: `registry.local:5000/acme/train_v2:1.4@${digest}`,
        command: ["bash", "-c"],
        args: ["set -e\npython train.py --title 'שלום'\r\n"],
        env: [{ name: "TSV", value: "a\tb" }],
      }),
    );
    expect(r.stderr).toBe("");
    expect(r.stdout.trim()).toBe("gpuworkload.vaultmesh.cloud/text-fields");
    const t = await dryRun(tenant({ displayName: "גילדת המחקר" }));
    expect(t.stderr).toBe("");
  });
});
