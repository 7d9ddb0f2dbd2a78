import { describe, expect, it } from "@jest/globals";
import type { Receipt } from "../../crds/index.ts";
import { jsonDigest } from "../../services/ledger/canonical-json.ts";
import { makeReceipt } from "../../test/builders/webhook-objects.ts";
import {
  DEFAULT_OPERATOR_SERVICE_ACCOUNT,
  SYSTEM_RECEIPT_DELETERS,
  validateReceipt,
  type ReceiptPolicyInput,
} from "./receipt.ts";

const receipt = (): Receipt => makeReceipt("completed-1", "tenant-acme");
const deleters = [DEFAULT_OPERATOR_SERVICE_ACCOUNT, ...SYSTEM_RECEIPT_DELETERS];
const run = (
  over: Partial<ReceiptPolicyInput> & Pick<ReceiptPolicyInput, "operation">,
): ReturnType<typeof validateReceipt> => validateReceipt({ username: "alice", deleters, ...over });

describe("validateReceipt", () => {
  it("allows a receipt whose digest is the ledger's digest of type, subject and payload", () => {
    expect(run({ operation: "CREATE", object: receipt() }).errors).toEqual([]);
  });

  it.each<[string, (r: Receipt) => void]>([
    ["an altered payload", (r) => (r.spec.payload.cost = 0.01)],
    ["another subject", (r) => (r.spec.subject.name = "other")],
    ["another type", (r) => (r.spec.type = "WorkloadFailed")],
    ["a digest of the payload alone", (r) => (r.spec.digest = jsonDigest(r.spec.payload))],
  ])("denies a receipt whose digest does not cover it: %s", (_name, change) => {
    const r = receipt();
    change(r);
    const errors = run({ operation: "CREATE", object: r }).errors;
    expect(errors.map((e) => e.field)).toEqual(["spec.digest"]);
    expect(errors[0]?.message).toContain(
      "is not the ledger digest of the canonical {type, subject, payload}",
    );
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
