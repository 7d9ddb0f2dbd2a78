import { describe, expect, it } from "@jest/globals";
import { fromBase64 } from "./canonical-json.ts";
import { isValidKeyName } from "./checkpoint.ts";
import { ed25519KeyId, ed25519Signer, generateEd25519 } from "./ed25519.ts";
import {
  derivedOrigin,
  OriginSource,
  resolveLogOrigin,
  SHARED_LEGACY_ORIGIN,
  type OriginDecision,
  type OriginInputs,
} from "./log-origin.ts";

const keyA = ed25519Signer(generateEd25519().privateKeyPem).publicKey;
const keyB = ed25519Signer(generateEd25519().privateKeyPem).publicKey;
const MINE = "ledger.acme.test/vaultmesh";

describe("derivedOrigin", () => {
  it("is the prefix and the first 16 hex digits of the key ID, a valid key name", () => {
    const o = derivedOrigin(keyA);
    expect(o).toBe(`vaultmesh.cloud/remembrancer/${ed25519KeyId(fromBase64(keyA)).slice(0, 16)}`);
    expect(isValidKeyName(o)).toBe(true);
  });

  it("differs between two installs' keys", () => {
    expect(derivedOrigin(keyA)).not.toBe(derivedOrigin(keyB));
  });
});

describe("resolveLogOrigin", () => {
  const ok = (origin: string, source: OriginSource, record: boolean): OriginDecision => ({
    ok: true,
    origin,
    source,
    record,
  });
  it.each<[string, OriginInputs, OriginDecision | RegExp]>([
    // Genesis: nothing recorded, no tree head.
    [
      "a new log, configured",
      { configured: MINE, logPublicKey: keyA },
      ok(MINE, "Configured", true),
    ],
    [
      "a new log, nothing configured: derived from the log key",
      { logPublicKey: keyA },
      ok(derivedOrigin(keyA), "Derived", true),
    ],
    [
      "a new log, empty configuration counts as none",
      { configured: "", logPublicKey: keyA },
      ok(derivedOrigin(keyA), "Derived", true),
    ],
    [
      "a new log may not take the shared legacy origin",
      { configured: SHARED_LEGACY_ORIGIN, logPublicKey: keyA },
      /was shared by every install and cannot start a new log/,
    ],
    [
      "a new log without configuration or key",
      {},
      /no origin yet and no signing key to derive one from: configure --origin/,
    ],
    [
      "an invalid configured origin",
      { configured: "my log" },
      /origin "my log": expected a non-empty name/,
    ],
    [
      "a configured origin with a plus",
      { configured: "a+b", recorded: "a+b" },
      /expected a non-empty name/,
    ],
    // A recorded origin wins and never changes, even when the log key rotates.
    [
      "recorded, nothing configured",
      { recorded: MINE, logPublicKey: keyB },
      ok(MINE, "Recorded", false),
    ],
    [
      "recorded and configured alike",
      { recorded: MINE, configured: MINE },
      ok(MINE, "Recorded", false),
    ],
    [
      "recorded, configured differently",
      { recorded: MINE, configured: "other.test/log" },
      /configured, but this ledger signs as "ledger\.acme\.test\/vaultmesh" \(recorded at genesis\): .*cannot change/,
    ],
    [
      "recorded wins over the latest tree head",
      { recorded: MINE, latestTreeHead: "x.test/old" },
      ok(MINE, "Recorded", false),
    ],
    // A ledger from before the record keeps the origin its tree heads carry, the legacy one too.
    [
      "legacy ledger on the shared origin",
      { latestTreeHead: SHARED_LEGACY_ORIGIN, logPublicKey: keyA },
      ok(SHARED_LEGACY_ORIGIN, "LatestTreeHead", true),
    ],
    [
      "legacy ledger, configured differently",
      { latestTreeHead: SHARED_LEGACY_ORIGIN, configured: MINE },
      /\(its latest tree head\): the origin is the log's identity/,
    ],
  ])("%s", (_, inputs, want) => {
    const got = resolveLogOrigin(inputs);
    if (want instanceof RegExp) {
      expect(got.ok).toBe(false);
      expect(!got.ok && got.reason).toMatch(want);
    } else expect(got).toEqual(want);
  });
});
