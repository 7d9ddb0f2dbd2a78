// AdmissionReview v1 plumbing: parse the request envelope (a malformed one is a 400 with the
// reason), and build the response — allowed, denied with every field error, warnings, or a
// JSON Patch for mutations.
import { z } from "zod";
import { fieldPath, formatErrors, type FieldError } from "./policies/field-errors.ts";
import type { JsonPatchOp } from "./policies/gpuworkload-defaults.ts";

/** The only AdmissionReview version VaultMesh serves. */
export const ADMISSION_API_VERSION = "admission.k8s.io/v1";

const GroupVersionKindSchema = z.object({
  group: z.string(),
  version: z.string(),
  kind: z.string(),
});

/** The `request` of an AdmissionReview: the envelope is checked, objects stay unparsed. */
export const AdmissionRequestSchema = z
  .object({
    uid: z.string().min(1).max(128),
    kind: GroupVersionKindSchema,
    resource: z.object({ group: z.string(), version: z.string(), resource: z.string() }),
    subResource: z.string().optional(),
    name: z.string().optional(),
    namespace: z.string().optional(),
    operation: z.enum(["CREATE", "UPDATE", "DELETE", "CONNECT"]),
    userInfo: z
      .object({
        username: z.string().optional(),
        uid: z.string().optional(),
        groups: z.array(z.string()).optional(),
      })
      .loose(),
    object: z.unknown().optional(),
    oldObject: z.unknown().optional(),
    dryRun: z.boolean().optional(),
  })
  .loose();

/** An admission request as the policies' adapters read it. */
export type AdmissionRequest = z.infer<typeof AdmissionRequestSchema>;

/** An AdmissionReview v1 carrying a request. */
export const AdmissionReviewSchema = z.object({
  apiVersion: z.literal(ADMISSION_API_VERSION),
  kind: z.literal("AdmissionReview"),
  request: AdmissionRequestSchema,
});

/** What a handler decided. */
export type AdmissionDecision =
  | {
      readonly allowed: true;
      readonly warnings?: readonly string[];
      readonly patch?: readonly JsonPatchOp[];
    }
  | {
      readonly allowed: false;
      readonly errors: readonly FieldError[];
      readonly warnings?: readonly string[];
    };

/** The JSON body of an AdmissionReview response. */
export interface AdmissionReviewResponse {
  readonly apiVersion: typeof ADMISSION_API_VERSION;
  readonly kind: "AdmissionReview";
  readonly response: {
    readonly uid: string;
    readonly allowed: boolean;
    readonly status?: {
      readonly code: number;
      readonly reason: string;
      readonly message: string;
      readonly details?: {
        readonly causes: readonly { field: string; message: string; reason: string }[];
      };
    };
    readonly warnings?: readonly string[];
    readonly patchType?: "JSONPatch";
    readonly patch?: string;
  };
}

/** Thrown for a request body that is not an AdmissionReview v1; becomes a 400. */
export class MalformedReviewError extends Error {
  override readonly name = "MalformedReviewError";
}

/** Parses an AdmissionReview body, or throws {@link MalformedReviewError} naming the problem. */
export function parseAdmissionReview(body: unknown): AdmissionRequest {
  const parsed = AdmissionReviewSchema.safeParse(body);
  if (parsed.success) return parsed.data.request;
  const first = parsed.error.issues
    .slice(0, 5)
    .map((i) => `${fieldPath(i.path) || "body"}: ${i.message}`)
    .join("; ");
  throw new MalformedReviewError(`not an ${ADMISSION_API_VERSION} AdmissionReview: ${first}`);
}

// The apiserver shows warnings one per line and recommends at most 120 characters without
// control characters; longer ones are cut rather than dropped.
const MAX_WARNING = 256;
function cleanWarning(w: string): string {
  // eslint-disable-next-line no-control-regex
  const one = w.replace(/[\u0000-\u001f\u007f]+/g, " ");
  return one.length > MAX_WARNING ? `${one.slice(0, MAX_WARNING - 1)}…` : one;
}

/** Builds the AdmissionReview response for a decision. */
export function admissionResponse(
  uid: string,
  decision: AdmissionDecision,
): AdmissionReviewResponse {
  const warnings = decision.warnings?.length ? decision.warnings.map(cleanWarning) : undefined;
  if (!decision.allowed) {
    return {
      apiVersion: ADMISSION_API_VERSION,
      kind: "AdmissionReview",
      response: {
        uid,
        allowed: false,
        status: {
          code: 403,
          reason: "Forbidden",
          message: formatErrors(decision.errors),
          details: {
            causes: decision.errors.map((e) => ({
              field: e.field,
              message: e.message,
              reason: "FieldValueForbidden",
            })),
          },
        },
        ...(warnings ? { warnings } : {}),
      },
    };
  }
  const patch = decision.patch?.length
    ? {
        patchType: "JSONPatch" as const,
        patch: Buffer.from(JSON.stringify(decision.patch)).toString("base64"),
      }
    : {};
  return {
    apiVersion: ADMISSION_API_VERSION,
    kind: "AdmissionReview",
    response: { uid, allowed: true, ...(warnings ? { warnings } : {}), ...patch },
  };
}
