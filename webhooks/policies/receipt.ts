// Receipt admission policy: the schema and a digest that is the ledger's digest of the
// receipt's type, subject and payload (services/ledger/receipt.ts) on CREATE; an immutable spec on UPDATE; DELETE only by the identities allowed to (the operator,
// and the namespace and garbage collectors that clean up a deleted tenant). A Receipt is a view
// of an append-only ledger entry, so nobody else has a reason to change or remove one.
import { isDeepStrictEqual } from "node:util";
import { ReceiptSchema } from "../../crds/index.ts";
import { receiptDigest } from "../../services/ledger/receipt.ts";
import { parseWith, result, type FieldError, type PolicyResult } from "./field-errors.ts";

/** The operator's identity by default: the service account its Deployment runs as. */
export const DEFAULT_OPERATOR_SERVICE_ACCOUNT =
  "system:serviceaccount:vaultmesh-system:vaultmesh-operator";

/**
 * Who may delete Receipts besides the operator: the controllers that empty a deleted namespace
 * (with and without per-controller service-account credentials) and the garbage collector.
 */
export const SYSTEM_RECEIPT_DELETERS: readonly string[] = [
  "system:serviceaccount:kube-system:namespace-controller",
  "system:serviceaccount:kube-system:generic-garbage-collector",
  "system:kube-controller-manager",
];

/** What the Receipt policy decides on. */
export interface ReceiptPolicyInput {
  readonly operation: "CREATE" | "UPDATE" | "DELETE" | "CONNECT";
  readonly object?: unknown;
  readonly oldObject?: unknown;
  /** `request.userInfo.username`. */
  readonly username: string;
  /** Identities allowed to delete (the operator's service account first). */
  readonly deleters: readonly string[];
}

/** Validates a Receipt request. */
export function validateReceipt(input: ReceiptPolicyInput): PolicyResult {
  switch (input.operation) {
    case "DELETE":
      return result(deleteErrors(input));
    case "UPDATE":
      return result(immutableSpecErrors(input.oldObject, input.object));
    case "CREATE":
      return result(createErrors(input.object));
    default:
      return result([]);
  }
}

function deleteErrors(input: ReceiptPolicyInput): FieldError[] {
  if (input.deleters.includes(input.username)) return [];
  return [
    {
      field: "",
      message: `Forbidden: Receipts record ledger entries and may only be deleted by the operator (${input.deleters[0] ?? "none configured"}); ${input.username} may not`,
    },
  ];
}

function immutableSpecErrors(oldObject: unknown, object: unknown): FieldError[] {
  const spec = (o: unknown): unknown => (o as { spec?: unknown } | null)?.spec;
  if (isDeepStrictEqual(spec(oldObject), spec(object))) return [];
  return [
    { field: "spec", message: "Invalid value: spec is immutable (it is a signed ledger entry)" },
  ];
}

function createErrors(object: unknown): FieldError[] {
  const parsed = parseWith(ReceiptSchema, object);
  if (parsed.errors) return parsed.errors;
  const { type, subject, payload, digest } = parsed.value.spec;
  let actual: string;
  try {
    // The ledger's identity of a receipt: one definition for the ledger, the operator and here.
    actual = receiptDigest({
      type,
      subject: { ...subject },
      payload: payload as never,
    });
  } catch (err) {
    return [{ field: "spec", message: `Invalid value: ${(err as Error).message}` }];
  }
  if (actual === digest) return [];
  return [
    {
      field: "spec.digest",
      message: `Invalid value: ${digest} is not the ledger digest of the canonical {type, subject, payload} (${actual})`,
    },
  ];
}
