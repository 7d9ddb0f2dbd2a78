// Issue 5: each denial recorded as a PolicyDenied receipt. The GPU pod guard, registered with
// the real apiserver, records through the same wiring webhooks/main.ts uses
// (openDenialLedger: bounded queue, lazily opened ledger on a private Postgres); a second
// ledger handle reads the log back. A denied create gives exactly one receipt with the review's
// facts, a dry run none, a re-sent review the entry already logged, and the receipt verifies.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import pg from "pg";
import { pino } from "pino";
import YAML from "yaml";
import { fromHex } from "../../services/ledger/canonical-json.ts";
import { systemClock } from "../../services/ledger/clock.ts";
import { generateEd25519 } from "../../services/ledger/ed25519.ts";
import { Ledger, type LedgerEntry } from "../../services/ledger/ledger.ts";
import { verifyInclusion } from "../../services/ledger/merkle-verify.ts";
import {
  receiptDigest,
  verifyReceiptSignatures,
  type Receipt,
} from "../../services/ledger/receipt.ts";
import type { DenialRecord } from "../../webhooks/deps.ts";
import { openDenialLedger, type DenialLedger } from "../../webhooks/denial-ledger.ts";
import { WebhookMetrics } from "../../webhooks/metrics.ts";
import { makePod } from "../builders/webhook-objects.ts";
import { kubectl, waitFor } from "../harness/kube.ts";
import { startPostgres, type PostgresServer, type TestDatabase } from "../harness/postgres.ts";
import {
  createTenantNamespace,
  deleteNamespace,
  startTestWebhook,
  type TestWebhook,
} from "../harness/webhook.ts";

const GUARD = "pods.gpu-guard.vaultmesh.cloud";
const WANT_FIELD = "metadata.ownerReferences";
const WANT_MESSAGE =
  "Forbidden: the pod requests 1 nvidia.com/gpu but is not controlled by a Job; GPUs are used through a GPUWorkload, which the operator runs as a Job";

let postgres: PostgresServer;
let db: TestDatabase;
let keyDir = "";
let keyId = "";
let denials: DenialLedger;
let readerPool: pg.Pool;
let reader: Ledger;
let hook: TestWebhook;
let ns = "";
let username = "";
const metrics = new WebhookMetrics();
/** What the server handed to the hook (dry runs never reach it). */
const seen: DenialRecord[] = [];

beforeAll(async () => {
  postgres = await startPostgres();
  db = await postgres.createDatabase("denials");
  const key = generateEd25519();
  keyId = key.keyId;
  keyDir = mkdtempSync(join(tmpdir(), "vaultmesh-denial-key-"));
  const signingKeyFile = join(keyDir, "ed25519.key");
  writeFileSync(signingKeyFile, key.privateKeyPem, { mode: 0o600 });
  denials = openDenialLedger(
    { ledgerUrl: db.url, signingKeyFile, queueSize: 100 },
    { logger: pino({ level: "silent" }), metrics },
  );
  hook = await startTestWebhook({
    prefix: "dr",
    only: [GUARD],
    deps: {
      metrics,
      recordDenial: (d) => {
        seen.push(d);
        denials.recorder.record(d);
      },
    },
  });
  ns = await createTenantNamespace(hook, hook.id);
  const who = await kubectl(["auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"]);
  expect(who.code).toBe(0);
  username = who.stdout.trim();
  expect(username).not.toBe("");
  await waitFor("the GPU pod guard to be called", async () => {
    const r = await kubectl(
      ["create", "-f", "-", "--dry-run=server"],
      YAML.stringify(makePod("probe", ns, { gpus: 1 })),
    );
    return r.stderr.includes(GUARD);
  });
  readerPool = new pg.Pool({ connectionString: db.url, max: 2 });
  reader = await Ledger.open({
    pool: readerPool,
    clock: systemClock,
    logger: pino({ level: "silent" }),
  });
}, 120_000);

afterAll(async () => {
  await hook?.stop();
  await denials?.close();
  await readerPool?.end();
  await db?.drop();
  await postgres?.stop();
  if (ns) await deleteNamespace(ns);
  if (keyDir) rmSync(keyDir, { recursive: true, force: true });
});

async function policyDenied(): Promise<LedgerEntry[]> {
  return await reader.list({ type: "PolicyDenied", limit: 100 });
}

async function receiptCounts(): Promise<string[]> {
  const text = (await hook.server.app.inject({ url: "/metrics" })).body;
  return text.split("\n").filter((l) => l.startsWith("vaultmesh_webhook_denial_receipts_total{"));
}

describe("policy.denied receipts", () => {
  let entry: LedgerEntry;

  it("records a denied create as exactly one PolicyDenied receipt, and a dry run as none", async () => {
    // The dry run goes first: receipts are appended in denial order, so once the real
    // denial's receipt is in the log, a receipt of the dry run would be too.
    const dry = await kubectl(
      ["create", "-f", "-", "--dry-run=server"],
      YAML.stringify(makePod("dry-run", ns, { gpus: 1 })),
    );
    expect(dry.stderr).toContain(`admission webhook "${GUARD}" denied the request`);
    const real = await kubectl(
      ["create", "-f", "-"],
      YAML.stringify(makePod("direct", ns, { gpus: 1 })),
    );
    expect(real.code).not.toBe(0);
    // The receipt records what the user was told.
    expect(real.stderr).toContain(`${WANT_FIELD}: ${WANT_MESSAGE}`);

    entry = await waitFor(
      "the PolicyDenied receipt in the ledger",
      async () => (await policyDenied())[0],
    );
    await denials.recorder.drain();
    expect((await policyDenied()).map((e) => e.logIndex)).toEqual([entry.logIndex]);
    expect(seen).toHaveLength(1);
    const uid = seen[0]!.requestUid;
    expect(uid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);

    const r = entry.receipt;
    expect(r.type).toBe("PolicyDenied");
    expect(r.subject).toEqual({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", uid });
    expect(r.payload).toEqual({
      admissionUid: uid,
      resource: { group: "", version: "v1", kind: "Pod", namespace: ns, name: "direct" },
      operation: "CREATE",
      username,
      webhook: GUARD,
      policy: "gpu-pod-guard",
      path: "/validate/pods",
      errors: [{ field: WANT_FIELD, message: WANT_MESSAGE }],
    });
    // The decision time, signed.
    expect(r.issuedAt).toBe(seen[0]!.time);
    expect(await receiptCounts()).toEqual([
      'vaultmesh_webhook_denial_receipts_total{result="recorded"} 1',
    ]);
  });

  it("verifies: digest, signature by the configured key, inclusion in the signed tree", async () => {
    const r = entry.receipt;
    expect(receiptDigest(r)).toBe(r.digest);
    const trust = await reader.trust();
    const trusted = new Map(trust.ed25519.map((k) => [k.keyId, k.publicKey]));
    expect(verifyReceiptSignatures(r, trusted)).toEqual([{ keyId, ok: true }]);
    // The check has teeth: the same receipt naming another user does not verify.
    const forged: Receipt = { ...r, payload: { ...(r.payload as object), username: "mallory" } };
    expect(verifyReceiptSignatures(forged, trusted)[0]?.ok).toBe(false);

    const head = await reader.latestTreeHead();
    expect(head).toBeDefined();
    const proof = await reader.inclusionProof(entry.logIndex, head!.treeSize);
    const result = verifyInclusion(
      entry.logIndex,
      head!.treeSize,
      fromHex(entry.leafHash),
      proof.hashes.map(fromHex),
      fromHex(head!.rootHash),
    );
    expect(result).toEqual({ ok: true });
  });

  it("answers a re-sent review with the entry already logged, not a second receipt", async () => {
    const first = seen[0]!;
    // What the apiserver re-sends when a call fails in transport: the same review, same uid.
    const res = await hook.server.app.inject({
      method: "POST",
      url: "/validate/pods",
      payload: {
        apiVersion: "admission.k8s.io/v1",
        kind: "AdmissionReview",
        request: {
          uid: first.requestUid,
          kind: { group: "", version: "v1", kind: "Pod" },
          resource: { group: "", version: "v1", resource: "pods" },
          name: "direct",
          namespace: ns,
          operation: "CREATE",
          userInfo: { username },
          object: makePod("direct", ns, { gpus: 1 }),
        },
      },
    });
    expect(res.json<{ response: { allowed: boolean } }>().response.allowed).toBe(false);
    expect(seen).toHaveLength(2);
    expect(seen[1]!.requestUid).toBe(first.requestUid);
    await denials.recorder.drain();

    expect((await policyDenied()).map((e) => e.logIndex)).toEqual([entry.logIndex]);
    expect(await receiptCounts()).toEqual([
      'vaultmesh_webhook_denial_receipts_total{result="recorded"} 1',
      'vaultmesh_webhook_denial_receipts_total{result="duplicate"} 1',
    ]);
  });

  it("counts a denial as failed when the ledger is unreachable", async () => {
    const down = new WebhookMetrics();
    const unreachable = openDenialLedger(
      {
        ledgerUrl: `postgres://postgres@127.0.0.1:${await closedPort()}/ledger`,
        signingKeyFile: join(keyDir, "ed25519.key"),
        queueSize: 10,
      },
      { logger: pino({ level: "silent" }), metrics: down },
    );
    unreachable.recorder.record({
      ...seen[0]!,
      requestUid: "00000000-0000-4000-8000-000000000001",
    });
    await unreachable.recorder.drain();
    await unreachable.close();
    const values = (await down.denialReceipts.get()).values;
    expect(values.map((v) => [v.labels.result, v.value])).toEqual([["failed", 1]]);
  });
});

/** A port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
