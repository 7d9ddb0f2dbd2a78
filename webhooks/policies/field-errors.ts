// What every admission policy returns: field-path errors (any error denies) and warnings (shown
// by kubectl, never deny). Policies are pure functions from plain data to a PolicyResult.
import type { z } from "zod";
import { fieldPath } from "../../crds/domain/field-path.ts";

export { fieldPath };

/** One reason to deny, naming the field it is about (`spec.gpu.count`). */
export interface FieldError {
  /** Field path in the apiserver's notation: `spec.pricing[0].usdPerHour`; "" for the object. */
  readonly field: string;
  /** What is wrong and what was expected. */
  readonly message: string;
}

/** The verdict of one policy: denied when `errors` is non-empty. */
export interface PolicyResult {
  readonly errors: readonly FieldError[];
  readonly warnings: readonly string[];
}

/** The verdict of a policy that allows and has nothing to say. */
export const ALLOWED: PolicyResult = Object.freeze({ errors: [], warnings: [] });

/** Builds a PolicyResult from possibly empty lists. */
export function result(
  errors: readonly FieldError[],
  warnings: readonly string[] = [],
): PolicyResult {
  return { errors, warnings };
}

/** Validates `value` with a zod schema; every issue becomes a FieldError under `prefix`. */
export function schemaErrors(schema: z.ZodType, value: unknown, prefix = ""): FieldError[] {
  const parsed = schema.safeParse(value);
  if (parsed.success) return [];
  return parsed.error.issues.map((i) => ({ field: fieldPath(i.path, prefix), message: i.message }));
}

/** Parses with a zod schema: the output, or the field errors (never both). */
export function parseWith<S extends z.ZodType>(
  schema: S,
  value: unknown,
  prefix = "",
):
  { readonly value: z.output<S>; readonly errors?: undefined } | { readonly errors: FieldError[] } {
  const parsed = schema.safeParse(value);
  if (parsed.success) return { value: parsed.data };
  return {
    errors: parsed.error.issues.map((i) => ({
      field: fieldPath(i.path, prefix),
      message: i.message,
    })),
  };
}

/** Renders errors as one line: `spec.a: msg; spec.b: msg` (what kubectl shows the user). */
export function formatErrors(errors: readonly FieldError[]): string {
  return errors.map((e) => (e.field === "" ? e.message : `${e.field}: ${e.message}`)).join("; ");
}
