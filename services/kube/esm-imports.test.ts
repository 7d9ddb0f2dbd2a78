import { describe, expect, it } from "@jest/globals";
import * as k8s from "@kubernetes/client-node";
import { K8s, kind } from "kubernetes-fluent-client";
import { z } from "zod";

// Guards the toolchain decision (ADR 0002): jest + swc must load the ESM-only Kubernetes
// libraries on Node 24. If an upgrade breaks ESM loading, this fails before anything else.
describe("ESM dependencies under jest", () => {
  it("loads @kubernetes/client-node 2.x, kubernetes-fluent-client and zod 4", () => {
    const kc = new k8s.KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: "c", server: "https://127.0.0.1:1" }],
      users: [{ name: "u" }],
      contexts: [{ name: "x", cluster: "c", user: "u" }],
      currentContext: "x",
    });
    expect(kc.getCurrentCluster()?.server).toBe("https://127.0.0.1:1");
    expect(typeof K8s).toBe("function");
    expect(kind.Pod).toBeDefined();
    expect(z.number().min(0).safeParse(-1).success).toBe(false);
    expect(process.versions.node.split(".")[0]).toBe("24");
  });
});
