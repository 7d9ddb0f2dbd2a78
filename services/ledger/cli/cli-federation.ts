/**
 * `remembrancer federation init | join | status | verify | export` (issue 11, ADR 0089):
 * `init` creates the witness key (never the log key) and prints this ledger's identity in C2SP
 * form; `join` writes (or applies) the FederationPeer of a peer from its printed identity; the
 * receipt commands are in cli-federation-receipts.ts.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import type { Command } from "commander";
import { stringify } from "yaml";
import { API_VERSION, HTTP_URL_PATTERN } from "../../../crds/constants.ts";
import { FederationPeerSchema, type FederationPeerInput } from "../../../crds/federationpeer.ts";
import { createWitness, WitnessKeyError } from "../../federation/cosignature.ts";
import { fromBase64 } from "../canonical-json.ts";
import {
  CheckpointFormatError,
  COSIGNATURE_V1_ALG,
  parseVerifierKey,
  verifierKey,
} from "../checkpoint.ts";
import { ed25519KeyId, ed25519Signer, generateEd25519, publicKeyFromBase64 } from "../ed25519.ts";
import { derivedOrigin } from "../log-origin.ts";
import { allKeys } from "../store/pg-log-queries.ts";
import {
  configuredOrigin,
  databaseUrl,
  KEY_FILES,
  keyDir,
  loadSigner,
  openLedger,
  type LedgerFlags,
} from "./cli-context.ts";
import { registerFederationReceiptCommands } from "./cli-federation-receipts.ts";
import { EXIT, printJson, UsageError, type CliIO } from "./cli-io.ts";
import type { SetExit } from "./cli-keys.ts";

/** The witness's private key file in a key directory (written by `federation init`). */
export const WITNESS_KEY_FILE = "witness.key";

interface InitFlags extends LedgerFlags {
  readonly witnessName?: string;
}

/** This ledger's origin and the log keys it signs with: from its database, else its key dir. */
async function identity(
  io: CliIO,
  f: InitFlags,
  logPublicKey: string,
): Promise<{ origin: string; logKeys: string[] }> {
  if (f.db ?? io.env.DATABASE_URL) {
    databaseUrl(io, f);
    const { ledger, close } = await openLedger(io, f, true);
    try {
      const keys = (await allKeys(ledger.store.pool)).filter((k) => k.kind === "ed25519");
      return { origin: ledger.origin!, logKeys: keys.map((k) => k.publicKey) };
    } finally {
      await close();
    }
  }
  const trustFile = resolve(keyDir(io, f)!, KEY_FILES.trust);
  const recorded = existsSync(trustFile)
    ? (JSON.parse(readFileSync(trustFile, "utf8")) as { origin?: unknown }).origin
    : undefined;
  const origin =
    configuredOrigin(io, f) ??
    (typeof recorded === "string" ? recorded : derivedOrigin(logPublicKey));
  return { origin, logKeys: [logPublicKey] };
}

async function init(io: CliIO, f: InitFlags): Promise<number> {
  const log = loadSigner(io, f);
  const dir = keyDir(io, f)!;
  const file = resolve(dir, WITNESS_KEY_FILE);
  const created = !existsSync(file);
  if (created) writeFileSync(file, generateEd25519().privateKeyPem, { mode: 0o600 });
  let signer;
  try {
    signer = ed25519Signer(readFileSync(file, "utf8"));
  } catch (err) {
    throw new UsageError(`${file}: not an Ed25519 private key (${(err as Error).message})`);
  }
  const { origin, logKeys } = await identity(io, f, log.publicKey);
  const name = f.witnessName ?? `${origin}/witness`;
  let witness;
  try {
    witness = createWitness(name, signer, logKeys);
  } catch (err) {
    if (err instanceof WitnessKeyError) throw new UsageError(`${file}: ${err.message}`);
    throw err;
  }
  const out = {
    origin,
    logKey: verifierKey(origin, fromBase64(log.publicKey)),
    witnessKey: witness.vkey,
    witnessKeyFile: file,
    created,
  };
  if (f.json) printJson(io, out);
  else
    io.stdout(
      `origin ${out.origin}\nlog-key ${out.logKey}\nwitness-key ${out.witnessKey}\n` +
        `${created ? "created" : "kept"} the witness key ${file} (its own key, never the log key)\n` +
        `a peer joins with: remembrancer federation join --peer <this ledger's proof API URL> ` +
        `--trust-anchor ${out.logKey} --trust-anchor ${out.witnessKey}\n`,
    );
  return EXIT.ok;
}

interface JoinFlags {
  readonly peer: string;
  readonly trustAnchor?: readonly string[];
  readonly name?: string;
  readonly syncInterval: string;
  readonly caBundle?: string;
  readonly origin?: string;
  readonly keyDir?: string;
  readonly apply?: boolean;
  readonly kubeconfig?: string;
  readonly json?: boolean;
}

/** The peer's origin, log keys and witness key from the --trust-anchor vkeys. */
function anchors(vkeys: readonly string[]): {
  origin: string;
  logKeys: { keyId: string; publicKey: string }[];
  witnessKey: string;
} {
  if (vkeys.length === 0) {
    throw new UsageError("--trust-anchor: required, the peer's log key and witness key vkeys");
  }
  const logKeys: { keyId: string; publicKey: string }[] = [];
  const witness: string[] = [];
  let origin: string | undefined;
  for (const v of vkeys) {
    let k;
    try {
      k = parseVerifierKey(v.trim());
    } catch (err) {
      if (err instanceof CheckpointFormatError)
        throw new UsageError(`--trust-anchor: ${err.message}`);
      throw err;
    }
    if (k.alg === COSIGNATURE_V1_ALG) {
      witness.push(v.trim());
      continue;
    }
    if (origin !== undefined && k.name !== origin) {
      throw new UsageError(
        `--trust-anchor: log keys name two origins (${origin}, ${k.name}); one peer has one origin`,
      );
    }
    origin = k.name;
    const pem = publicKeyFromBase64(Buffer.from(k.publicKey).toString("base64"))
      .export({ format: "pem", type: "spki" })
      .toString();
    logKeys.push({ keyId: ed25519KeyId(k.publicKey), publicKey: pem });
  }
  if (!origin)
    throw new UsageError("--trust-anchor: no log key (type 0x01, named the peer's origin)");
  if (witness.length !== 1) {
    throw new UsageError(
      `--trust-anchor: expected exactly one witness key (type 0x04), got ${witness.length}`,
    );
  }
  return { origin, logKeys, witnessKey: witness[0]! };
}

/** A DNS-1123 object name from an origin: lowercase, other characters as dashes, ≤ 63. */
function nameOf(origin: string): string {
  const n = origin
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 63)
    .replace(/-+$/, "");
  return n || "peer";
}

/** The FederationPeer manifest of a join, validated against the API schema. */
export function federationPeerManifest(io: CliIO, f: JoinFlags): FederationPeerInput {
  if (!HTTP_URL_PATTERN.test(f.peer)) {
    throw new UsageError(
      `--peer: expected an http(s) URL of the peer's proof API, got ${JSON.stringify(f.peer)}`,
    );
  }
  const a = anchors(f.trustAnchor ?? []);
  const own = ownOrigin(io, f);
  if (own === a.origin) {
    throw new UsageError(
      `--trust-anchor: origin ${a.origin} is this ledger's own; a peer must have its own`,
    );
  }
  const interval = Number(f.syncInterval);
  if (!Number.isInteger(interval) || interval < 10 || interval > 86_400) {
    throw new UsageError(
      `--sync-interval: expected whole seconds from 10 to 86400, got ${f.syncInterval}`,
    );
  }
  const caBundle = f.caBundle ? readCa(io, f.caBundle) : undefined;
  const manifest: FederationPeerInput = {
    apiVersion: API_VERSION,
    kind: "FederationPeer",
    metadata: { name: f.name ?? nameOf(a.origin) },
    spec: {
      endpoint: f.peer,
      trustAnchor: {
        origin: a.origin,
        keys: a.logKeys.map((k) => ({
          keyId: k.keyId,
          algorithm: "Ed25519" as const,
          publicKey: k.publicKey,
        })),
        witnessKey: a.witnessKey,
        ...(caBundle ? { caBundle } : {}),
      },
      syncIntervalSeconds: interval,
    },
  };
  const parsed = FederationPeerSchema.safeParse(manifest);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const flag = issue.path[0] === "metadata" ? "--name" : issue.path.join(".");
    throw new UsageError(`${flag}: ${issue.message}`);
  }
  return manifest;
}

function ownOrigin(io: CliIO, f: JoinFlags): string | undefined {
  const configured = configuredOrigin(io, f);
  if (configured) return configured;
  const dir = keyDir(io, f);
  const file = dir && resolve(dir, KEY_FILES.trust);
  if (!file || !existsSync(file)) return undefined;
  const origin = (JSON.parse(readFileSync(file, "utf8")) as { origin?: unknown }).origin;
  return typeof origin === "string" ? origin : undefined;
}

function readCa(io: CliIO, file: string): string {
  const full = resolve(io.cwd, file);
  if (!existsSync(full)) throw new UsageError(`--ca-bundle: no such file ${file}`);
  const pem = readFileSync(full, "utf8");
  if (!pem.includes("-----BEGIN CERTIFICATE-----")) {
    throw new UsageError(`--ca-bundle: ${file} holds no PEM certificate`);
  }
  return pem;
}

async function join(io: CliIO, f: JoinFlags): Promise<number> {
  const manifest = federationPeerManifest(io, f);
  if (!f.apply) {
    io.stdout(f.json ? `${JSON.stringify(manifest, null, 2)}\n` : stringify(manifest));
    return EXIT.ok;
  }
  const { createKubeClient, Resources } = await import("../../kube/index.ts");
  const client = await createKubeClient({
    fieldManager: "remembrancer",
    ...(f.kubeconfig ? { kubeconfig: resolve(io.cwd, f.kubeconfig) } : {}),
  });
  try {
    const name = manifest.metadata.name!;
    await client.patch(Resources.FederationPeer, { name }, manifest, "apply", true);
    io.stdout(`federationpeer.vaultmesh.cloud/${name} applied\n`);
  } finally {
    client.close();
  }
  return EXIT.ok;
}

/** Registers `federation` and its subcommands. */
export function registerFederationCommands(program: Command, io: CliIO, setExit: SetExit): void {
  const collect = (v: string, prev: string[] = []): string[] => [...prev, v];
  const fed = program
    .command("federation")
    .description("federate with other ledgers: witness keys, peers, federation receipts");
  fed
    .command("init")
    .description(
      "create the witness key (never the log key) and print this ledger's origin, log key and witness key (C2SP vkeys)",
    )
    .option(
      "--key-dir <dir>",
      "key directory with the log key; the witness key is written beside it (default $REMEMBRANCER_KEY_DIR)",
    )
    .option(
      "--db <url>",
      "ledger database to read the origin and log keys from (default $DATABASE_URL)",
    )
    .option(
      "--origin <origin>",
      "this ledger's origin when no database is given (default: the key directory's)",
    )
    .option("--witness-name <name>", "the witness's key name (default <origin>/witness)")
    .option("--json", "JSON output")
    .action(async (o: InitFlags) => setExit(await init(io, o)));
  fed
    .command("join")
    .description("write the FederationPeer manifest of a peer (or apply it with --apply)")
    .requiredOption("--peer <url>", "base URL of the peer's proof API")
    .option(
      "--trust-anchor <vkey>",
      "the peer's log key and witness key as `federation init` prints them (repeatable)",
      collect,
    )
    .option("--name <name>", "the FederationPeer's name (default: from the peer's origin)")
    .option("--sync-interval <seconds>", "seconds between syncs, 10..86400", "300")
    .option("--ca-bundle <pem>", "CA certificates of the peer's TLS endpoint")
    .option("--origin <origin>", "this ledger's origin, to refuse a peer claiming it")
    .option("--key-dir <dir>", "this ledger's key directory (its trust.json names the origin)")
    .option("--apply", "apply the manifest to the cluster instead of printing it")
    .option("--kubeconfig <file>", "kubeconfig for --apply (default $KUBECONFIG, ~/.kube/config)")
    .option("--json", "print JSON instead of YAML")
    .action(async (o: JoinFlags) => setExit(await join(io, o)));
  registerFederationReceiptCommands(fed, io, setExit);
}
