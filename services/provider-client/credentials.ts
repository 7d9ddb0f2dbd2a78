/**
 * Where a Treaty's provider credentials live and what is there: one rule for the Treaty
 * controller (is the treaty reachable as configured?) and the provider connector (the bearer
 * token it sends). Values are returned to the caller only; nothing here keeps them.
 */
import { Resources, type KubeClient, type KubeObject } from "../kube/index.ts";

/** The key read when `credentialsSecretRef.key` is unset: the bearer token. */
export const DEFAULT_CREDENTIALS_KEY = "token";

/** A `spec.credentialsSecretRef` as the Treaty schema has it. */
export interface CredentialsSecretRef {
  readonly name: string;
  readonly namespace?: string | undefined;
  readonly key?: string | undefined;
}

/** The Secret and key a reference resolves to. */
export interface CredentialsLocation {
  readonly namespace: string;
  readonly name: string;
  readonly key: string;
}

/** What the lookup found: the base64 value when `found` is "ok". */
export type CredentialsLookup =
  | (CredentialsLocation & { readonly found: "ok"; readonly raw: string })
  | (CredentialsLocation & { readonly found: "no-secret" | "no-key" });

interface Secret extends KubeObject {
  data?: Record<string, string>;
}

/** Resolves `ref`: a reference without a namespace points at `defaultNamespace`. */
export function credentialsLocation(
  ref: CredentialsSecretRef,
  defaultNamespace: string,
): CredentialsLocation {
  return {
    namespace: ref.namespace ?? defaultNamespace,
    name: ref.name,
    key: ref.key ?? DEFAULT_CREDENTIALS_KEY,
  };
}

/** Reads the Secret `ref` points at; API errors other than not-found are thrown. */
export async function lookupCredentials(
  client: KubeClient,
  ref: CredentialsSecretRef,
  defaultNamespace: string,
): Promise<CredentialsLookup> {
  const where = credentialsLocation(ref, defaultNamespace);
  const secret = await client.get<Secret>(Resources.Secret, where.name, where.namespace);
  if (!secret) return { ...where, found: "no-secret" };
  const raw = secret.data?.[where.key];
  return raw === undefined ? { ...where, found: "no-key" } : { ...where, found: "ok", raw };
}
