// The admission server as a fastify app: one POST route per webhook entry, /healthz, /readyz
// (with the reasons when not ready, and each dependency's state) and /metrics. buildServer()
// does not listen (server.ts does), so tests drive it with app.inject and the bench measures
// the same code the cluster runs.
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply } from "fastify";
import { readinessReport, type DependencyStatus } from "../services/dependency-health/index.ts";
import { VaultLawEvaluator } from "../services/vault-law/evaluator.ts";
import {
  MalformedReviewError,
  admissionResponse,
  parseAdmissionReview,
  type AdmissionDecision,
  type AdmissionRequest,
} from "./admission.ts";
import {
  silentLogger,
  type DenialRecord,
  type WebhookConfig,
  type WebhookDeps,
  type WebhookLogger,
} from "./deps.ts";
import { WEBHOOK_ENDPOINTS, type WebhookEndpoint } from "./endpoints.ts";
import type { HandlerContext } from "./handlers.ts";
import { tenantOfNamespace } from "../crds/domain/index.ts";
import { instrumentFastify } from "../services/metrics/index.ts";
import { WebhookMetrics } from "./metrics.ts";
import { DEFAULT_GPU_RESOURCES, DEFAULT_GPU_TAINT_KEYS } from "./policies/pod.ts";
import { DEFAULT_OPERATOR_SERVICE_ACCOUNT, SYSTEM_RECEIPT_DELETERS } from "./policies/receipt.ts";

/**
 * Largest request body accepted, in bytes. An UPDATE review carries the object and the old
 * object, each up to the apiserver's 1.5 MiB object limit (3 MiB as JSON, roughly).
 * @default 6 MiB
 */
export const DEFAULT_BODY_LIMIT = 6 * 1024 * 1024;

/** Options of {@link buildServer} that are not dependencies. */
export interface ServerOptions {
  /** TLS key and certificate (PEM); plain HTTP when omitted (app.inject, tests). */
  readonly https?: { readonly key: string | Buffer; readonly cert: string | Buffer };
  /** @default DEFAULT_BODY_LIMIT */
  readonly bodyLimit?: number;
  /** Reasons the server is not ready besides the lookups' caches (e.g. no certificate yet). */
  readonly readiness?: () => readonly string[];
}

/** Fills in the defaults of {@link WebhookConfig}. */
export function resolveConfig(c: Partial<WebhookConfig> = {}): WebhookConfig {
  const operatorServiceAccount = c.operatorServiceAccount ?? DEFAULT_OPERATOR_SERVICE_ACCOUNT;
  return {
    operatorServiceAccount,
    receiptDeleters: c.receiptDeleters ?? SYSTEM_RECEIPT_DELETERS,
    gpuJobCreators: c.gpuJobCreators ?? [operatorServiceAccount],
    gpuResources: c.gpuResources ?? DEFAULT_GPU_RESOURCES,
    gpuTaintKeys: c.gpuTaintKeys ?? DEFAULT_GPU_TAINT_KEYS,
  };
}

/** A decision function for one endpoint: what the route runs, minus HTTP. Used by the bench. */
export type Decider = (req: AdmissionRequest) => Promise<AdmissionDecision>;

/** Builds the decision function of `endpoint` with `deps`, recording metrics and denials. */
export function makeDecider(endpoint: WebhookEndpoint, deps: WebhookDeps): Decider {
  const config = resolveConfig(deps.config);
  const vaultLaw = deps.vaultLaw ?? new VaultLawEvaluator(deps.lookups.getPolicyModule);
  const clock = deps.clock ?? ((): Date => new Date());
  const log = deps.logger ?? silentLogger;
  const metrics = deps.metrics;
  return async (req) => {
    const start = process.hrtime.bigint();
    const now = clock();
    let decision: AdmissionDecision;
    if (!endpoint.kinds.includes(req.kind.kind)) {
      // Only a misregistered configuration sends another kind: never block on it, say so.
      decision = {
        allowed: true,
        warnings: [
          `webhook ${endpoint.name} does not handle kind ${req.kind.kind}; allowed without checks`,
        ],
      };
      log.warn({ webhook: endpoint.name, kind: req.kind }, "unexpected kind allowed");
    } else {
      const ctx: HandlerContext = { lookups: deps.lookups, config, vaultLaw, now };
      decision = await endpoint.handler(req, ctx);
    }
    const outcome = decision.allowed ? (decision.patch?.length ? "patched" : "allowed") : "denied";
    metrics?.decisions.inc({ policy: endpoint.policy, decision: outcome });
    metrics?.decisionSeconds.observe(
      { policy: endpoint.policy },
      Number(process.hrtime.bigint() - start) / 1e9,
    );
    if (!decision.allowed) {
      log.info(
        {
          webhook: endpoint.name,
          request_id: req.uid,
          uid: req.uid,
          tenant: tenantOfNamespace(req.namespace),
          namespace: req.namespace,
          name: req.name,
          errors: decision.errors,
        },
        "admission denied",
      );
      if (deps.recordDenial && !req.dryRun) {
        recordDenial(deps, log, denialRecord(endpoint, req, decision.errors, now));
      }
    }
    return decision;
  };
}

function denialRecord(
  endpoint: WebhookEndpoint,
  req: AdmissionRequest,
  errors: DenialRecord["errors"],
  now: Date,
): DenialRecord {
  return {
    webhook: endpoint.name,
    policy: endpoint.policy,
    path: endpoint.path,
    requestUid: req.uid,
    operation: req.operation,
    group: req.kind.group,
    version: req.kind.version,
    kind: req.kind.kind,
    namespace: req.namespace,
    name: req.name || (req.object as { metadata?: { name?: string } } | undefined)?.metadata?.name,
    username: req.userInfo.username ?? "",
    errors,
    time: now.toISOString(),
  };
}

function recordDenial(deps: WebhookDeps, log: WebhookLogger, record: DenialRecord): void {
  // Recording is best effort and off the response path: a ledger outage must not turn into an
  // admission outage.
  Promise.resolve()
    .then(() => deps.recordDenial?.(record))
    .catch((err: unknown) =>
      log.error(
        { err: (err as Error).message, uid: record.requestUid },
        "recording policy.denied failed",
      ),
    );
}

/** The JSON body of /readyz. */
export interface ReadyzBody {
  readonly status: "ready" | "not ready";
  /** Why not ready: the checks' reasons, then each required dependency that is down. */
  readonly reasons?: readonly string[];
  /** One line per dependency, e.g. `[~]ledger-postgres down: Unreachable: … ; degraded: …`. */
  readonly dependencies?: readonly string[];
}

/**
 * The /readyz body for the reasons the server is not ready (caches, certificate…) and its
 * dependencies' states, through {@link readinessReport}. Pure.
 */
export function readyzBody(
  reasons: readonly string[],
  statuses: readonly DependencyStatus[],
): ReadyzBody {
  const lines = readinessReport([], statuses).text.split("\n");
  // Every line but the verdict ("readyz check passed/failed") and the trailing empty one.
  const dependencies = lines.slice(0, statuses.length);
  const all = [...reasons, ...dependencies.filter((l) => l.startsWith("[-]"))];
  return {
    status: all.length === 0 ? "ready" : "not ready",
    ...(all.length > 0 ? { reasons: all } : {}),
    ...(dependencies.length > 0 ? { dependencies } : {}),
  };
}

function sendError(reply: FastifyReply, code: number, message: string): FastifyReply {
  return reply.code(code).type("application/json").send({ error: message });
}

/** Builds the admission server (not listening). */
export function buildServer(deps: WebhookDeps, options: ServerOptions = {}): FastifyInstance {
  const metrics = deps.metrics ?? new WebhookMetrics();
  const full: WebhookDeps = { ...deps, metrics };
  const log = deps.logger ?? silentLogger;
  const app = Fastify({
    logger: false,
    bodyLimit: options.bodyLimit ?? DEFAULT_BODY_LIMIT,
    return503OnClosing: true,
    ...(options.https ? { https: { key: options.https.key, cert: options.https.cert } } : {}),
  }) as unknown as FastifyInstance;
  // RED metrics of every request, 404s included (services/metrics, ADR 0110).
  instrumentFastify(app, metrics.http);

  // AdmissionReviews are JSON; anything else is a 415, not a string for the handler to reject.
  app.removeContentTypeParser("text/plain");

  app.setErrorHandler((err: FastifyError, _req, reply) => {
    if (err instanceof MalformedReviewError) {
      metrics.rejected.inc({ reason: "malformed" });
      return sendError(reply, 400, err.message);
    }
    if (err.code === "FST_ERR_CTP_BODY_TOO_LARGE") {
      metrics.rejected.inc({ reason: "too_large" });
      return sendError(
        reply,
        413,
        `request body is larger than ${options.bodyLimit ?? DEFAULT_BODY_LIMIT} bytes`,
      );
    }
    if (err.code === "FST_ERR_CTP_INVALID_MEDIA_TYPE") {
      metrics.rejected.inc({ reason: "unsupported" });
      return sendError(reply, 415, "expected Content-Type application/json");
    }
    if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) {
      metrics.rejected.inc({ reason: "malformed" });
      return sendError(reply, err.statusCode, err.message);
    }
    // A bug or a failed lookup: a 500 lets the entry's failurePolicy decide, never a stack.
    log.error({ err: err.message, stack: err.stack }, "admission handler failed");
    return sendError(reply, 500, "internal error while deciding; see the webhook server's log");
  });

  // Entries that differ only in operation (receipts, receipts-delete) share a path; the
  // request's operation picks the entry, so metrics and denials name the right one.
  const byPath = new Map<string, { endpoint: WebhookEndpoint; decide: Decider }[]>();
  for (const endpoint of WEBHOOK_ENDPOINTS) {
    const list = byPath.get(endpoint.path) ?? [];
    list.push({ endpoint, decide: makeDecider(endpoint, full) });
    byPath.set(endpoint.path, list);
  }
  for (const [path, list] of byPath) {
    app.post(path, async (request) => {
      const req = parseAdmissionReview(request.body);
      const match =
        list.find((d) => (d.endpoint.operations as readonly string[]).includes(req.operation)) ??
        list[0];
      if (match === undefined) throw new Error(`no webhook entry for ${path}`);
      return admissionResponse(req.uid, await match.decide(req));
    });
  }

  app.get("/healthz", (_req, reply) => reply.send({ status: "ok" }));
  // 503 with every reason, e.g. "certificate: secret vaultmesh-system/vaultmesh-webhook-tls: …
  // 403 … forbidden", so `curl -k https://<pod>:9443/readyz` says why a replica is not ready.
  // Dependencies (the denial ledger's Postgres…) are listed under `dependencies`, one
  // readinessReport line each: `[~]` for one the server rides out (still ready), `[-]` for a
  // required one, which is also a reason (ADR 0071).
  app.get("/readyz", (_req, reply) => {
    const r = readyzBody(
      [
        ...((deps.lookups.ready?.() ?? true) ? [] : ["caches not synced"]),
        ...(options.readiness?.() ?? []),
      ],
      deps.health?.statuses() ?? [],
    );
    return reply.code(r.status === "ready" ? 200 : 503).send(r);
  });
  app.get("/metrics", async (_req, reply) =>
    reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
  );
  return app;
}
