/**
 * Workloads and receipts of one tenant, read and written **as the tenant**: every request
 * carries `Impersonate-User`/`Impersonate-Group` for the tenant's API identity, so RBAC (its
 * namespace only), quotas and every admission policy apply exactly as for `kubectl apply` by
 * that tenant (ADR 0121). Creation is idempotent through the Idempotency-Key (ADR 0122): the
 * workload's name and two annotations are derived from the key and the request, so the
 * apiserver itself is the idempotency store — exact across replicas and restarts.
 */
import { createHash, randomBytes } from "node:crypto";
import type { GPUWorkload, Receipt } from "../../crds/index.ts";
import { API_VERSION } from "../../crds/constants.ts";
import {
  KubeApiError,
  isAlreadyExists,
  resourcePath,
  Resources,
  type KubeClient,
  type ObjectList,
} from "../kube/index.ts";
import { canonicalJson, type JsonValue } from "../ledger/canonical-json.ts";
import { tenantApiIdentity, tenantNamespace } from "../tenant-stack/kube/names.ts";
import { ProblemError, ProblemReason, problem } from "./problem.ts";

/** Annotation holding SHA-256 of the Idempotency-Key a workload was created with. */
export const IDEMPOTENCY_KEY_ANNOTATION = "vaultmesh.cloud/idempotency-key-sha256";
/** Annotation holding SHA-256 of the canonical request body it was created from. */
export const REQUEST_DIGEST_ANNOTATION = "vaultmesh.cloud/request-sha256";
/** Field manager of the bridge's writes (seen in managedFields next to the tenant's user). */
export const BRIDGE_FIELD_MANAGER = "vaultmesh-bridge";

const sha256 = (s: string): string => createHash("sha256").update(s, "utf8").digest("hex");

/** The name a keyed create without a name gets: the same key always names the same workload. */
export function nameForIdempotencyKey(key: string): string {
  return `w-${sha256(key).slice(0, 16)}`;
}

/** How a create should be treated given what already exists under its name. Pure. */
export type ReplayVerdict = "replay" | "conflict" | "key-reused";

/** Decides what an AlreadyExists means for a create with `keyHash` and `requestHash`. Pure. */
export function replayVerdict(
  existing: { readonly metadata?: { readonly annotations?: Record<string, string> } },
  keyHash: string | undefined,
  requestHash: string,
): ReplayVerdict {
  const a = existing.metadata?.annotations ?? {};
  if (keyHash === undefined || a[IDEMPOTENCY_KEY_ANNOTATION] !== keyHash) return "conflict";
  return a[REQUEST_DIGEST_ANNOTATION] === requestHash ? "replay" : "key-reused";
}

/** Maps an apiserver error of a tenant request to a problem (RBAC, admission, not found). */
export function kubeProblem(err: unknown, what: string): ProblemError | undefined {
  if (!(err instanceof KubeApiError) || err.status === 0 || err.status >= 500) return undefined;
  // The apiserver's message names the field or the policy; the request path is ours, not theirs.
  const msg = err.message.replace(/^\S+ \S+: \d+ /, "");
  switch (err.status) {
    case 404:
      return new ProblemError(problem(404, ProblemReason.NotFound, `${what} not found`));
    case 403:
      return new ProblemError(problem(403, ProblemReason.Forbidden, msg));
    case 409:
      return new ProblemError(problem(409, ProblemReason.AlreadyExists, msg));
    case 400:
    case 422:
      return new ProblemError(problem(422, ProblemReason.Rejected, msg));
    default:
      return undefined;
  }
}

/** The result of {@link TenantWorkloads.create}. */
export interface CreateResult {
  readonly workload: GPUWorkload;
  /** True when an earlier request with the same Idempotency-Key created it. */
  readonly replayed: boolean;
}

/** One tenant's view of the cluster, through impersonation. */
export class TenantWorkloads {
  readonly tenant: string;
  readonly namespace: string;
  readonly #kube: KubeClient;

  /** `admin` is the bridge's own client; this view only ever impersonates the tenant. */
  constructor(admin: KubeClient, tenant: string) {
    const id = tenantApiIdentity(tenant);
    this.tenant = tenant;
    this.namespace = tenantNamespace(tenant);
    this.#kube = admin.withHeaders({ "Impersonate-User": id.user, "Impersonate-Group": id.group });
  }

  /**
   * Creates a GPUWorkload from `spec` (sent as given, so the apiserver's strict field
   * validation names unknown fields); idempotent under `idempotencyKey`.
   */
  async create(
    name: string | undefined,
    spec: Record<string, unknown>,
    idempotencyKey: string | undefined,
  ): Promise<CreateResult> {
    const keyHash = idempotencyKey === undefined ? undefined : sha256(idempotencyKey);
    const requestHash = sha256(canonicalJson({ name: name ?? null, spec: spec as JsonValue }));
    const finalName =
      name ??
      (idempotencyKey === undefined
        ? `w-${randomBytes(8).toString("hex")}`
        : nameForIdempotencyKey(idempotencyKey));
    const obj = {
      apiVersion: API_VERSION,
      kind: "GPUWorkload",
      metadata: {
        name: finalName,
        namespace: this.namespace,
        annotations: {
          [REQUEST_DIGEST_ANNOTATION]: requestHash,
          ...(keyHash ? { [IDEMPOTENCY_KEY_ANNOTATION]: keyHash } : {}),
        },
      },
      spec,
    };
    const path = `${resourcePath(Resources.GPUWorkload, { namespace: this.namespace })}?fieldManager=${BRIDGE_FIELD_MANAGER}&fieldValidation=Strict`;
    try {
      return {
        workload: await this.#kube.request<GPUWorkload>("POST", path, obj),
        replayed: false,
      };
    } catch (err) {
      if (!isAlreadyExists(err)) throw kubeProblem(err, `workload ${finalName}`) ?? err;
    }
    const existing = await this.get(finalName);
    const verdict = existing ? replayVerdict(existing, keyHash, requestHash) : "conflict";
    if (existing && verdict === "replay") return { workload: existing, replayed: true };
    throw new ProblemError(
      verdict === "key-reused"
        ? problem(
            422,
            ProblemReason.IdempotencyKeyReused,
            "header Idempotency-Key: already used for a different request",
          )
        : problem(409, ProblemReason.AlreadyExists, `/body/name: workload ${finalName} exists`),
    );
  }

  /** The tenant's workloads. */
  async list(): Promise<GPUWorkload[]> {
    try {
      const r = await this.#kube.list<GPUWorkload>(Resources.GPUWorkload, {
        namespace: this.namespace,
      });
      return r.items;
    } catch (err) {
      throw kubeProblem(err, "workloads") ?? err;
    }
  }

  /** One workload, or undefined. */
  async get(name: string): Promise<GPUWorkload | undefined> {
    try {
      return await this.#kube.get<GPUWorkload>(Resources.GPUWorkload, name, this.namespace);
    } catch (err) {
      throw kubeProblem(err, `workload ${name}`) ?? err;
    }
  }

  /** Deletes (cancels) a workload; returns it as it stands once deletion was accepted. */
  async cancel(name: string): Promise<GPUWorkload | undefined> {
    const path = resourcePath(Resources.GPUWorkload, { namespace: this.namespace, name });
    try {
      return await this.#kube.request<GPUWorkload>("DELETE", path, {
        apiVersion: "v1",
        kind: "DeleteOptions",
        propagationPolicy: "Foreground",
      });
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 404) return undefined;
      throw kubeProblem(err, `workload ${name}`) ?? err;
    }
  }

  /** The tenant's Receipts (every page). */
  async receipts(): Promise<Receipt[]> {
    const out: Receipt[] = [];
    let next: string | undefined;
    try {
      do {
        const page: ObjectList<Receipt> = await this.#kube.list<Receipt>(Resources.Receipt, {
          namespace: this.namespace,
          limit: 500,
          ...(next ? { continue: next } : {}),
        });
        out.push(...page.items);
        next = page.metadata?.continue || undefined;
      } while (next);
    } catch (err) {
      throw kubeProblem(err, "receipts") ?? err;
    }
    return out;
  }

  /** The tenant's Receipt with `digest`, or undefined (another tenant's is never found). */
  async receipt(digest: string): Promise<Receipt | undefined> {
    return (await this.receipts()).find((r) => r.spec.digest === digest);
  }
}
