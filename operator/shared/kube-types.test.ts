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

  it("slimJob keeps metadata and status, drops the pod template", () => {
    const j = slimJob({
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: meta(),
      spec: { template: { spec: { containers: [{ name: "c", image: "i" }] } } },
      status: { active: 1, conditions: [{ type: "Complete", status: "True" }] },
    });
    expect(j).toEqual({
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: expect.objectContaining({ uid: "u1", annotations: { keep: "me" } }) as unknown,
      status: { active: 1, conditions: [{ type: "Complete", status: "True" }] },
    });
    expect(j.metadata.managedFields).toBeUndefined();
  });

  it("slimPod keeps metadata, the node name and status", () => {
    const bound = slimPod({
      apiVersion: "v1",
      kind: "Pod",
      metadata: meta(),
      spec: { nodeName: "gpu-1", containers: [{ name: "c" }], tolerations: [] },
      status: { phase: "Running" },
    });
    expect(bound.spec).toEqual({ nodeName: "gpu-1" });
    expect(bound.status).toEqual({ phase: "Running" });
    expect(bound.metadata.ownerReferences).toHaveLength(1);
    const pending = slimPod({ metadata: meta(), spec: { containers: [] } });
    expect(pending.spec).toEqual({});
  });
});
