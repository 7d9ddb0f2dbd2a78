import { readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { describe, expect, it, jest } from "@jest/globals";
import { VaultLawEvaluator, type VaultLawInput } from "./evaluator.ts";
import { parseVaultLawRef } from "./policy-ref.ts";

// Built by hack/opa/build-policy.sh from test/fixtures/vault-law/vault-law.rego.
const wasm = new Uint8Array(
  readFileSync(new URL("../../test/fixtures/vault-law/vault-law.wasm", import.meta.url)),
);
const digest = `sha256:${createHash("sha256").update(wasm).digest("hex")}`;
const REF = "configmap://vaultmesh-system/akash-law";
// The runtime's WebAssembly object (the project's TypeScript libs do not declare it).
const wasmRuntime = (
  globalThis as unknown as {
    WebAssembly: {
      instantiate: (source: unknown, imports?: unknown) => Promise<unknown>;
      Module: abstract new (...args: never[]) => object;
    };
  }
).WebAssembly;

function input(
  gpu: { type: string; count: number },
  plan = "pro",
  maxRuntimeSeconds = 3600,
): VaultLawInput {
  return {
    workload: { namespace: "tenant-acme", name: "w", gpu, maxRuntimeSeconds },
    tenant: { name: "acme", plan },
    treaty: { name: "akash", provider: "akash", regions: ["us-west"] },
  };
}

describe("parseVaultLawRef", () => {
  it.each([
    [
      REF,
      { kind: "configmap", namespace: "vaultmesh-system", name: "akash-law", key: "policy.wasm" },
    ],
    [
      "configmap://ns/law/custom.wasm",
      { kind: "configmap", namespace: "ns", name: "law", key: "custom.wasm" },
    ],
    [
      "policy/wasm/akash-quota-policy.wasm",
      {
        kind: "configmap",
        namespace: "vaultmesh-system",
        name: "akash-quota-policy",
        key: "akash-quota-policy.wasm",
        path: "policy/wasm/akash-quota-policy.wasm",
      },
    ],
    [
      "akash.wasm",
      {
        kind: "configmap",
        namespace: "vaultmesh-system",
        name: "akash",
        key: "akash.wasm",
        path: "akash.wasm",
      },
    ],
    ["oci://ghcr.io/x/y:1", { kind: "external", ref: "oci://ghcr.io/x/y:1" }],
    ["https://x.example/p.wasm", { kind: "external", ref: "https://x.example/p.wasm" }],
    ["/etc/policy/akash.wasm", { kind: "external", ref: "/etc/policy/akash.wasm" }],
    ["policy/../akash.wasm", { kind: "external", ref: "policy/../akash.wasm" }],
    ["policy/Akash.wasm", { kind: "external", ref: "policy/Akash.wasm" }],
    ["policy/akash.rego", { kind: "external", ref: "policy/akash.rego" }],
  ])("%s", (ref, want) => {
    expect(parseVaultLawRef(ref)).toEqual(want);
  });

  it("resolves the path form in the given library namespace", () => {
    expect(parseVaultLawRef("policy/wasm/law.wasm", "platform")).toMatchObject({
      kind: "configmap",
      namespace: "platform",
      name: "law",
    });
  });

  it.each([
    "configmap://ns",
    "configmap://NS/x",
    "configmap://ns/x/k/extra",
    "configmap://ns/x/bad key",
  ])("%s is invalid", (ref) => {
    expect(parseVaultLawRef(ref).kind).toBe("invalid");
  });
});

describe("VaultLawEvaluator with the test policy (opa build -t wasm)", () => {
  let reads = 0;
  const evaluator = new VaultLawEvaluator((ref) => {
    reads++;
    return Promise.resolve(
      ref.name === "akash-law" && ref.key === "policy.wasm" ? wasm : undefined,
    );
  });

  it.each<[string, VaultLawInput, string[]]>([
    ["allows a small workload", input({ type: "a10g", count: 1 }), []],
    [
      "refuses more than 4 GPUs",
      input({ type: "a10g", count: 8 }),
      ["treaty akash allows at most 4 GPUs per workload, requested 8"],
    ],
    [
      "refuses flagship GPUs to the free plan",
      input({ type: "h100", count: 1 }, "free"),
      ["treaty akash does not serve h100 to free-plan tenants"],
    ],
    [
      "lists every reason",
      input({ type: "h100", count: 5 }, "free", 100_000),
      [
        "treaty akash allows at most 4 GPUs per workload, requested 5",
        "treaty akash allows at most 86400s of runtime, requested 100000",
        "treaty akash does not serve h100 to free-plan tenants",
      ],
    ],
  ])("%s", async (_name, i, want) => {
    expect(await evaluator.evaluate({ policyRef: REF }, i)).toEqual({ ok: true, reasons: want });
  });

  it("compiles a module once and reuses it", async () => {
    // Compilations are counted where they happen, in the WebAssembly runtime (opa-wasm
    // compiles by handing bytes to WebAssembly.instantiate), not by the evaluator itself; a
    // fresh evaluator, so an earlier test's cached module cannot make this pass.
    const instantiate = jest.spyOn(wasmRuntime, "instantiate");
    try {
      const fresh = new VaultLawEvaluator(() => Promise.resolve(wasm));
      for (let i = 0; i < 3; i++) {
        const verdict = await fresh.evaluate(
          { policyRef: REF, policyDigest: digest },
          input({ type: "a10g", count: 1 }),
        );
        expect(verdict).toEqual({ ok: true, reasons: [] });
      }
      const compilations = instantiate.mock.calls.filter(
        ([source]) => !(source instanceof wasmRuntime.Module),
      );
      expect(compilations).toHaveLength(1);
    } finally {
      instantiate.mockRestore();
    }
  });

  it("reads the bytes on every evaluation (a ConfigMap may change)", async () => {
    const before = reads;
    await evaluator.evaluate(
      { policyRef: REF, policyDigest: digest },
      input({ type: "a10g", count: 1 }),
    );
    await evaluator.evaluate(
      { policyRef: REF, policyDigest: digest },
      input({ type: "a10g", count: 1 }),
    );
    expect(reads - before).toBe(2);
  });

  it.each<[string, { policyRef: string; policyDigest?: string }, string]>([
    ["a missing ConfigMap", { policyRef: "configmap://vaultmesh-system/nope" }, "not found"],
    [
      "a missing path-form policy",
      { policyRef: "policy/wasm/x.wasm" },
      "not found (ConfigMap vaultmesh-system/x key x.wasm)",
    ],
    [
      "an external reference",
      { policyRef: "oci://ghcr.io/x/law:1" },
      "neither a configmap:// reference nor a path",
    ],
    [
      "a digest mismatch",
      { policyRef: REF, policyDigest: `sha256:${"0".repeat(64)}` },
      "the treaty requires",
    ],
  ])("reports %s as an error verdict", async (_name, spec, want) => {
    const v = await evaluator.evaluate(spec, input({ type: "a10g", count: 1 }));
    expect(v.ok).toBe(false);
    expect(v.ok ? "" : v.error).toContain(want);
  });

  it("reports a module that is not wasm", async () => {
    const broken = new VaultLawEvaluator(() => Promise.resolve(new Uint8Array([1, 2, 3])));
    const v = await broken.evaluate({ policyRef: REF }, input({ type: "a10g", count: 1 }));
    expect(v).toEqual({ ok: false, error: expect.stringContaining("evaluating policy") });
  });
});
