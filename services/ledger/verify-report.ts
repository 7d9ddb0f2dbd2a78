/**
 * The result type every verifier returns: one check per link of the chain, each passed or
 * failed with a sentence saying why, so the CLI can print ✔/✘ lines or JSON.
 */

/** One link of a verification chain. */
export interface Check {
  readonly link: string;
  readonly ok: boolean;
  readonly detail: string;
  /** A stable reason code when the failure has a known remedy (e.g. `tsa-issuer-untrusted`). */
  readonly code?: string;
}

/** All checks of one verification, and whether the keys were pinned by the verifier. */
export interface VerifyReport {
  readonly ok: boolean;
  readonly checks: readonly Check[];
  /** False when the keys came from the evidence itself rather than from `--trust`. */
  readonly pinned: boolean;
}

/** A passed check. */
export function pass(link: string, detail: string): Check {
  return { link, ok: true, detail };
}

/** A failed check. */
export function fail(link: string, detail: string): Check {
  return { link, ok: false, detail };
}

/** A failed check with a stable reason code, so a front end can say how to fix it. */
export function failCoded(link: string, detail: string, code: string | undefined): Check {
  return code ? { link, ok: false, detail, code } : { link, ok: false, detail };
}

/** Builds a report: ok when there is at least one check and all passed. */
export function report(checks: readonly Check[], pinned: boolean): VerifyReport {
  return { ok: checks.length > 0 && checks.every((c) => c.ok), checks, pinned };
}
