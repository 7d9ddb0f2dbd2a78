/**
 * Commands that work on files and keys, no database: `keygen`, `sign`, `timestamp` and
 * `tsa serve`.
 */
import { createPublicKey } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, resolve } from "node:path";
import type { Command } from "commander";
import { Registry } from "prom-client";
import { signArtifact } from "../artifact.ts";
import { generateEd25519, rawPublicKey } from "../ed25519.ts";
import { generateOpenPgpKey } from "../openpgp-keys.ts";
import { emptyTrust, TRUST_FORMAT } from "../trust-bundle.ts";
import { derivedOrigin } from "../log-origin.ts";
import { parseTimeStampResponse } from "../../tsa/rfc3161-verify.ts";
import { requestTimestamp } from "../../tsa/tsa-client.ts";
import { generateTsaCredentials, type TsaCredentialFiles } from "../../tsa/tsa-certs.ts";
import { createTsaResponder } from "../../tsa/tsa-responder.ts";
import { buildTsaServer, listenTsa } from "../../tsa/tsa-server.ts";
import { processMetrics } from "../../metrics/index.ts";
import {
  configuredOrigin,
  KEY_FILES,
  loadOpenPgp,
  loadSigner,
  path,
  readInput,
  type LedgerFlags,
} from "./cli-context.ts";
import { EXIT, printJson, UsageError, type CliIO } from "./cli-io.ts";

/** The exit code a command action reports back to the program. */
export type SetExit = (code: number) => void;

function writeSecret(file: string, text: string): void {
  writeFileSync(file, text, { mode: 0o600 });
}

async function keygen(
  io: CliIO,
  opts: {
    dir: string;
    name: string;
    email: string;
    force?: boolean;
    origin?: string;
    json?: boolean;
  },
): Promise<number> {
  const dir = path(io, opts.dir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const existing = [KEY_FILES.ed25519Key, KEY_FILES.openpgpKey].filter((f) =>
    existsSync(resolve(dir, f)),
  );
  if (existing.length > 0 && !opts.force)
    throw new UsageError(
      `${dir} already holds ${existing.join(", ")}: pass --force to replace them`,
    );
  const ed = generateEd25519();
  const pgp = await generateOpenPgpKey(opts.name, opts.email);
  const raw = rawPublicKey(createPublicKey(ed.publicKeyPem));
  const publicKey = Buffer.from(raw).toString("base64");
  writeSecret(resolve(dir, KEY_FILES.ed25519Key), ed.privateKeyPem);
  writeFileSync(resolve(dir, KEY_FILES.ed25519Pub), ed.publicKeyPem);
  writeSecret(resolve(dir, KEY_FILES.openpgpKey), pgp.privateKeyArmored);
  writeFileSync(resolve(dir, KEY_FILES.openpgpPub), pgp.publicKeyArmored);
  const trust = {
    ...emptyTrust(),
    format: TRUST_FORMAT,
    // The origin a ledger started with this key takes (ADR 0081): configured, else derived.
    origin: configuredOrigin(io, opts) ?? derivedOrigin(publicKey),
    ed25519: [{ keyId: ed.keyId, publicKey }],
    openpgp: [pgp.publicKeyArmored],
  };
  writeFileSync(resolve(dir, KEY_FILES.trust), `${JSON.stringify(trust, null, 2)}\n`);
  if (opts.json)
    printJson(io, { dir, ed25519KeyId: ed.keyId, openpgpFingerprint: pgp.fingerprint });
  else
    io.stdout(
      `ed25519 ${ed.keyId}\nopenpgp ${pgp.fingerprint}\nkeys written to ${dir} (public keys in ${KEY_FILES.trust})\n`,
    );
  return EXIT.ok;
}

async function sign(io: CliIO, file: string, flags: LedgerFlags): Promise<number> {
  const data = readInput(io, file, "file");
  const signer = loadSigner(io, flags);
  const pgp = await loadOpenPgp(io, flags);
  const { signature, asc } = await signArtifact(basename(file), data, signer, io.clock, pgp);
  const full = path(io, file);
  writeFileSync(`${full}.sig.json`, `${JSON.stringify(signature, null, 2)}\n`);
  if (asc) writeFileSync(`${full}.asc`, asc);
  if (flags.json)
    printJson(io, {
      file: full,
      digest: signature.digest,
      sigJson: `${full}.sig.json`,
      asc: asc ? `${full}.asc` : null,
    });
  else
    io.stdout(
      `${signature.digest}  ${file}\nwrote ${file}.sig.json (Ed25519 ${signer.keyId.slice(0, 16)})${asc ? ` and ${file}.asc (OpenPGP ${pgp?.fingerprint})` : ""}\n`,
    );
  return EXIT.ok;
}

async function timestamp(io: CliIO, file: string, flags: LedgerFlags): Promise<number> {
  const url = flags.tsa ?? io.env.REMEMBRANCER_TSA_URL;
  if (!url) throw new UsageError("no TSA: pass --tsa URL or set REMEMBRANCER_TSA_URL");
  const data = readInput(io, file, "file");
  const trustedPem = flags.tsaCa
    ? [readInput(io, flags.tsaCa, "TSA CA certificate").toString("utf8")]
    : undefined;
  const { der } = await requestTimestamp(url, data, trustedPem ? { trustedPem } : {});
  writeFileSync(`${path(io, file)}.tsr`, der);
  const genTime = parseTimeStampResponse(der).tstInfo?.genTime.toISOString();
  if (flags.json) printJson(io, { file: path(io, file), tsr: `${path(io, file)}.tsr`, genTime });
  else io.stdout(`wrote ${file}.tsr (genTime ${genTime})\n`);
  return EXIT.ok;
}

function loadOrCreateTsa(io: CliIO, dir: string): Promise<TsaCredentialFiles> {
  const f = (n: string): string => resolve(dir, n);
  if (existsSync(f("tsa.crt")) && existsSync(f("tsa.key"))) {
    const read = (n: string): string => (existsSync(f(n)) ? readFileSync(f(n), "utf8") : "");
    return Promise.resolve({
      certificatePem: read("tsa.crt"),
      privateKeyPem: read("tsa.key"),
      caCertificatePem: read("tsa-ca.crt"),
      caPrivateKeyPem: "",
    });
  }
  return generateTsaCredentials(io.clock).then((c) => {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(f("tsa.crt"), c.certificatePem);
    writeSecret(f("tsa.key"), c.privateKeyPem);
    writeFileSync(f("tsa-ca.crt"), c.caCertificatePem);
    writeSecret(f("tsa-ca.key"), c.caPrivateKeyPem);
    return c;
  });
}

async function tsaServe(
  io: CliIO,
  opts: { port: string; dir: string; host: string },
): Promise<number> {
  const port = Number(opts.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError(`--port: expected 0-65535, got ${opts.port}`);
  const dir = path(io, opts.dir);
  const creds = await loadOrCreateTsa(io, dir);
  const responder = await createTsaResponder({ credentials: creds, clock: io.clock });
  const metrics = new Registry();
  processMetrics(metrics);
  const app = buildTsaServer({ responder, logger: io.logger, metrics });
  const url = await listenTsa(app, port, opts.host);
  io.stdout(
    `TSA listening on ${url}\ncertificate ${resolve(dir, "tsa.crt")}\nCA ${resolve(dir, "tsa-ca.crt")}\n`,
  );
  await new Promise<void>((done) => {
    const stop = (): void => done();
    if (io.signal) io.signal.addEventListener("abort", stop, { once: true });
    else for (const s of ["SIGINT", "SIGTERM"] as const) process.once(s, stop);
  });
  await app.close();
  return EXIT.ok;
}

/** Registers keygen, sign, timestamp and tsa serve. */
export function registerKeyCommands(program: Command, io: CliIO, setExit: SetExit): void {
  program
    .command("keygen")
    .description("generate Ed25519 and OpenPGP key pairs and a trust bundle; prints key IDs")
    .requiredOption("--dir <dir>", "directory for the keys")
    .option("--name <name>", "OpenPGP user name", "VaultMesh Remembrancer")
    .option("--email <email>", "OpenPGP user email", "remembrancer@vaultmesh.invalid")
    .option(
      "--origin <origin>",
      "log origin for the trust bundle (default $REMEMBRANCER_ORIGIN, else derived from the new key)",
    )
    .option("--force", "replace existing keys")
    .option("--json", "JSON output")
    .action(async (o: Parameters<typeof keygen>[1]) => setExit(await keygen(io, o)));
  program
    .command("sign <file>")
    .description("write FILE.sig.json (Ed25519) and FILE.asc (OpenPGP, gpg-compatible)")
    .option("--key-dir <dir>", "key directory (default $REMEMBRANCER_KEY_DIR)")
    .option("--json", "JSON output")
    .action(async (file: string, o: LedgerFlags) => setExit(await sign(io, file, o)));
  program
    .command("timestamp <file>")
    .description("obtain an RFC 3161 token for FILE from a TSA; writes FILE.tsr")
    .option("--tsa <url>", "TSA URL (default $REMEMBRANCER_TSA_URL)")
    .option("--tsa-ca <pem>", "verify the reply against this CA certificate")
    .option("--json", "JSON output")
    .action(async (file: string, o: LedgerFlags) => setExit(await timestamp(io, file, o)));
  const tsa = program.command("tsa").description("the development RFC 3161 time-stamp authority");
  tsa
    .command("serve")
    .description("run the development TSA; writes DIR/tsa.crt and DIR/tsa-ca.crt")
    .requiredOption("--port <port>", "TCP port (0 picks a free one)")
    .requiredOption("--dir <dir>", "directory for the TSA key and certificates")
    .option("--host <host>", "address to bind", "127.0.0.1")
    .action(async (o: { port: string; dir: string; host: string }) =>
      setExit(await tsaServe(io, o)),
    );
}
