import { describe, expect, it } from "@jest/globals";
import { resourceOfPath } from "./client.ts";

describe("resourceOfPath", () => {
  it.each([
    ["/api/v1/namespaces/ns/pods", "pods"],
    ["/api/v1/namespaces/ns/pods/p1", "pods"],
    ["/api/v1/namespaces/ns", "namespaces"],
    ["/api/v1/namespaces", "namespaces"],
    ["/apis/batch/v1/namespaces/ns/jobs?labelSelector=a", "jobs"],
    ["/apis/vaultmesh.cloud/v1alpha1/namespaces/ns/gpuworkloads/w/status", "gpuworkloads/status"],
    ["/apis/vaultmesh.cloud/v1alpha1/treaties/t/status", "treaties/status"],
    ["/apis/vaultmesh.cloud/v1alpha1/treaties", "treaties"],
  ])("%s → %s", (path, want) => {
    expect(resourceOfPath(path)).toBe(want);
  });
});
