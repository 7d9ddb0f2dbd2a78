// In-memory AdmissionLookups: what unit tests, the bench and a server without a cluster use.
// Same interface as the informer-backed lookups, so the server cannot tell them apart.
import type { GPUWorkload, Tenant, Treaty } from "../crds/index.ts";
import type { AdmissionLookups, JobLike, NodeLike } from "./deps.ts";

const key = (namespace: string, name: string): string => `${namespace}/${name}`;

/** AdmissionLookups over maps the caller fills. */
export class MemoryLookups implements AdmissionLookups {
  readonly tenants = new Map<string, Tenant>();
  readonly treaties = new Map<string, Treaty>();
  readonly workloads = new Map<string, GPUWorkload>();
  readonly jobs = new Map<string, JobLike>();
  /** vault-law modules by `namespace/name/key`. */
  readonly modules = new Map<string, Uint8Array>();
  readonly nodes: NodeLike[] = [];
  /** Readiness reported on /readyz; always ready when unset. */
  ready?: () => boolean;

  /** Adds (or replaces) objects by their kind. */
  add(...objects: (Tenant | Treaty | GPUWorkload)[]): this {
    for (const o of objects) {
      const name = o.metadata.name ?? "";
      if (o.kind === "Tenant") this.tenants.set(name, o);
      else if (o.kind === "Treaty") this.treaties.set(name, o);
      else this.workloads.set(key(o.metadata.namespace ?? "", name), o);
    }
    return this;
  }

  /** Adds a Job (for the GPU pod guard). */
  addJob(job: JobLike): this {
    this.jobs.set(key(job.metadata?.namespace ?? "", job.metadata?.name ?? ""), job);
    return this;
  }

  getTenant(name: string): Tenant | undefined {
    return this.tenants.get(name);
  }

  listTreaties(): Treaty[] {
    return [...this.treaties.values()];
  }

  listWorkloads(namespace: string): GPUWorkload[] {
    return [...this.workloads.values()].filter((w) => w.metadata.namespace === namespace);
  }

  getWorkload(namespace: string, name: string): GPUWorkload | undefined {
    return this.workloads.get(key(namespace, name));
  }

  listNodes(): NodeLike[] {
    return this.nodes;
  }

  getJob(namespace: string, name: string): JobLike | undefined {
    return this.jobs.get(key(namespace, name));
  }

  getPolicyModule = (ref: {
    namespace: string;
    name: string;
    key: string;
  }): Promise<Uint8Array | undefined> =>
    Promise.resolve(this.modules.get(`${ref.namespace}/${ref.name}/${ref.key}`));
}
