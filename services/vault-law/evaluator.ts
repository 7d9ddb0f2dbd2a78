/**
 * Evaluates vault-law policies: OPA policies compiled to WebAssembly, run in-process with
 * @open-policy-agent/opa-wasm. Modules are compiled once per content digest and cached, so a
 * decision costs one wasm evaluation (tens of microseconds). Shared by the admission webhooks
 * and the router: both must reach the same verdict for the same workload and treaty.
 */
import { createHash } from "node:crypto";
import { loadPolicy, type LoadedPolicy } from "@open-policy-agent/opa-wasm";
import { DEFAULT_LIBRARY_NAMESPACE, parseVaultLawRef } from "./policy-ref.ts";

/** The entrypoint every vault-law policy exposes: a set of human-readable denial reasons. */
export const VAULT_LAW_ENTRYPOINT = "vaultlaw/deny";

/** The `input` document a vault-law policy sees. */
export interface VaultLawInput {
  readonly workload: {
    readonly namespace: string;
    readonly name: string;
    readonly gpu: { readonly type: string; readonly count: number };
    readonly regions?: readonly string[];
    readonly maxRuntimeSeconds?: number;
    readonly priority?: number;
    readonly profile?: string;
    readonly maxPricePerHour?: number;
  };
  readonly tenant: { readonly name: string; readonly plan: string };
  readonly treaty: {
    readonly name: string;
    readonly provider: string;
    readonly regions: readonly string[];
    readonly treatyId?: string;
  };
}

/** A treaty's vault-law reference, as in `Treaty.spec.vaultLaw`. */
export interface VaultLawSpec {
  readonly policyRef: string;
  readonly policyDigest?: string;
}

/** Outcome of one evaluation: the policy's denial reasons, or why it could not be evaluated. */
export type VaultLawVerdict =
  | { readonly ok: true; readonly reasons: readonly string[] }
  | { readonly ok: false; readonly error: string };

/**
 * Fetches the bytes of a module stored in a ConfigMap; undefined when it does not exist. It
 * should return the same Uint8Array for unchanged content (the digest is cached per object).
 */
export type ModuleSource = (ref: {
  readonly namespace: string;
  readonly name: string;
  readonly key: string;
}) => Promise<Uint8Array | undefined>;

/** Loads, caches and evaluates vault-law modules. */
export class VaultLawEvaluator {
  private readonly source: ModuleSource;
  private readonly compiled = new Map<string, Promise<LoadedPolicy>>();
  // Sources hand out the same bytes object until the module changes: hash each object once.
  private readonly digests = new WeakMap<Uint8Array, string>();
  private readonly maxModules: number;
  private readonly libraryNamespace: string;

  /**
   * @param source where ConfigMap modules are read from
   * @param maxModules compiled modules kept (least recently added evicted first). @default 64
   * @param libraryNamespace where path-form references (`policy/wasm/<name>.wasm`) resolve.
   *   @default vaultmesh-system
   */
  constructor(
    source: ModuleSource,
    maxModules = 64,
    libraryNamespace: string = DEFAULT_LIBRARY_NAMESPACE,
  ) {
    this.source = source;
    this.maxModules = maxModules;
    this.libraryNamespace = libraryNamespace;
  }

  /** Evaluates the treaty's policy on `input`; never throws (errors become verdicts). */
  async evaluate(spec: VaultLawSpec, input: VaultLawInput): Promise<VaultLawVerdict> {
    const ref = parseVaultLawRef(spec.policyRef, this.libraryNamespace);
    if (ref.kind === "invalid") return { ok: false, error: ref.error };
    if (ref.kind === "external") {
      return {
        ok: false,
        error: `policy ${spec.policyRef} is neither a configmap:// reference nor a path <dir>/<name>.wasm`,
      };
    }
    let bytes: Uint8Array | undefined;
    try {
      bytes = await this.source(ref);
    } catch (err) {
      return { ok: false, error: `reading policy ${spec.policyRef}: ${(err as Error).message}` };
    }
    if (bytes === undefined) {
      const where = `ConfigMap ${ref.namespace}/${ref.name} key ${ref.key}`;
      return { ok: false, error: `policy ${spec.policyRef} not found (${where})` };
    }
    const digest = this.digestOf(bytes);
    if (spec.policyDigest !== undefined && spec.policyDigest !== digest) {
      return {
        ok: false,
        error: `policy ${spec.policyRef} has digest ${digest}, the treaty requires ${spec.policyDigest}`,
      };
    }
    try {
      const policy = await this.module(digest, bytes);
      return { ok: true, reasons: denyReasons(policy.evaluate(input, VAULT_LAW_ENTRYPOINT)) };
    } catch (err) {
      return { ok: false, error: `evaluating policy ${spec.policyRef}: ${(err as Error).message}` };
    }
  }

  private digestOf(bytes: Uint8Array): string {
    let d = this.digests.get(bytes);
    if (d === undefined) {
      d = `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
      this.digests.set(bytes, d);
    }
    return d;
  }

  private module(digest: string, bytes: Uint8Array): Promise<LoadedPolicy> {
    let p = this.compiled.get(digest);
    if (p === undefined) {
      // A copy: the wasm compiler needs an ArrayBuffer-backed view it alone owns.
      p = loadPolicy(new Uint8Array(bytes));
      void p.catch(() => this.compiled.delete(digest));
      this.compiled.set(digest, p);
      if (this.compiled.size > this.maxModules) {
        const oldest = this.compiled.keys().next().value;
        if (oldest !== undefined) this.compiled.delete(oldest);
      }
    }
    return p;
  }
}

// A wasm result set is `[{result: <value of vaultlaw/deny>}]`; an undefined deny set (no rule
// fired in a policy without a default) is an empty one.
function denyReasons(resultSet: unknown): string[] {
  if (!Array.isArray(resultSet) || resultSet.length === 0) return [];
  const value = (resultSet[0] as { result?: unknown }).result;
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    throw new Error(`${VAULT_LAW_ENTRYPOINT} must be a set of strings, got ${typeof value}`);
  }
  return value.map((r) => (typeof r === "string" ? r : JSON.stringify(r))).sort();
}
