/**
 * vault-law policy references (`Treaty.spec.vaultLaw.policyRef`). The form VaultMesh loads
 * itself is `configmap://<namespace>/<name>[/<key>]`: a ConfigMap holding the policy compiled
 * with `opa build -t wasm -e vaultlaw/deny`, under `binaryData.<key>` (default `policy.wasm`).
 * Any other reference (a path, oci://, https://) is "external": accepted by the API, but
 * nothing in the cluster can load it.
 */

/** The ConfigMap key a policy module is read from when the reference names none. */
export const DEFAULT_POLICY_KEY = "policy.wasm";

/** Label a vault-law ConfigMap must carry, so that caches can watch only those ConfigMaps. */
export const VAULT_LAW_CONFIGMAP_LABEL = "vaultmesh.cloud/vault-law";

/** A parsed policy reference. */
export type VaultLawRef =
  | {
      readonly kind: "configmap";
      readonly namespace: string;
      readonly name: string;
      readonly key: string;
      readonly error?: undefined;
    }
  | { readonly kind: "external"; readonly ref: string; readonly error?: undefined }
  | { readonly kind: "invalid"; readonly error: string };

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const CONFIGMAP_KEY = /^[-._a-zA-Z0-9]+$/;

/** Parses a policyRef; a malformed `configmap://` reference is `invalid` with the reason. */
export function parseVaultLawRef(ref: string): VaultLawRef {
  const prefix = "configmap://";
  if (!ref.startsWith(prefix)) return { kind: "external", ref };
  const parts = ref.slice(prefix.length).split("/");
  const [namespace = "", name = "", key = DEFAULT_POLICY_KEY, ...rest] = parts;
  const usage = "expected configmap://<namespace>/<name>[/<key>]";
  if (rest.length > 0 || parts.length < 2)
    return { kind: "invalid", error: `${usage}, got ${ref}` };
  if (!DNS_LABEL.test(namespace) || namespace.length > 63) {
    return {
      kind: "invalid",
      error: `${usage}: namespace ${JSON.stringify(namespace)} is not a DNS label`,
    };
  }
  if (!DNS_SUBDOMAIN.test(name) || name.length > 253) {
    return {
      kind: "invalid",
      error: `${usage}: name ${JSON.stringify(name)} is not a DNS subdomain`,
    };
  }
  if (!CONFIGMAP_KEY.test(key) || key.length > 253) {
    return {
      kind: "invalid",
      error: `${usage}: key ${JSON.stringify(key)} is not a ConfigMap key`,
    };
  }
  return { kind: "configmap", namespace, name, key };
}
