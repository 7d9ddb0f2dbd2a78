// The vault-law policy shipped with the samples (config/samples/policy): the Akash treaty's
// path reference resolves to the ConfigMap the samples' kustomization generates from the
// compiled module, and that module decides as its Rego source says.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "@jest/globals";
import YAML from "yaml";
import { VaultLawEvaluator, type VaultLawInput } from "./evaluator.ts";
import { parseVaultLawRef, VAULT_LAW_CONFIGMAP_LABEL } from "./policy-ref.ts";

const samples = new URL("../../config/samples/", import.meta.url);
const read = (file: string): string => readFileSync(new URL(file, samples), "utf8");

interface Generator {
  name: string;
  namespace?: string;
  files: string[];
  options?: { labels?: Record<string, string>; disableNameSuffixHash?: boolean };
}

const treaty = YAML.parse(read("treaty-aurora-akash-001.yaml")) as {
  metadata: { name: string };
  spec: { provider: string; regions: string[]; treatyId: string; vaultLaw: { policyRef: string } };
};
const kustomization = YAML.parse(read("kustomization.yaml")) as {
  configMapGenerator: Generator[];
};
const policyRef = treaty.spec.vaultLaw.policyRef;

/** The ConfigMap key → bytes the kustomization generates, by namespace/name. */
function generatedConfigMaps(): Map<string, Map<string, Uint8Array>> {
  const out = new Map<string, Map<string, Uint8Array>>();
  for (const g of kustomization.configMapGenerator) {
    expect(g.options?.disableNameSuffixHash).toBe(true); // the name is what the reference says
    expect(Object.keys(g.options?.labels ?? {})).toContain(VAULT_LAW_CONFIGMAP_LABEL);
    const keys = new Map<string, Uint8Array>();
    for (const f of g.files) {
      keys.set(f.split("/").at(-1) ?? f, new Uint8Array(readFileSync(new URL(f, samples))));
    }
    out.set(`${g.namespace ?? "default"}/${g.name}`, keys);
  }
  return out;
}

function input(over: { count?: number; maxRuntimeSeconds?: number; plan?: string }): VaultLawInput {
  return {
    workload: {
      namespace: "tenant-acme",
      name: "train-llama-lora",
      gpu: { type: "a10g", count: over.count ?? 1 },
      maxRuntimeSeconds: over.maxRuntimeSeconds ?? 3600,
    },
    tenant: { name: "acme", plan: over.plan ?? "pro" },
    treaty: {
      name: treaty.metadata.name,
      provider: treaty.spec.provider,
      regions: treaty.spec.regions,
      treatyId: treaty.spec.treatyId,
    },
  };
}

describe("the sample treaty's vault-law (config/samples/policy)", () => {
  it("keeps the seed's reference, which resolves to a ConfigMap the samples generate", () => {
    expect(policyRef).toBe("policy/wasm/akash-quota-policy.wasm");
    const ref = parseVaultLawRef(policyRef);
    expect(ref).toMatchObject({
      kind: "configmap",
      namespace: "vaultmesh-system",
      name: "akash-quota-policy",
      key: "akash-quota-policy.wasm",
    });
    const cm = generatedConfigMaps().get("vaultmesh-system/akash-quota-policy");
    expect([...(cm?.keys() ?? [])]).toEqual(["akash-quota-policy.wasm"]);
  });

  const maps = generatedConfigMaps();
  const evaluator = new VaultLawEvaluator((ref) =>
    Promise.resolve(maps.get(`${ref.namespace}/${ref.name}`)?.get(ref.key)),
  );

  it.each<[string, Parameters<typeof input>[0], string[]]>([
    ["the sample workload", {}, []],
    ["8 GPUs for a day", { count: 8, maxRuntimeSeconds: 86400 }, []],
    ["9 GPUs", { count: 9 }, ["AURORA-AKASH-001 allows at most 8 GPUs per workload, requested 9"]],
    [
      "two days",
      { maxRuntimeSeconds: 172800 },
      ["AURORA-AKASH-001 allows at most 86400s of runtime per workload, requested 172800"],
    ],
    [
      "a free-plan tenant",
      { plan: "free" },
      ["AURORA-AKASH-001 serves the starter, pro and enterprise plans, not free"],
    ],
  ])("decides on %s", async (_what, over, wantReasons) => {
    const verdict = await evaluator.evaluate({ policyRef }, input(over));
    expect(verdict).toEqual({ ok: true, reasons: wantReasons });
  });
});
