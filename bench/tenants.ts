// Tenant provisioning (issue 6): creates N Tenants (default 100) with the full stack — namespace,
// quota, network policies, RBAC, Postgres rows and API key, Redis ACL user, Stripe customer and
// subscription (stripe-mock), Discord guild commands (a local stand-in) — and measures the time
// from the first create until every Tenant is Ready, per-tenant create→Ready p50/p99, the
// operator's writes, then the time to tear all of them down. Prints JSON. Never part of
// `make test`.
//   npm run bench:tenants [-- --tenants 100 --workers 8 --kubeconfig PATH]
// --kubeconfig reuses a running cluster (the bench's tenants are deleted afterwards).
import { parseArgs } from "node:util";
import { crdCluster } from "../hack/cluster/crd-cluster.ts";
import type { Tenant } from "../crds/index.ts";
import { KubeClient, Resources } from "../services/kube/index.ts";
import {
  makeTenant,
  startInProcessTenantOperator,
  startTenantTestStack,
} from "../test/integration/tenant-env.ts";
import { kubeConfig } from "../test/harness/kube.ts";

const { values } = parseArgs({
  options: {
    tenants: { type: "string", default: "100" },
    workers: { type: "string", default: "8" },
    concurrency: { type: "string", default: "16" },
    kubeconfig: { type: "string" },
  },
});
const N = Number(values.tenants);
const log = (m: string): void => void process.stderr.write(`[bench] ${m}\n`);
const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)] ?? NaN) : NaN;
};
const r2 = (x: number): number => Math.round(x * 100) / 100;

async function pool<T>(items: readonly T[], n: number, fn: (x: T) => Promise<void>): Promise<void> {
  let i = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (i < items.length) await fn(items[i++] as T);
    }),
  );
}

async function main(): Promise<void> {
  const cluster = await crdCluster("bench-tenants", values.kubeconfig, log);
  const stack = await startTenantTestStack("bench");
  const op = await startInProcessTenantOperator(stack, {
    VAULTMESH_TENANT_WORKERS: values.workers,
  });
  const client = await KubeClient.create(kubeConfig(), { fieldManager: "vaultmesh-bench" });
  const names = Array.from({ length: N }, (_, i) => `${stack.id}-${i}`);
  const guild = (i: number): string => String(100_000_000_000_000_000n + BigInt(i));
  const created = new Map<string, number>();
  const ready = new Map<string, number>();
  const rssBefore = process.memoryUsage().rss;
  log(`creating ${N} tenants (${values.workers} workers)`);
  const t0 = performance.now();
  const creating = pool(names, Number(values.concurrency), async (name) => {
    created.set(name, performance.now());
    const i = names.indexOf(name);
    await client.create(
      Resources.Tenant,
      makeTenant(stack, name, { plan: "starter", discord: { guildId: guild(i) } }),
    );
  });
  while (ready.size < N) {
    const list = await client.list<Tenant>(Resources.Tenant, { labelSelector: stack.selector });
    const now = performance.now();
    for (const t of list.items) {
      const name = t.metadata.name ?? "";
      const isReady = t.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True");
      if (isReady && !ready.has(name)) ready.set(name, now);
    }
    if (now - t0 > 600_000) throw new Error(`only ${ready.size}/${N} tenants Ready after 600 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
  await creating;
  const allReady = (performance.now() - t0) / 1000;
  const perTenant = names.map((n) => ((ready.get(n) ?? NaN) - (created.get(n) ?? NaN)) / 1000);
  const writes = op.counters.kubeWrites.length;
  const svc = op.tenants.services;
  const stripeCalls = svc.billing?.calls ?? 0;
  const rss = process.memoryUsage().rss;

  log("deleting them");
  const t1 = performance.now();
  await pool(names, Number(values.concurrency), async (name) => {
    await client.delete(Resources.Tenant, { name });
  });
  for (;;) {
    const left = (await client.list(Resources.Tenant, { labelSelector: stack.selector })).items
      .length;
    if (left === 0) break;
    if (performance.now() - t1 > 600_000) throw new Error(`${left} tenants left after 600 s`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const teardown = (performance.now() - t1) / 1000;
  console.log(
    JSON.stringify(
      {
        tenants: N,
        workers: Number(values.workers),
        cluster: values.kubeconfig ? "reused" : "private",
        allReadySeconds: r2(allReady),
        tenantsReadyPerSecond: r2(N / allReady),
        createToReadySeconds: {
          p50: r2(pct(perTenant, 0.5)),
          p99: r2(pct(perTenant, 0.99)),
          max: r2(Math.max(...perTenant)),
        },
        kubeWritesPerTenant: r2(writes / N),
        stripeCallsPerTenant: r2(stripeCalls / N),
        reconciles: op.counters.reconciles,
        teardownAllSeconds: r2(teardown),
        benchProcessRssMb: {
          before: Math.round(rssBefore / 2 ** 20),
          atReady: Math.round(rss / 2 ** 20),
        },
        goal: { allReadySeconds: 60 },
      },
      null,
      2,
    ),
  );
  await op.stop();
  client.close();
  await stack.stop();
  await cluster?.stop();
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
