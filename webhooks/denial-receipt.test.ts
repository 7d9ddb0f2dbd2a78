import { describe, expect, it } from "@jest/globals";
import { receiptDigest } from "../services/ledger/receipt.ts";
import type { DenialRecord } from "./deps.ts";
import { DenialReceiptError, denialReceipt, type DenialReceipt } from "./denial-receipt.ts";

const podDenial: DenialRecord = {
  webhook: "pods.gpu-guard.vaultmesh.cloud",
  policy: "gpu-pod-guard",
  path: "/validate/pods",
  requestUid: "0df28fbd-5f5f-4b7e-9f5b-4fd0c5a3b1a1",
  operation: "CREATE",
  group: "",
  version: "v1",
  kind: "Pod",
  namespace: "tenant-acme",
  name: "sneaky",
  username: "alice@example.com",
  errors: [
    { field: "metadata.ownerReferences", message: "the pod is not controlled by a Job" },
    { field: "spec.tolerations", message: "tolerates the GPU node taint" },
  ],
  time: "2026-06-01T10:00:00.000Z",
};

const digestOf = (r: DenialReceipt): string =>
  receiptDigest({ type: r.type, subject: r.subject, payload: r.payload });

describe("denialReceipt", () => {
  it("records the resource, operation, user, webhook, every message, the uid and the time", () => {
    const r = denialReceipt(podDenial);
    expect(r).toEqual({
      type: "PolicyDenied",
      subject: {
        apiVersion: "admission.k8s.io/v1",
        kind: "AdmissionReview",
        uid: "0df28fbd-5f5f-4b7e-9f5b-4fd0c5a3b1a1",
      },
      payload: {
        admissionUid: "0df28fbd-5f5f-4b7e-9f5b-4fd0c5a3b1a1",
        resource: {
          group: "",
          version: "v1",
          kind: "Pod",
          namespace: "tenant-acme",
          name: "sneaky",
        },
        operation: "CREATE",
        username: "alice@example.com",
        webhook: "pods.gpu-guard.vaultmesh.cloud",
        policy: "gpu-pod-guard",
        path: "/validate/pods",
        errors: [
          { field: "metadata.ownerReferences", message: "the pod is not controlled by a Job" },
          { field: "spec.tolerations", message: "tolerates the GPU node taint" },
        ],
      },
      issuedAt: new Date("2026-06-01T10:00:00.000Z"),
    });
  });

  it("leaves out the namespace and name a request did not have", () => {
    const r = denialReceipt({
      ...podDenial,
      group: "vaultmesh.cloud",
      version: "v1alpha1",
      kind: "Treaty",
      namespace: undefined,
      name: "",
    });
    expect(r.payload.resource).toEqual({
      group: "vaultmesh.cloud",
      version: "v1alpha1",
      kind: "Treaty",
    });
  });

  it("gives a retry of the same review (decided later) the same identity", () => {
    const first = denialReceipt(podDenial);
    const retry = denialReceipt({ ...podDenial, time: "2026-06-01T10:00:01.250Z" });
    expect(digestOf(retry)).toBe(digestOf(first));
    expect(retry.issuedAt).not.toEqual(first.issuedAt);
  });

  it.each<[string, Partial<DenialRecord>]>([
    ["another review uid", { requestUid: "7c1a3a8e-0000-4000-8000-000000000002" }],
    ["another object", { name: "other" }],
    ["another user", { username: "bob@example.com" }],
    ["another reason", { errors: [{ field: "spec", message: "something else" }] }],
  ])("gives %s another identity", (_name, change) => {
    expect(digestOf(denialReceipt({ ...podDenial, ...change }))).not.toBe(
      digestOf(denialReceipt(podDenial)),
    );
  });

  it.each<[string, Partial<DenialRecord>, string]>([
    ["an empty uid", { requestUid: "" }, "requestUid"],
    ["an unparsable time", { time: "yesterday" }, "time"],
  ])("refuses %s, naming the field", (_name, change, wantField) => {
    expect(() => denialReceipt({ ...podDenial, ...change })).toThrow(DenialReceiptError);
    expect(() => denialReceipt({ ...podDenial, ...change })).toThrow(wantField);
  });
});
