/**
 * Which checkpoint origin a ledger signs under (docs/adr/0081-log-identity-origin-and-witness-key.md).
 * The origin is the log's identity: witnesses and peers key everything on it, so two installs
 * must never share one and one install must never change its own. It is fixed once, at genesis,
 * and recorded with the ledger: the configured origin when there is one, otherwise one derived
 * from the genesis log key. A database signed before the record existed keeps the origin of its
 * latest tree head.
 */
import { fromBase64 } from "./canonical-json.ts";
import { isValidKeyName } from "./checkpoint.ts";
import { ed25519KeyId } from "./ed25519.ts";

/** The origin every install shared before ADR 0081; a new log may not take it. */
export const SHARED_LEGACY_ORIGIN = "vaultmesh.cloud/remembrancer";
/** Prefix of derived origins: `<prefix>/<first 16 hex digits of the genesis key ID>`. */
export const DERIVED_ORIGIN_PREFIX = "vaultmesh.cloud/remembrancer";

/** Where the chosen origin came from. */
export const OriginSource = {
  /** The origin the ledger recorded at genesis. */
  Recorded: "Recorded",
  /** The origin of the latest tree head of a ledger from before the record. */
  LatestTreeHead: "LatestTreeHead",
  /** The configured origin, taken at genesis. */
  Configured: "Configured",
  /** Derived from the genesis log key, at genesis. */
  Derived: "Derived",
} as const;
export type OriginSource = (typeof OriginSource)[keyof typeof OriginSource];

/** What decides the origin. */
export interface OriginInputs {
  /** `--origin`, `REMEMBRANCER_ORIGIN` or the chart's `ledger.origin`; unset when empty. */
  readonly configured?: string;
  /** The origin the ledger recorded at genesis. */
  readonly recorded?: string;
  /** The origin of the latest signed tree head, when the ledger has one. */
  readonly latestTreeHead?: string;
  /** The log's Ed25519 public key (raw, base64), when this process signs. */
  readonly logPublicKey?: string;
}

/** The chosen origin, and whether it must now be recorded; or why none can be chosen. */
export type OriginDecision =
  | {
      readonly ok: true;
      readonly origin: string;
      readonly source: OriginSource;
      /** True when the ledger has no record yet and must store `origin` now. */
      readonly record: boolean;
    }
  | { readonly ok: false; readonly reason: string };

/** The origin derived from a log key: `vaultmesh.cloud/remembrancer/<16 hex of its key ID>`. */
export function derivedOrigin(logPublicKey: string): string {
  return `${DERIVED_ORIGIN_PREFIX}/${ed25519KeyId(fromBase64(logPublicKey)).slice(0, 16)}`;
}

const q = JSON.stringify;

/** Chooses a ledger's origin from its record, its tree heads and its configuration. */
export function resolveLogOrigin(i: OriginInputs): OriginDecision {
  const configured = i.configured === "" ? undefined : i.configured;
  if (configured !== undefined && !isValidKeyName(configured)) {
    return {
      ok: false,
      reason: `origin ${q(configured)}: expected a non-empty name without spaces or plus signs, e.g. ledger.example.com/vaultmesh`,
    };
  }
  const fixed =
    i.recorded !== undefined
      ? { origin: i.recorded, source: OriginSource.Recorded, record: false }
      : i.latestTreeHead !== undefined
        ? { origin: i.latestTreeHead, source: OriginSource.LatestTreeHead, record: true }
        : undefined;
  if (fixed) {
    if (configured !== undefined && configured !== fixed.origin) {
      return {
        ok: false,
        reason:
          `origin ${q(configured)} is configured, but this ledger signs as ${q(fixed.origin)} ` +
          `(${fixed.source === OriginSource.Recorded ? "recorded at genesis" : "its latest tree head"}): ` +
          `the origin is the log's identity and cannot change; configure ${q(fixed.origin)} or none`,
      };
    }
    return { ok: true, ...fixed };
  }
  if (configured === SHARED_LEGACY_ORIGIN) {
    return {
      ok: false,
      reason: `origin ${q(configured)} was shared by every install and cannot start a new log: configure one of your own or none (then it is derived from the log key)`,
    };
  }
  if (configured !== undefined) {
    return { ok: true, origin: configured, source: OriginSource.Configured, record: true };
  }
  if (i.logPublicKey !== undefined) {
    return {
      ok: true,
      origin: derivedOrigin(i.logPublicKey),
      source: OriginSource.Derived,
      record: true,
    };
  }
  return {
    ok: false,
    reason:
      "this ledger has no origin yet and no signing key to derive one from: configure " +
      "--origin (REMEMBRANCER_ORIGIN) or open it once with its signing key",
  };
}
