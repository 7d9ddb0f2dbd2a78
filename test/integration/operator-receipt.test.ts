// The Receipt controller: a completed workload's Receipt is checked against the ledger and
// shows Verified=True (kubectl's VERIFIED column), then Timestamped=True once a tree head
// covering it is published; a Receipt applied by hand is found in the ledger by its leaf hash,
// and a tampered copy is NotInLedger, then LeafMismatch when pointed at the real entry.
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import type { Condition, GPUWorkload, Receipt } from "../../crds/index.ts";
import { createReceiptController } from "../../operator/controllers/receipt/receipt-controller.ts";
import { systemClock } from "../../services/ledger/clock.ts";
import {
  isConflict,
  Resources,
  type KubeClient,
  type KubeObject,
} from "../../services/kube/index.ts";
import { gpuWorkload, treaty } from "../builders/objects.ts";
import { kubectl, waitFor } from "../harness/kube.ts";
import { startOperatorTestEnv, type OperatorTestEnv } from "../harness/operator-test-env.ts";
import { startInProcessOperator, type TestLedger } from "./operator-env.ts";

let env: OperatorTestEnv;
let ns = "";
let client: KubeClient;
let led: TestLedger;
const treatyName = `pool-rcpt-${Math.random().toString(36).slice(2, 8)}`;

const getReceipt = (name: string): Promise<Receipt | undefined> =>
  client.get<Receipt>(Resources.Receipt, name, ns);
const condOf = (r: Receipt | undefined, type: string): Condition | undefined =>
  r?.status?.conditions?.find((c) => c.type === type);
/** Waits until the Receipt's condition `type` has `status` and `reason`; returns the Receipt. */
const waitForCondition = (
  name: string,
  type: string,
  status: string,
  reason: string,
): Promise<Receipt> =>
  waitFor(`Receipt ${name} ${type}=${status} (${reason})`, async () => {
    const r = await getReceipt(name);
    const c = condOf(r, type);
    return c?.status === status && c.reason === reason ? r : undefined;
  });

/** The cell of `column` in kubectl's table for Receipt `name` (columns align with the header). */
async function kubectlColumn(name: string, column: string, wide = false): Promise<string> {
  const res = await kubectl(["get", "receipt", name, "-n", ns, ...(wide ? ["-o", "wide"] : [])]);
  expect(res.code).toBe(0);
  const [header = "", row = ""] = res.stdout.split("\n");
  const at = header.search(new RegExp(`\\b${column}\\b`));
  expect(at).toBeGreaterThanOrEqual(0);
  return row.slice(at).split(/\s+/)[0] ?? "";
}

/** A hand-written copy of `r`'s spec under another name (no status: the apiserver drops it). */
async function copyOf(r: Receipt, name: string, payload = r.spec.payload): Promise<Receipt> {
  return await client.create<Receipt>(Resources.Receipt, {
    apiVersion: r.apiVersion,
    kind: "Receipt",
    metadata: { name, namespace: ns },
    spec: { ...r.spec, payload },
  });
}

/** The Receipt's status names its ledger entry and a signed tree head that covers it. */
async function expectLedgerPosition(r: Receipt): Promise<void> {
  const entry = await led.ledger.getByDigest(r.spec.digest);
  if (!entry) throw new Error(`${r.spec.digest} is not in the ledger`);
  expect(r.status?.logIndex).toBe(entry.logIndex);
  expect(r.status?.leafHash).toBe(entry.leafHash);
  // The recorded head is one the ledger signed, and it covers the receipt.
  const head = await led.ledger.treeHead(r.status?.treeSize ?? -1);
  expect(head?.rootHash).toBe(r.status?.rootHash);
  expect(head?.treeSize).toBeGreaterThan(entry.logIndex);
}

beforeAll(async () => {
  env = await startOperatorTestEnv("op-rcpt");
  ({ client, ns } = env);
  led = env.led!;
  const op = env.track(await startInProcessOperator(env.operatorScope()));
  // The test ledger time-stamps published tree heads; the test publishes them itself.
  createReceiptController(op.mgr, {
    ledger: led.ledger,
    clock: systemClock,
    scope: { namespace: ns, treatySelector: env.label },
    timestamping: true,
    pendingRequeueMs: 250,
  });
  await env.treaty(treaty(treatyName).inCluster("a10g", 0.6).obj());
  await client.create(Resources.GPUWorkload, gpuWorkload("train", ns).completeAfter("1s").obj());
});

afterAll(() => env?.stop());

describe("the Receipt controller", () => {
  let original: Receipt;

  it("verifies a completed workload's Receipt against the ledger, then sees it time-stamped", async () => {
    const w = await waitFor(
      "workload train to complete with a receipt",
      async () => {
        const wl = await client.get<GPUWorkload>(Resources.GPUWorkload, "train", ns);
        return wl?.status?.receiptRef ? wl : undefined;
      },
      60000,
    );
    const name = w.status?.receiptRef?.name ?? "";
    const r = await waitForCondition(name, "Verified", "True", "Proven");
    await expectLedgerPosition(r);
    expect(condOf(r, "Logged")?.status).toBe("True");
    expect(await kubectlColumn(name, "VERIFIED")).toBe("True");

    // Nothing has published a tree head yet: the timestamp is pending.
    const unstamped = await waitForCondition(name, "Timestamped", "False", "Pending");
    expect(unstamped.status?.timestamp).toBeUndefined();
    const published = await led.ledger.publish();
    const wantGenTime = published?.stamp?.genTime;
    expect(wantGenTime).toBeDefined();
    const stamped = await waitForCondition(name, "Timestamped", "True", "Stamped");
    expect(stamped.status?.timestamp).toEqual({
      treeSize: published?.treeSize,
      genTime: wantGenTime,
    });
    expect(await kubectlColumn(name, "TIMESTAMPED", true)).toBe("True");
    original = stamped;
  });

  it("finds a Receipt applied by hand in the ledger by its leaf hash", async () => {
    await copyOf(original, "by-hand");
    const r = await waitForCondition("by-hand", "Verified", "True", "Proven");
    expect(r.status?.logIndex).toBe(original.status?.logIndex);
    expect(r.status?.leafHash).toBe(original.status?.leafHash);
    expect(condOf(r, "Logged")).toMatchObject({ status: "True", reason: "Appended" });
    expect(condOf(r, "Timestamped")?.status).toBe("True");
  });

  it("fails a tampered Receipt with a reason and a Warning event", async () => {
    const payload = { ...original.spec.payload, gpuSeconds: 999999, cost: 999 };
    await copyOf(original, "tampered", payload);
    let r = await waitForCondition("tampered", "Verified", "False", "NotInLedger");
    expect(condOf(r, "Logged")).toMatchObject({ status: "False", reason: "NotInLedger" });
    expect(condOf(r, "Verified")?.message).toMatch(/leaf hash/);
    expect(r.status?.logIndex).toBeUndefined();
    expect(await kubectlColumn("tampered", "VERIFIED")).toBe("False");

    // Pointed at the real entry, it is a different receipt than the one logged there.
    await waitFor("status.logIndex written", async () => {
      const cur = await getReceipt("tampered");
      if (!cur) return false;
      const status = { ...cur.status, logIndex: original.status?.logIndex ?? 0 };
      try {
        await client.replaceStatus(Resources.Receipt, { ...cur, status });
        return true;
      } catch (err) {
        if (isConflict(err)) return false;
        throw err;
      }
    });
    r = await waitForCondition("tampered", "Verified", "False", "LeafMismatch");
    expect(condOf(r, "Verified")?.message).toMatch(
      new RegExp(`ledger entry ${original.status?.logIndex} holds a different receipt`),
    );
    expect(condOf(r, "Logged")?.status).toBe("False");
    const events = await waitFor("a LeafMismatch Warning event", async () => {
      const list = await client.list<KubeObject & { reason?: string; type?: string }>(
        Resources.Event,
        { namespace: ns },
      );
      const mine = list.items.filter(
        (e) =>
          (e as { involvedObject?: { name?: string } }).involvedObject?.name === "tampered" &&
          e.type === "Warning",
      );
      return mine.some((e) => e.reason === "LeafMismatch") ? mine : undefined;
    });
    expect(events.map((e) => e.reason)).toEqual(
      expect.arrayContaining(["NotInLedger", "LeafMismatch"]),
    );
    // The workload's own Receipt is untouched by the copies.
    expect(condOf(await getReceipt(original.metadata.name ?? ""), "Verified")?.status).toBe("True");
  });
});
