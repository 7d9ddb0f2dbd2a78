import { LAST_APPLIED_ANNOTATION, stripBookkeeping } from "../../services/kube/index.ts";
import { slimJob, slimPod } from "./kube-types.ts";

const meta = () => ({
  name: "x",
  namespace: "ns",
  uid: "u1",
  labels: { "vaultmesh.cloud/workload": "w" },
  annotations: { [LAST_APPLIED_ANNOTATION]: '{"big":"copy"}', keep: "me" },
  managedFields: [{ manager: "kubectl", operation: "Apply" }],
  ownerReferences: [{ apiVersion: "batch/v1", kind: "Job", name: "j", uid: "u0" }],
});

describe("cache transforms", () => {
  it("stripBookkeeping drops managedFields and kubectl's last-applied copy, nothing else", () => {
    const o = stripBookkeeping({ apiVersion: "v1", kind: "ConfigMap", metadata: meta() });
    expect(o.metadata).toEqual({
      name: "x",
      namespace: "ns",
      uid: "u1",
      labels: { "vaultmesh.cloud/workload": "w" },
      annotations: { keep: "me" },
      ownerReferences: [{ apiVersion: "batch/v1", kind: "Job", name: "j", uid: "u0" }],
    });
    const only = stripBookkeeping({
      metadata: { name: "y", annotations: { [LAST_APPLIED_ANNOTATION]: "{}" } },
    });
    expect(only.metadata).toEqual({ name: "y" });
  });

  it("slimJob keeps metadata, start and completion times and conditions; drops the pod template and counters", () => {
    const j = slimJob({
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: meta(),
      spec: { template: { spec: { containers: [{ name: "c", image: "i" }] } } },
      status: {
        active: 1,
        ready: 1,
        startTime: "2026-01-01T00:00:00Z",
        completionTime: "2026-01-01T00:01:00Z",
        conditions: [{ type: "Complete", status: "True" }],
      },
    });
    expect(j).toEqual({
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: expect.objectContaining({ uid: "u1", annotations: { keep: "me" } }) as unknown,
      status: {
        startTime: "2026-01-01T00:00:00Z",
        completionTime: "2026-01-01T00:01:00Z",
        conditions: [{ type: "Complete", status: "True" }],
      },
    });
    expect(j.metadata.managedFields).toBeUndefined();
    const fresh = slimJob({ metadata: meta(), spec: {}, status: { active: 1 } });
    expect(fresh.status).toEqual({});
    expect(slimJob({ metadata: meta(), spec: {} }).status).toBeUndefined();
  });

  it("slimPod keeps metadata, the node name and what the observer reads of the status", () => {
    const running = { startedAt: "2026-01-01T00:00:05Z" };
    const scheduled = { type: "PodScheduled", status: "True" };
    const bound = slimPod({
      apiVersion: "v1",
      kind: "Pod",
      metadata: meta(),
      spec: { nodeName: "gpu-1", containers: [{ name: "c" }], tolerations: [] },
      status: {
        phase: "Running",
        startTime: "2026-01-01T00:00:00Z",
        conditions: [scheduled],
        containerStatuses: [{ name: "c", state: { running } }],
        ...{ podIP: "10.0.0.1", hostIP: "10.1.0.1", qosClass: "BestEffort" },
      },
    });
    expect(bound.spec).toEqual({ nodeName: "gpu-1" });
    expect(bound.status).toEqual({
      phase: "Running",
      startTime: "2026-01-01T00:00:00Z",
      conditions: [scheduled],
      containerStatuses: [{ name: "c", state: { running } }],
    });
    expect(bound.metadata.ownerReferences).toHaveLength(1);
    const pending = slimPod({ metadata: meta(), spec: { containers: [] } });
    expect(pending.spec).toEqual({});
    expect(pending.status).toBeUndefined();
  });
});
