// Every object the Helm chart renders with all of its Kubernetes-only options on (tenant
// services, development TSA, denial receipts, NetworkPolicies, federation's witness key, a
// namespace of its own) is accepted by a real apiserver: server-side apply as a dry run with
// strict field validation, so a misspelt or misplaced field in a template fails here, not at a user's install. (The objects of
// cert-manager and the Prometheus Operator need their CRDs and are checked by hack/chart/.)
import { describe, expect, it } from "@jest/globals";
import { execFileSync, spawnSync } from "node:child_process";
import { join } from "node:path";
import YAML from "yaml";
import { repoRoot } from "../../hack/cluster/cluster.ts";
import { kubectl } from "../harness/kube.ts";

const NS = "vm-chart-dry-run";

const VALUES = {
  namespace: { create: true },
  webhook: { recordDenials: true },
  tsa: { development: { enabled: true }, caSecretRef: { name: "tsa-ca" } },
  tenants: {
    database: {
      urlSecretRef: { name: "arrakis-db" },
      migrateUrlSecretRef: { name: "arrakis-db-owner" },
    },
    redis: { urlSecretRef: { name: "arrakis-redis" } },
    stripe: { apiKeySecretRef: { name: "stripe" }, webhook: { secretRef: { name: "stripe" } } },
    discord: { tokenSecretRef: { name: "discord" }, applicationId: "123456789" },
  },
  networkPolicy: { enabled: true, metricsFrom: [{ namespaceSelector: {} }] },
  federation: { enabled: true, witnessName: "ledger.example/witness" },
};

describe("charts/vaultmesh", () => {
  it("renders objects the apiserver accepts (server-side dry run, strict fields)", async () => {
    const helm = execFileSync("bash", [join(repoRoot, "hack/helm/build.sh")], {
      encoding: "utf8",
    }).trim();
    const r = spawnSync(
      helm,
      ["template", "vaultmesh", join(repoRoot, "charts/vaultmesh"), "-n", NS, "-f", "-"],
      { encoding: "utf8", input: YAML.stringify(VALUES) },
    );
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    // Namespaced objects need their namespace even in a dry run; the chart's Namespace object is
    // then applied over it.
    await kubectl(["create", "namespace", NS]);
    const applied = await kubectl(
      [
        "apply",
        "--server-side",
        "--force-conflicts",
        "--field-manager=chart-dry-run",
        "--validate=strict",
        "--dry-run=server",
        "-f",
        "-",
      ],
      r.stdout,
    );
    expect(applied.stderr).toBe("");
    expect(applied.code).toBe(0);
    for (const want of [
      "deployment.apps/vaultmesh-operator",
      "deployment.apps/vaultmesh-webhook",
      "deployment.apps/vaultmesh-ledger",
      "deployment.apps/vaultmesh-tsa",
      "service/vaultmesh-stripe-webhook",
      "networkpolicy.networking.k8s.io/vaultmesh-operator",
      "validatingwebhookconfiguration.admissionregistration.k8s.io/vaultmesh-validating",
      "customresourcedefinition.apiextensions.k8s.io/gpuworkloads.vaultmesh.cloud",
    ]) {
      expect(applied.stdout).toContain(`${want} serverside-applied (server dry run)`);
    }
    await kubectl(["delete", "namespace", NS, "--wait=false"]);
  });
});
