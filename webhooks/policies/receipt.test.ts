import { describe, expect, it } from "@jest/globals";
import type { Receipt } from "../../crds/index.ts";
import { sample } from "../../crds/test-helpers.ts";
import {
  DEFAULT_OPERATOR_SERVICE_ACCOUNT,
  SYSTEM_RECEIPT_DELETERS,
  validateReceipt,
  type ReceiptPolicyInput,
} from "./receipt.ts";

// A JSON round trip, as from a request body: structuredClone's objects come from another realm
// under jest, and canonical JSON accepts plain objects only.
const receipt = (): Receipt =>
  JSON.parse(JSON.stringify(sample("train-llama-lora-completed-1"))) as Receipt;
const deleters = [DEFAULT_OPERATOR_SERVICE_ACCOUNT, ...SYSTEM_RECEIPT_DELETERS];
const run = (
  over: Partial<ReceiptPolicyInput> & Pick<ReceiptPolicyInput, "operation">,
): ReturnType<typeof validateReceipt> => validateReceipt({ username: "alice", deleters, ...over });

describe("validateReceipt", () => {
  it("allows the sample receipt, whose digest matches its canonical payload", () => {
    expect(run({ operation: "CREATE", object: receipt() }).errors).toEqual([]);
  });

  it("denies a receipt whose payload no longer matches its digest", () => {
    const r = receipt();
    r.spec.payload.cost = 0.01;
    const errors = run({ operation: "CREATE", object: r }).errors;
    expect(errors.map((e) => e.field)).toEqual(["spec.digest"]);
    expect(errors[0]?.message).toContain("not the digest of the RFC 8785 canonical payload");
  });

  it.each<[string, (r: Receipt) => void, string[]]>([
    ["a label change", (r) => (r.metadata.labels = { a: "b" }), []],
    ["a payload change", (r) => (r.spec.payload.cost = 99), ["spec"]],
    ["a signature change", (r) => (r.spec.signatures = []), ["spec"]],
  ])("on UPDATE: %s", (_name, change, wantFields) => {
    const updated = receipt();
    change(updated);
    expect(
      run({ operation: "UPDATE", object: updated, oldObject: receipt() }).errors.map(
        (e) => e.field,
      ),
    ).toEqual(wantFields);
  });

  it.each<[string, boolean]>([
    [DEFAULT_OPERATOR_SERVICE_ACCOUNT, true],
    ["system:serviceaccount:kube-system:namespace-controller", true],
    ["system:serviceaccount:tenant-acme:default", false],
    ["alice@acme.example", false],
  ])("DELETE by %s allowed: %s", (username, want) => {
    const r = run({ operation: "DELETE", oldObject: receipt(), username });
    expect(r.errors.length === 0).toBe(want);
    if (!want) expect(r.errors[0]?.message).toContain(DEFAULT_OPERATOR_SERVICE_ACCOUNT);
  });
});
