// The fluent Receipt builder: `receipt("r1", ns).payload({ gpuSeconds: 60 }).obj()`. It starts as
// a WorkloadCompleted receipt about GPUWorkload `train`; `obj()` computes the digest from the
// type, subject and payload the way the ledger does. The signature is a placeholder (admission
// does not verify signatures; tests that need real ones append to a ledger instead).
import type { Receipt, ReceiptSpec } from "../../crds/index.ts";
import { API_VERSION } from "../../crds/index.ts";
import type { JsonValue } from "../../services/ledger/canonical-json.ts";
import { receiptDigest } from "../../services/ledger/receipt.ts";
import { copy, ObjectBuilder } from "./builder.ts";

/** Builds a Receipt. */
export class ReceiptBuilder extends ObjectBuilder<Receipt> {
  constructor(name: string, namespace: string) {
    super({
      apiVersion: API_VERSION,
      kind: "Receipt",
      metadata: { name, namespace },
      spec: {
        type: "WorkloadCompleted",
        subject: {
          apiVersion: API_VERSION,
          kind: "GPUWorkload",
          namespace,
          name: "train",
          uid: "3f6c2a0e-5b7d-4c1e-9a8f-2d4b6e8c0a13",
        },
        payload: { outcome: "Succeeded", gpuSeconds: 900, cost: 0.15, treaty: "pool" },
        digest: "",
        signatures: [
          { keyId: "sha256:850cf75bb9c2d6ea", algorithm: "Ed25519", value: "c2lnbmF0dXJl" },
        ],
        issuedAt: "2026-06-01T00:00:00Z",
      },
    });
  }
  type(t: ReceiptSpec["type"]): this {
    this.o.spec.type = t;
    return this;
  }
  /** Merges `s` over the subject. */
  subject(s: Partial<ReceiptSpec["subject"]>): this {
    this.o.spec.subject = { ...this.o.spec.subject, ...s };
    return this;
  }
  /** Merges `p` over the payload. */
  payload(p: Record<string, JsonValue>): this {
    this.o.spec.payload = { ...this.o.spec.payload, ...copy(p) } as typeof this.o.spec.payload;
    return this;
  }
  issuedAt(t: string): this {
    this.o.spec.issuedAt = t;
    return this;
  }
  /** The Receipt, its digest computed over its type, subject and payload. */
  override obj(): Receipt {
    const r = super.obj();
    const { type, subject, payload } = r.spec;
    // The payload holds only what payload() was given: JSON values.
    const digest = receiptDigest({ type, subject, payload: payload as Record<string, JsonValue> });
    return { ...r, spec: { ...r.spec, digest } };
  }
}

/** Starts a Receipt builder. */
export const receipt = (name: string, namespace: string): ReceiptBuilder =>
  new ReceiptBuilder(name, namespace);
