/**
 * Reads of a tenant's workloads and receipts from the bridge's informer caches (ADR 0124)
 * instead of one impersonated apiserver call each. What the cache shows a caller is bounded
 * twice: by namespace (only the authenticated tenant's own, from the `namespace` index), and
 * by RBAC — before serving, the bridge asks the apiserver, **as the tenant**, whether that
 * identity may `list` the resource in that namespace (a SelfSubjectAccessReview, which every
 * authenticated identity may create), and remembers only a *yes*, per tenant and resource, for
 * at most `ttlMs`. A *no* is never cached and answers 403 as the impersonated read would.
 */
import type { GPUWorkload, Receipt } from "../../crds/index.ts";
import type { KubeClient, KubeObject, ObjectCache } from "../kube/index.ts";
import { tenantApiIdentity, tenantNamespace } from "../tenant-stack/kube/names.ts";
import { ProblemError, ProblemReason, problem } from "./problem.ts";
import { kubeProblem } from "./tenant-workloads.ts";

/** Name of the informer index by namespace the bridge's read caches carry. */
export const NAMESPACE_INDEX = "namespace";
/** The indexer for {@link NAMESPACE_INDEX}. */
export const byNamespace = (o: KubeObject): readonly string[] =>
  o.metadata?.namespace ? [o.metadata.namespace] : [];

/** How long a tenant's *allowed* access review is trusted. @default 10 s */
export const DEFAULT_ACCESS_TTL_MS = 10_000;

/** An informer cache as the bridge reads it. */
export type ReadCache<T extends KubeObject> = Pick<ObjectCache<T>, "get" | "byIndex" | "hasSynced">;

/** The resources the bridge serves from caches. */
export type CachedResource = "gpuworkloads" | "receipts";

const SSAR_PATH = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews";

interface AccessReview {
  readonly status?: { readonly allowed?: boolean; readonly reason?: string };
}

/** Whether `tenant`'s API identity may list `resource` in its namespace, cached when allowed. */
export class TenantAccess {
  readonly #kube: KubeClient;
  readonly #ttlMs: number;
  readonly #now: () => number;
  /** `${tenant}/${resource}` → expiry (ms) of an *allowed* review. One per tenant: bounded. */
  readonly #allowed = new Map<string, number>();

  constructor(admin: KubeClient, opts: { ttlMs?: number; now?: () => number } = {}) {
    this.#kube = admin;
    this.#ttlMs = opts.ttlMs ?? DEFAULT_ACCESS_TTL_MS;
    this.#now = opts.now ?? Date.now;
  }

  /** Resolves when allowed; throws a 403 problem when not (never cached). */
  async check(tenant: string, resource: CachedResource): Promise<void> {
    const k = `${tenant}/${resource}`;
    const until = this.#allowed.get(k);
    const asked = this.#now();
    if (until !== undefined && asked < until) return;
    this.#allowed.delete(k);
    const id = tenantApiIdentity(tenant);
    const namespace = tenantNamespace(tenant);
    let review: AccessReview;
    try {
      review = await this.#kube
        .withHeaders({ "Impersonate-User": id.user, "Impersonate-Group": id.group })
        .request<AccessReview>("POST", SSAR_PATH, {
          apiVersion: "authorization.k8s.io/v1",
          kind: "SelfSubjectAccessReview",
          spec: {
            resourceAttributes: { namespace, verb: "list", group: "vaultmesh.cloud", resource },
          },
        });
    } catch (err) {
      throw kubeProblem(err, resource) ?? err;
    }
    if (review.status?.allowed !== true) {
      throw new ProblemError(
        problem(
          403,
          ProblemReason.Forbidden,
          `${resource} in namespace ${namespace}: not allowed for tenant ${tenant}`,
        ),
      );
    }
    this.#allowed.set(k, asked + this.#ttlMs);
  }
}

function synced<T extends KubeObject>(cache: ReadCache<T>, what: string): ReadCache<T> {
  if (!cache.hasSynced()) {
    throw new ProblemError(
      problem(503, ProblemReason.DependencyUnavailable, `${what}: cache not synced yet`),
      { "retry-after": "1" },
    );
  }
  return cache;
}

/** One tenant's workloads and receipts from the caches, after the access check. */
export class CachedTenantReads {
  readonly #access: TenantAccess;
  readonly #workloads: ReadCache<GPUWorkload>;
  readonly #receipts: ReadCache<Receipt>;

  constructor(
    access: TenantAccess,
    workloads: ReadCache<GPUWorkload>,
    receipts: ReadCache<Receipt>,
  ) {
    this.#access = access;
    this.#workloads = workloads;
    this.#receipts = receipts;
  }

  /** The tenant's workloads, by name. */
  async workloads(tenant: string): Promise<GPUWorkload[]> {
    await this.#access.check(tenant, "gpuworkloads");
    return synced(this.#workloads, "workloads")
      .byIndex(NAMESPACE_INDEX, tenantNamespace(tenant))
      .sort((a, b) => (a.metadata.name ?? "").localeCompare(b.metadata.name ?? ""));
  }

  /** The tenant's workload `name` as cached, or undefined. */
  async workload(tenant: string, name: string): Promise<GPUWorkload | undefined> {
    await this.#access.check(tenant, "gpuworkloads");
    return synced(this.#workloads, "workloads").get(name, tenantNamespace(tenant));
  }

  /** The tenant's receipts. */
  async receipts(tenant: string): Promise<Receipt[]> {
    await this.#access.check(tenant, "receipts");
    return synced(this.#receipts, "receipts").byIndex(NAMESPACE_INDEX, tenantNamespace(tenant));
  }

  /** The tenant's receipt with `digest`, or undefined (another tenant's is never found). */
  async receipt(tenant: string, digest: string): Promise<Receipt | undefined> {
    return (await this.receipts(tenant)).find((r) => r.spec.digest === digest);
  }
}
