/**
 * vault-law policy references (`Treaty.spec.vaultLaw.policyRef`). VaultMesh loads two forms,
 * both from a ConfigMap holding the policy compiled with `opa build -t wasm -e vaultlaw/deny`
 * under `binaryData.<key>` (docs/adr/0068-vault-law-sample-policy.md):
 * - `configmap://<namespace>/<name>[/<key>]` (key default `policy.wasm`);
 * - the seed's relative path form, `[<dir>/…]<name>.wasm` (e.g.
 *   `policy/wasm/akash-quota-policy.wasm`): ConfigMap `<name>` in the vault-law library
 *   namespace (the VaultMesh namespace, default `vaultmesh-system`), key `<name>.wasm` — what
 *   kustomize's configMapGenerator makes of that file.
 * Any other reference (oci://, https://, a path that does not fit) is "external": accepted by
 * the API, but nothing in the cluster can load it.
 */

/** The ConfigMap key a policy module is read from when the reference names none. */
export const DEFAULT_POLICY_KEY = "policy.wasm";

/** Namespace of the ConfigMaps that path references resolve to, unless configured. */
export const DEFAULT_LIBRARY_NAMESPACE = "vaultmesh-system";

/** Label a vault-law ConfigMap must carry, so that caches can watch only those ConfigMaps. */
export const VAULT_LAW_CONFIGMAP_LABEL = "vaultmesh.cloud/vault-law";

/** A parsed policy reference. */
export type VaultLawRef =
  | {
      readonly kind: "configmap";
      readonly namespace: string;
      readonly name: string;
      readonly key: string;
      /** The path as written, when the reference used the path form. */
      readonly path?: string;
      readonly error?: undefined;
    }
  | { readonly kind: "external"; readonly ref: string; readonly error?: undefined }
  | { readonly kind: "invalid"; readonly error: string };

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const CONFIGMAP_KEY = /^[-._a-zA-Z0-9]+$/;

// A relative path of plain segments ending in `<DNS subdomain>.wasm`: no scheme, no leading
// slash, no `.` or `..` segment.
const PATH_FORM = /^(?:[-_a-zA-Z0-9][-._a-zA-Z0-9]*\/)*([a-z0-9]([-a-z0-9.]*[a-z0-9])?)\.wasm$/;

/**
 * Parses a policyRef; a malformed `configmap://` reference is `invalid` with the reason. A
 * path-form reference resolves in `libraryNamespace`.
 */
export function parseVaultLawRef(
  ref: string,
  libraryNamespace: string = DEFAULT_LIBRARY_NAMESPACE,
): VaultLawRef {
  const prefix = "configmap://";
  if (!ref.startsWith(prefix)) return parsePathRef(ref, libraryNamespace);
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

// The path form: ConfigMap <name> in the library namespace, key <name>.wasm (the file name).
function parsePathRef(ref: string, namespace: string): VaultLawRef {
  const m = PATH_FORM.exec(ref);
  const name = m?.[1];
  const dotted = ref.split("/").some((seg) => seg === "." || seg === "..");
  if (name === undefined || dotted || name.length > 253 || !DNS_SUBDOMAIN.test(name)) {
    return { kind: "external", ref };
  }
  return { kind: "configmap", namespace, name, key: `${name}.wasm`, path: ref };
}
