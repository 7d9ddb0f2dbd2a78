/**
 * `remembrancer federation status | verify | export`: each peer's state from the ledger
 * database (and the cluster), the offline check of a federation receipt file, and writing that
 * file from this ledger and the peer's proof API (ADR 0089).
 */
import { existsSync, writeFileSync } from "node:fs";
import type { Command } from "commander";
import pg from "pg";
import {
  exportFederationReceipt,
  parseFederationExport,
  verifyFederationExport,
  type FederationExport,
} from "../../federation/federation-export.ts";
import {
  FEDERATION_SYNCED,
  FederationReceiptFormatError,
} from "../../federation/federation-receipt.ts";
import { peerLedgerStates, type PeerLedgerState } from "../../federation/federation-status.ts";
import { readAtMost } from "../../read-at-most.ts";
import { verifyMisbehaviourBundle } from "../../federation/misbehaviour-receipt.ts";
import { BUNDLE_FORMAT, BundleFormatError, parseBundle, type ProofBundle } from "../bundle.ts";
import { loadTrustFiles, mergeTrust, type TrustBundle } from "../trust-bundle.ts";
import type { VerifyReport } from "../verify-report.ts";
import { databaseUrl, openLedger, path, readInput, type LedgerFlags } from "./cli-context.ts";
import { EXIT, printJson, UsageError, type CliIO } from "./cli-io.ts";
import type { SetExit } from "./cli-keys.ts";

/** The line `federation verify` prints when every link holds. */
export const FEDERATION_VERIFIED = "✅ Federation sync verified";

function readJsonFile(io: CliIO, file: string, what: string): unknown {
  const text = readInput(io, file, what).toString("utf8");
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new UsageError(`${what} ${file} is not valid JSON: ${(err as Error).message}`);
  }
}

/** Each --trust file on its own (matched to a side by its origin), not merged. */
function trustBundles(io: CliIO, files: readonly string[] | undefined): TrustBundle[] {
  return (files ?? []).map((f) => loadTrustFiles([path(io, f)]));
}

interface VerifyFlags extends LedgerFlags {
  readonly trustAnchor?: readonly string[];
}

/** The line `federation verify` prints when a FederationInconsistent bundle's every link holds. */
export const MISBEHAVIOUR_VERIFIED = "✅ Misbehaviour evidence verified";

/** Prints a report's links and its verdict line (or JSON); returns the exit code. */
function printOutcome(
  io: CliIO,
  r: VerifyReport,
  f: { readonly json?: boolean },
  say: { json: Record<string, unknown>; verified: string; failed: string; unpinned: string },
): number {
  const bad = r.checks.find((c) => !c.ok);
  if (f.json) {
    printJson(io, {
      ok: r.ok,
      pinned: r.pinned,
      ...say.json,
      failed: bad?.link ?? null,
      checks: r.checks,
    });
    return r.ok ? EXIT.ok : EXIT.failed;
  }
  for (const c of r.checks) io.stdout(`${c.ok ? "✔" : "✘"} ${c.link} — ${c.detail}\n`);
  if (!r.pinned) io.stdout(`! keys were taken from the file itself; ${say.unpinned}\n`);
  io.stdout(
    r.ok
      ? `${say.verified}\n`
      : `${say.failed}: failing link "${bad?.link ?? "no evidence"}" — ${bad?.detail ?? ""}\n`,
  );
  return r.ok ? EXIT.ok : EXIT.failed;
}

/** `verify` of a proof bundle of a FederationInconsistent receipt: the bundle and the evidence. */
async function verifyEvidence(io: CliIO, value: unknown, f: VerifyFlags): Promise<number> {
  let bundle: ProofBundle;
  try {
    bundle = parseBundle(value);
  } catch (err) {
    if (err instanceof BundleFormatError) throw new UsageError(`proof bundle: ${err.message}`);
    throw err;
  }
  const own = trustBundles(io, f.trust).filter(
    (t) => t.origin === bundle.keys.origin || t.origin === undefined,
  );
  const r = await verifyMisbehaviourBundle(bundle, {
    ...(own.some((t) => t.origin) ? { trust: mergeTrust(...own) } : {}),
    ...(f.trustAnchor?.length ? { peerLogKeys: f.trustAnchor } : {}),
  });
  return printOutcome(io, r, f, {
    json: { digest: bundle.receipt.digest },
    verified: `${MISBEHAVIOUR_VERIFIED}: ${r.finding ?? ""}, ${bundle.receipt.digest}`,
    failed: "❌ Misbehaviour evidence NOT verified",
    unpinned: "pass --trust (our ledger) and --trust-anchor (the peer's log key)",
  });
}

async function verify(io: CliIO, file: string, f: VerifyFlags): Promise<number> {
  const value = readJsonFile(io, file, "federation receipt");
  if ((value as { format?: unknown } | null)?.format === BUNDLE_FORMAT) {
    return await verifyEvidence(io, value, f);
  }
  let x: FederationExport;
  try {
    x = parseFederationExport(value);
  } catch (err) {
    if (err instanceof FederationReceiptFormatError) {
      throw new UsageError(`${file}: ${err.message}`);
    }
    throw err;
  }
  const r = await verifyFederationExport(x, {
    trust: trustBundles(io, f.trust),
    now: io.clock.now(),
  });
  return printOutcome(io, r, f, {
    json: { digest: x.digest, mergedRoot: x.mergedRoot },
    verified: `${FEDERATION_VERIFIED}: ${x.digest}, merged root ${x.mergedRoot}`,
    failed: "❌ Federation sync NOT verified",
    unpinned: "pass --trust to pin each ledger's",
  });
}

interface ExportFlags extends LedgerFlags {
  readonly digest?: string;
  readonly peer?: string;
  readonly peerBundle?: string;
  readonly out?: string;
}

/** Largest peer bundle read over HTTP (a receipt, proofs, an OpenPGP key, TSA certificates). */
const MAX_BUNDLE_BYTES = 1 << 20;

async function peerBundle(io: CliIO, f: ExportFlags, digest: string): Promise<ProofBundle> {
  let value: unknown;
  if (f.peerBundle) value = readJsonFile(io, f.peerBundle, "peer bundle");
  else {
    const url = new URL(`v1/bundles/${digest}`, f.peer!.endsWith("/") ? f.peer : `${f.peer!}/`)
      .href;
    const res = await fetch(url, { redirect: "manual", signal: AbortSignal.timeout(30_000) });
    if (res.status !== 200) {
      await res.body?.cancel().catch(() => undefined);
      throw new UsageError(`--peer: ${url} answered HTTP ${res.status}`);
    }
    const bytes = await readAtMost(
      res,
      MAX_BUNDLE_BYTES,
      () => new UsageError(`--peer: the bundle at ${url} is over ${MAX_BUNDLE_BYTES} bytes`),
    );
    try {
      value = JSON.parse(new TextDecoder().decode(bytes)) as unknown;
    } catch {
      throw new UsageError(`--peer: ${url} did not answer JSON`);
    }
  }
  try {
    return parseBundle(value);
  } catch (err) {
    if (err instanceof BundleFormatError) throw new UsageError(`peer bundle: ${err.message}`);
    throw err;
  }
}

async function exportReceipt(io: CliIO, f: ExportFlags): Promise<number> {
  if (!f.peer === !f.peerBundle)
    throw new UsageError("--peer URL or --peer-bundle FILE: give exactly one");
  if (f.digest !== undefined && !/^sha256:[0-9a-f]{64}$/.test(f.digest)) {
    throw new UsageError(`--digest: expected sha256:<64 hex>, got ${JSON.stringify(f.digest)}`);
  }
  databaseUrl(io, f);
  // Signing keys and the TSA publish the covering tree head, as `export` of a bundle does.
  const { ledger, close } = await openLedger(io, f, true);
  try {
    let digest = f.digest;
    if (!digest) {
      const synced = await ledger.list({ type: FEDERATION_SYNCED, limit: 10_000 });
      digest = synced.at(-1)?.receipt.digest;
      if (!digest)
        throw new UsageError("--digest: this ledger holds no FederationSynced receipt yet");
    }
    const x = await exportFederationReceipt(ledger, digest, await peerBundle(io, f, digest));
    const text = `${JSON.stringify(x, null, 2)}\n`;
    if (f.out) {
      writeFileSync(path(io, f.out), text);
      io.stdout(`wrote ${f.out}: ${x.digest}, merged root ${x.mergedRoot}\n`);
    } else io.stdout(text);
    return EXIT.ok;
  } catch (err) {
    if (err instanceof FederationReceiptFormatError) throw new UsageError(err.message);
    throw err;
  } finally {
    await close();
  }
}

interface StatusFlags extends LedgerFlags {
  readonly cluster?: boolean;
  readonly kubeconfig?: string;
}

interface PeerConditions {
  readonly name: string;
  readonly origin?: string;
  readonly conditions: readonly { type: string; status: string; reason?: string }[];
}

async function clusterPeers(io: CliIO, f: StatusFlags): Promise<PeerConditions[]> {
  const { createKubeClient, Resources } = await import("../../kube/index.ts");
  const client = await createKubeClient(f.kubeconfig ? { kubeconfig: path(io, f.kubeconfig) } : {});
  try {
    const list = await client.list<{
      metadata: { name?: string };
      spec?: { trustAnchor?: { origin?: string } };
      status?: { conditions?: PeerConditions["conditions"] };
    }>(Resources.FederationPeer);
    return list.items.map((p) => ({
      name: p.metadata.name ?? "",
      ...(p.spec?.trustAnchor?.origin ? { origin: p.spec.trustAnchor.origin } : {}),
      conditions: p.status?.conditions ?? [],
    }));
  } finally {
    client.close();
  }
}

function statusLine(s: PeerLedgerState, peers: readonly PeerConditions[]): string {
  const t = s.trusted;
  const c = s.cosignedByPeer;
  const res = peers.find((p) => p.origin === s.origin);
  const conds = res?.conditions
    .map((x) => `${x.type}=${x.status}${x.reason ? `(${x.reason})` : ""}`)
    .join(" ");
  return [
    `${s.origin}${res ? ` (FederationPeer ${res.name})` : ""}`,
    `  trusted      ${t ? `size ${t.treeSize} root ${t.rootHash} cosigned by us ${t.cosignedAt}` : "none"}`,
    `  cosigned us  ${c ? `size ${c.treeSize} root ${c.rootHash} at ${c.cosignedAt}` : "never"}`,
    ...(s.quarantined
      ? [`  QUARANTINED  ${s.quarantined.kind} detected ${s.quarantined.detectedAt}`]
      : []),
    ...(res ? [`  conditions   ${conds || "none yet"}`] : []),
    "",
  ].join("\n");
}

async function status(io: CliIO, f: StatusFlags): Promise<number> {
  const pool = new pg.Pool({ connectionString: databaseUrl(io, f), max: 2 });
  pool.on("error", () => undefined);
  let states: PeerLedgerState[];
  try {
    states = await peerLedgerStates(pool);
  } finally {
    await pool.end();
  }
  const peers = f.cluster || f.kubeconfig ? await clusterPeers(io, f) : [];
  if (f.json)
    printJson(io, {
      peers: states.map((s) => ({
        ...s,
        resource: peers.find((p) => p.origin === s.origin) ?? null,
      })),
    });
  else if (states.length === 0) io.stdout("no federation peers in this ledger yet\n");
  else io.stdout(states.map((s) => statusLine(s, peers)).join("\n"));
  return EXIT.ok;
}

/** Registers status, verify and export under `federation`. */
export function registerFederationReceiptCommands(fed: Command, io: CliIO, setExit: SetExit): void {
  const collect = (v: string, prev: string[] = []): string[] => [...prev, v];
  fed
    .command("status")
    .description(
      "each peer's trusted checkpoint, our checkpoint it cosigned, quarantine, and (with --cluster) conditions",
    )
    .option("--db <url>", "ledger database (default $DATABASE_URL)")
    .option("--cluster", "also read the FederationPeers' conditions from the cluster")
    .option("--kubeconfig <file>", "kubeconfig for --cluster (default $KUBECONFIG, ~/.kube/config)")
    .option("--json", "JSON output")
    .action(async (o: StatusFlags) => setExit(await status(io, o)));
  fed
    .command("verify <file>")
    .description(
      "check a federation receipt file offline (both bundles, equal digests, merged root, every signature and cosignature), or the proof bundle of a FederationInconsistent receipt",
    )
    .option(
      "--trust <file>",
      "trust bundle of one ledger (matched by origin), TSA certificate or OpenPGP key (repeatable)",
      collect,
    )
    .option("--json", "JSON output")
    .option(
      "--trust-anchor <vkey>",
      "the misbehaving peer's log key, to pin the evidence of a FederationInconsistent bundle (repeatable)",
      collect,
    )
    .action(async (file: string, o: VerifyFlags) => {
      if (!existsSync(path(io, file))) throw new UsageError(`<file>: no such file ${file}`);
      setExit(await verify(io, file, o));
    });
  fed
    .command("export")
    .description("write the dual-signed federation receipt with both ledgers' proof bundles")
    .option("--digest <digest>", "the FederationSynced receipt (default: this ledger's latest)")
    .option("--peer <url>", "the peer's proof API, to fetch its bundle of the receipt")
    .option("--peer-bundle <file>", "the peer's bundle, already fetched")
    .option("--out <file>", "write here instead of stdout")
    .option("--db <url>", "ledger database (default $DATABASE_URL)")
    .option("--key-dir <dir>", "keys to publish the covering tree head with")
    .option("--tsa <url>", "TSA to time-stamp it")
    .option("--tsa-ca <pem>", "CA certificate of that TSA")
    .action(async (o: ExportFlags) => setExit(await exportReceipt(io, o)));
}
