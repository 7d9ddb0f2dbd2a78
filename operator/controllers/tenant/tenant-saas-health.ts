/**
 * Stripe and Discord as dependencies of the Tenant stack (ADR 0077): the Billing and Discord
 * components report them down when a call fails for an outage and up when one succeeds, and
 * while one is down a single cheap probe per interval (an unauthenticated GET of the API base:
 * any answer below 500 means it is reachable) notices its return, so that every tenant is
 * reconciled at once instead of at the end of its backoff. One probe per interval per process,
 * whatever the number of tenants: the SaaS is never hammered.
 */
import {
  DependencyState,
  isOutage,
  OutageReason,
  outageReason,
  type DependencyReporter,
} from "../../../services/dependency-health/index.ts";

/** Dependency names of the SaaS the Tenant stack calls. */
export const SaasDependency = { Stripe: "stripe", Discord: "discord" } as const;

/** What to probe for Stripe: `/v1/` of the configured API base (stripe-mock) or Stripe's. */
export function stripeProbeUrl(apiBase: string | undefined): string {
  return new URL("/v1/", apiBase ?? "https://api.stripe.com").href;
}

/** What to probe for Discord: the unauthenticated gateway route of the configured REST API. */
export function discordProbeUrl(api: string | undefined): string {
  return `${(api ?? "https://discord.com/api").replace(/\/+$/, "")}/v10/gateway`;
}

/** How often a down SaaS is probed. @default 10000 */
export const DEFAULT_SAAS_PROBE_MS = 10_000;

const PROBE_TIMEOUT_MS = 5_000;

/** True when a failed SaaS call means the SaaS is away: no connection, or a 5xx answer. */
export function isSaasOutage(err: unknown): boolean {
  if (isOutage(err)) return true;
  const status = (err as { status?: unknown } | null)?.status;
  return typeof status === "number" && status >= 500;
}

/**
 * Reports a failed SaaS call: an outage marks it down; other errors (a refused token, a bad
 * request) say nothing of reachability and report nothing — the probe would find it up at once
 * and requeue tenants for nothing.
 */
export function reportSaasFailure(
  rep: DependencyReporter | undefined,
  err: unknown,
  outage: boolean = isSaasOutage(err),
): void {
  if (!rep || !outage) return;
  rep.down(outageReason(err) ?? OutageReason.ServerUnavailable, err);
}

/** One probe: true when the API base answers below 500 within the timeout. */
export async function probeHttp(
  url: string,
  fetchFn: typeof fetch = fetch,
  timeoutMs = PROBE_TIMEOUT_MS,
): Promise<boolean> {
  try {
    const res = await fetchFn(url, { method: "GET", signal: AbortSignal.timeout(timeoutMs) });
    await res.body?.cancel().catch(() => undefined);
    return res.status < 500;
  } catch {
    return false;
  }
}

/**
 * Probes `rep`'s dependency every `intervalMs` while it is down, reporting it up when the probe
 * succeeds (which fires DependencyHealth.onReturn). Returns the function that stops it.
 */
export function watchWhileDown(
  rep: DependencyReporter,
  probe: () => Promise<boolean>,
  intervalMs: number = DEFAULT_SAAS_PROBE_MS,
): () => void {
  let inFlight = false;
  const timer = setInterval(() => {
    if (inFlight || rep.status().state !== DependencyState.Down) return;
    inFlight = true;
    void probe()
      .then((ok) => {
        if (ok) rep.up();
      })
      .finally(() => {
        inFlight = false;
      });
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
