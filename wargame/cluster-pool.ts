// The cluster's own GPU pool in fast mode: a Job and its Pod per in-cluster attempt, shaped as
// the Job controller, the scheduler and the kubelet report them (what operator/placement's
// observeJob reads), bound first come first served while GPUs are free. The product's
// inClusterStep decides from these objects; this only plays the cluster.
import { Annotations, Labels } from "../operator/controllers/gpuworkload/completion-receipt.ts";
import type { Job, Pod } from "../operator/shared/kube-types.ts";

/** What a new in-cluster attempt asks for. */
export interface PodRequest {
  readonly namespace: string;
  readonly name: string;
  readonly attempt: number;
  readonly treaty: string;
  readonly region: string;
  readonly pricePerHour: number;
  readonly gpus: number;
  readonly runtimeMs: number;
  readonly fails: boolean;
}

interface Entry {
  readonly req: PodRequest;
  readonly job: Job;
  readonly pod: Pod;
  readonly createdMs: number;
  boundMs?: number;
  endMs?: number;
}

const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");

/** The in-cluster pool: GPUs, Jobs and Pods. */
export class ClusterPool {
  capacityGpus: number;
  readonly #startMs: number;
  readonly #entries = new Map<string, Entry>();
  readonly #pending: string[] = [];
  #used = 0;

  constructor(capacityGpus: number, startSeconds: number) {
    this.capacityGpus = capacityGpus;
    this.#startMs = startSeconds * 1000;
  }

  /** GPUs bound now. */
  get used(): number {
    return this.#used;
  }

  /** Creates the attempt's Job and Pod at `now`; returns the Job's key. */
  create(req: PodRequest, now: number): string {
    const key = `${req.namespace}/${req.name}`;
    const job = {
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: {
        name: req.name,
        namespace: req.namespace,
        creationTimestamp: iso(now),
        labels: { [Labels.attempt]: String(req.attempt), [Labels.treaty]: req.treaty },
        annotations: {
          [Annotations.provider]: "in-cluster",
          [Annotations.region]: req.region,
          [Annotations.pricePerHour]: String(req.pricePerHour),
        },
      },
      status: {},
    } as unknown as Job;
    const pod = {
      metadata: { name: `${req.name}-pod`, creationTimestamp: iso(now) },
      spec: {},
      status: { phase: "Pending", conditions: [] },
    } as unknown as Pod;
    this.#entries.set(key, { req, job, pod, createdMs: now });
    this.#pending.push(key);
    return key;
  }

  /** The Job and Pods of `key` as the caches would show them at `now`. */
  observe(key: string, now: number): { job: Job; pods: Pod[] } | undefined {
    const e = this.#entries.get(key);
    if (e === undefined) return undefined;
    const pod = e.pod as { status: Record<string, unknown>; spec: Record<string, unknown> };
    if (e.boundMs === undefined) {
      pod.status = {
        phase: "Pending",
        conditions: [
          {
            type: "PodScheduled",
            status: "False",
            reason: "Unschedulable",
            message: `0/1 nodes are available: insufficient nvidia.com/gpu (${this.capacityGpus - this.#used} free, ${e.req.gpus} requested)`,
            lastTransitionTime: iso(e.createdMs),
          },
        ],
      };
    } else {
      const start = e.boundMs + this.#startMs;
      pod.spec = { nodeName: "kwok-gpu-node" };
      pod.status =
        now < start
          ? {
              phase: "Pending",
              conditions: [
                { type: "PodScheduled", status: "True", lastTransitionTime: iso(e.boundMs) },
              ],
            }
          : {
              phase: "Running",
              startTime: iso(start),
              conditions: [
                { type: "PodScheduled", status: "True", lastTransitionTime: iso(e.boundMs) },
              ],
              containerStatuses: [
                { name: "workload", state: { running: { startedAt: iso(start) } } },
              ],
            };
      const end = start + e.req.runtimeMs;
      if (now >= end) {
        const type = e.req.fails ? "Failed" : "Complete";
        (e.job as { status: unknown }).status = {
          startTime: iso(start),
          ...(e.req.fails ? {} : { completionTime: iso(end) }),
          conditions: [
            {
              type,
              status: "True",
              lastTransitionTime: iso(end),
              reason: e.req.fails ? "BackoffLimitExceeded" : "Completed",
            },
          ],
        };
      } else if (now >= start) {
        (e.job as { status: unknown }).status = { startTime: iso(start) };
      }
    }
    return { job: e.job, pods: [e.pod] };
  }

  /** When the Pod of `key` starts and its Job ends, once bound. */
  times(key: string): { readonly start: number; readonly end: number } | undefined {
    const e = this.#entries.get(key);
    if (e?.boundMs === undefined) return undefined;
    const start = e.boundMs + this.#startMs;
    return { start, end: start + e.req.runtimeMs };
  }

  /** Binds pending Pods, oldest first, while GPUs are free; returns the keys bound. */
  schedule(now: number): string[] {
    const bound: string[] = [];
    for (let i = 0; i < this.#pending.length;) {
      const key = this.#pending[i]!;
      const e = this.#entries.get(key);
      if (e === undefined) {
        this.#pending.splice(i, 1);
        continue;
      }
      if (this.#used + e.req.gpus > this.capacityGpus) {
        i++;
        continue;
      }
      this.#pending.splice(i, 1);
      e.boundMs = now;
      this.#used += e.req.gpus;
      bound.push(key);
    }
    return bound;
  }

  /** Frees the GPUs of a finished or deleted Job and forgets it. */
  remove(key: string): void {
    const e = this.#entries.get(key);
    if (e === undefined) return;
    if (e.boundMs !== undefined) this.#used -= e.req.gpus;
    this.#entries.delete(key);
  }
}
