// The whole install (config/default: CRDs, operator, RBAC, webhooks, ledger publisher) renders with kustomize and
// is accepted by a real apiserver (server-side dry run: every object validated, nothing kept).
import { describe, expect, it } from "@jest/globals";
import { join } from "node:path";
import { repoRoot } from "../../hack/cluster/cluster.ts";
import { kubectl } from "../harness/kube.ts";

describe("config/default", () => {
  it("renders and passes the apiserver's validation", async () => {
    const rendered = await kubectl(["kustomize", join(repoRoot, "config/default")]);
    expect(rendered.stderr).toBe("");
    const kinds = rendered.stdout.match(/^kind: \S+/gm) ?? [];
    for (const want of [
      "kind: CustomResourceDefinition",
      "kind: Deployment",
      "kind: ClusterRole",
      "kind: ValidatingWebhookConfiguration",
      "kind: MutatingWebhookConfiguration",
    ]) {
      expect(kinds).toContain(want);
    }
    // Namespaced objects need their namespace to exist even in a dry run.
    await kubectl(["create", "namespace", "vaultmesh-system"]);
    const r = await kubectl(
      ["apply", "--server-side", "--force-conflicts", "--dry-run=server", "-f", "-"],
      rendered.stdout,
    );
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      "deployment.apps/vaultmesh-operator serverside-applied (server dry run)",
    );
    // The ledger's publisher: without it receipts are never Timestamped.
    expect(r.stdout).toContain(
      "deployment.apps/vaultmesh-ledger serverside-applied (server dry run)",
    );
    expect(r.stdout).toContain("service/vaultmesh-ledger serverside-applied (server dry run)");
  });
});
