/**
 * A small JSON client for the Kubernetes API over one pooled keep-alive agent.
 *
 * Why not the generated @kubernetes/client-node API classes: in 2.0.1 every request goes
 * through `KubeConfig.applySecurityAuthentication`, which builds a new undici Agent (a new
 * TLS handshake) per request, and their ObjectSerializer turns timestamps into Date objects.
 * We read the kubeconfig ourselves (./kubeconfig.ts; client-node only for credential plugins)
 * and speak plain JSON over a single `https.Agent`, which is what the hot paths (informers,
 * reconcile writes) need. See docs/adr/0020-reconcile-runtime.md and 0025-operator-memory.md.
 */
import * as http from "node:http";
import * as https from "node:https";
import { createSecureContext } from "node:tls";
import {
  fromClientNodeConfig,
  type ClientNodeKubeConfig,
  type ClusterAccess,
} from "./kubeconfig.ts";

import { resourcePath, type KubeObject, type ResourceType } from "./resources.ts";

/** How many times a request answered 429 Too Many Requests is sent before giving up. */
const MAX_429_RETRIES = 8;

/** An error answer of the API server (a metav1.Status), or a transport failure (status 0). */
export class KubeApiError extends Error {
  override readonly name = "KubeApiError";
  /** HTTP status code; 0 when the request never got an answer. */
  readonly status: number;
  /** metav1.Status reason, e.g. NotFound, AlreadyExists, Conflict, Gone. */
  readonly reason: string;
  constructor(status: number, reason: string, message: string) {
    super(message);
    this.status = status;
    this.reason = reason;
  }
}

/** True for a 404 answer. */
export const isNotFound = (err: unknown): boolean =>
  err instanceof KubeApiError && err.status === 404;
/** True for a 409 AlreadyExists answer. */
export const isAlreadyExists = (err: unknown): boolean =>
  err instanceof KubeApiError && err.status === 409 && err.reason === "AlreadyExists";
/** True for a 409 Conflict answer (stale resourceVersion). */
export const isConflict = (err: unknown): boolean =>
  err instanceof KubeApiError && err.status === 409 && err.reason !== "AlreadyExists";

/** Patch flavours the API server accepts. */
export type PatchType = "merge" | "json" | "strategic" | "apply";

const PATCH_CONTENT_TYPE: Record<PatchType, string> = {
  merge: "application/merge-patch+json",
  json: "application/json-patch+json",
  strategic: "application/strategic-merge-patch+json",
  apply: "application/apply-patch+yaml",
};

/** A list answer. */
export interface ObjectList<T> {
  readonly items: T[];
  readonly metadata: { resourceVersion?: string; continue?: string };
}

/** One event of a watch stream. */
export interface WatchEvent<T> {
  readonly type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
  readonly object: T;
}

/** A running watch: abort it, or await its end (resolves on close, rejects on failure). */
export interface WatchHandle {
  readonly done: Promise<void>;
  abort(): void;
}

/** Options of {@link KubeClient.list} and {@link KubeClient.watch}. */
export interface ListOptions {
  readonly namespace?: string | undefined;
  readonly labelSelector?: string | undefined;
  readonly fieldSelector?: string | undefined;
  readonly resourceVersion?: string | undefined;
  readonly limit?: number;
  readonly continue?: string;
}

/** Options of {@link KubeClient.create}. */
export interface KubeClientOptions {
  /** Field manager of every write. @default "vaultmesh-operator" */
  readonly fieldManager?: string;
  /** Most concurrent connections to the API server. @default 64 */
  readonly maxSockets?: number;
  /** Per-request timeout for non-watch requests in ms. @default 30000 */
  readonly timeoutMs?: number;
}

interface Transport {
  readonly base: URL;
  readonly agent: http.Agent;
  readonly mod: typeof http | typeof https;
}

/**
 * `plural` or `plural/subresource` of an API path (`/apis/g/v/namespaces/ns/jobs/x/status` →
 * `jobs/status`): what request counts are keyed by.
 */
export function resourceOfPath(path: string): string {
  const parts = (path.split("?")[0] ?? "").split("/").filter((p) => p !== "");
  // Skip the group/version prefix: /api/v1/… or /apis/group/version/…
  let i = parts[0] === "api" ? 2 : parts[0] === "apis" ? 3 : 0;
  if (parts[i] === "namespaces" && parts.length > i + 2) i += 2;
  const [plural = "", , sub] = parts.slice(i);
  return sub ? `${plural}/${sub}` : plural;
}

/** A pooled, plain-JSON Kubernetes API client. Create one per process with {@link KubeClient.create}. */
export class KubeClient {
  readonly fieldManager: string;
  private readonly t: Transport;
  private readonly access: ClusterAccess;
  private readonly timeoutMs: number;
  private headers: Promise<http.OutgoingHttpHeaders> | undefined;
  private headersAt = 0;
  /** Requests sent (watches and 429 resends excluded), by `VERB resource[/subresource]`. */
  readonly requestCounts = new Map<string, number>();

  private constructor(access: ClusterAccess, t: Transport, opts: KubeClientOptions) {
    this.access = access;
    this.t = t;
    this.fieldManager = opts.fieldManager ?? "vaultmesh-operator";
    this.timeoutMs = opts.timeoutMs ?? 30000;
  }

  /**
   * Builds a client from cluster access (./kubeconfig.ts) or from a loaded client-node
   * KubeConfig (its current context).
   */
  static async create(
    from: ClusterAccess | ClientNodeKubeConfig,
    opts: KubeClientOptions = {},
  ): Promise<KubeClient> {
    const access = "getCurrentCluster" in from ? await fromClientNodeConfig(from) : from;
    const tls = access.tls;
    const base = new URL(access.server);
    const isHttps = base.protocol === "https:";
    const agentOpts = { keepAlive: true, maxSockets: opts.maxSockets ?? 64, keepAliveMsecs: 30000 };
    const agent = isHttps
      ? new https.Agent({
          ...agentOpts,
          // One secure context for every connection: given ca/cert/key instead, each new
          // socket re-parses the PEMs (3–4 % of the operator's CPU under load, ADR 0102).
          secureContext: createSecureContext({ ca: tls.ca, cert: tls.cert, key: tls.key }),
          ...(tls.rejectUnauthorized !== undefined
            ? { rejectUnauthorized: tls.rejectUnauthorized }
            : {}),
          ...(tls.servername ? { servername: tls.servername } : {}),
        })
      : new http.Agent(agentOpts);
    return new KubeClient(access, { base, agent, mod: isHttps ? https : http }, opts);
  }

  /** Closes pooled connections. */
  close(): void {
    this.t.agent.destroy();
  }

  /**
   * A client that adds `extra` headers (e.g. `Impersonate-User`) to every request and shares
   * this client's connections; closing it closes them too, so close only the original.
   */
  withHeaders(extra: Readonly<Record<string, string | readonly string[]>>): KubeClient {
    const base = this.access;
    const access: ClusterAccess = {
      server: base.server,
      tls: base.tls,
      source: base.source,
      headers: async () => ({ ...(await base.headers()), ...(extra as Record<string, string>) }),
    };
    return new KubeClient(access, this.t, {
      fieldManager: this.fieldManager,
      timeoutMs: this.timeoutMs,
    });
  }

  // Auth headers (bearer tokens may rotate) are refreshed at most every 30 s.
  private async authHeaders(): Promise<http.OutgoingHttpHeaders> {
    const now = Date.now();
    if (!this.headers || now - this.headersAt > 30000) {
      this.headersAt = now;
      this.headers = this.access.headers();
      // A failed read (a token file mid-rotation) is retried on the next request, not cached.
      this.headers.catch(() => {
        this.headers = undefined;
      });
    }
    return await this.headers;
  }

  private async open(
    method: string,
    path: string,
    body: string | undefined,
    contentType: string,
    timeoutMs: number,
  ): Promise<{ res: http.IncomingMessage; req: http.ClientRequest }> {
    const headers = {
      ...(await this.authHeaders()),
      accept: "application/json",
      ...(body !== undefined
        ? { "content-type": contentType, "content-length": Buffer.byteLength(body) }
        : {}),
    };
    const url = new URL(path, this.t.base);
    return await new Promise((resolve, reject) => {
      const req = this.t.mod.request(
        url,
        { method, headers, agent: this.t.agent, timeout: timeoutMs },
        (res) => resolve({ res, req }),
      );
      req.on("timeout", () =>
        req.destroy(new KubeApiError(0, "Timeout", `${method} ${path}: timeout`)),
      );
      req.on("error", (err) =>
        reject(
          err instanceof KubeApiError
            ? err
            : new KubeApiError(0, "Transport", `${method} ${path}: ${err.message}`),
        ),
      );
      req.end(body);
    });
  }

  /** Sends one request and parses the JSON answer; a non-2xx answer throws {@link KubeApiError}. */
  async request<T>(
    method: string,
    path: string,
    body?: unknown,
    contentType = "application/json",
  ): Promise<T> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const kind = `${method} ${resourceOfPath(path)}`;
    this.requestCounts.set(kind, (this.requestCounts.get(kind) ?? 0) + 1);
    let res: http.IncomingMessage;
    let text: string;
    for (let attempt = 1; ; attempt++) {
      ({ res } = await this.open(method, path, payload, contentType, this.timeoutMs));
      const chunks: Buffer[] = [];
      for await (const c of res) chunks.push(c as Buffer);
      text = Buffer.concat(chunks).toString("utf8");
      // 429 means the apiserver did not process the request (priority and fairness, or a
      // watch cache still initializing after a CRD change): safe to resend for any verb, as
      // client-go does, honouring Retry-After.
      if (res.statusCode !== 429 || attempt >= MAX_429_RETRIES) break;
      const after = Number(res.headers["retry-after"]);
      const waitMs = Math.min(
        Number.isFinite(after) && after > 0 ? after * 1000 : 100 * attempt,
        2000,
      );
      await new Promise((r) => setTimeout(r, waitMs));
    }
    const status = res.statusCode ?? 0;
    if (status < 200 || status >= 300) {
      let reason = "Unknown";
      let message = text;
      try {
        const s = JSON.parse(text) as { reason?: string; message?: string };
        reason = s.reason ?? reason;
        message = s.message ?? message;
      } catch {
        // not a Status object; keep the raw text
      }
      throw new KubeApiError(status, reason, `${method} ${path}: ${status} ${message}`);
    }
    return (text ? JSON.parse(text) : undefined) as T;
  }

  private withQuery(
    path: string,
    q: Record<string, string | number | boolean | undefined>,
  ): string {
    const sp = new URLSearchParams();
    for (const [k, v] of Object.entries(q)) if (v !== undefined) sp.set(k, String(v));
    const s = sp.toString();
    return s ? `${path}?${s}` : path;
  }

  /** Reads one object; undefined when it does not exist. */
  async get<T extends KubeObject>(
    t: ResourceType,
    name: string,
    namespace?: string,
  ): Promise<T | undefined> {
    try {
      return await this.request<T>("GET", resourcePath(t, { namespace, name }));
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** Lists one page of objects. */
  async list<T extends KubeObject>(t: ResourceType, o: ListOptions = {}): Promise<ObjectList<T>> {
    const path = this.withQuery(resourcePath(t, { namespace: o.namespace }), {
      labelSelector: o.labelSelector,
      fieldSelector: o.fieldSelector,
      resourceVersion: o.resourceVersion,
      limit: o.limit,
      continue: o.continue,
    });
    return await this.request<ObjectList<T>>("GET", path);
  }

  /** Creates an object (namespace from its metadata). */
  async create<T extends KubeObject>(t: ResourceType, obj: T): Promise<T> {
    const path = this.withQuery(resourcePath(t, { namespace: obj.metadata?.namespace }), {
      fieldManager: this.fieldManager,
    });
    return await this.request<T>("POST", path, obj);
  }

  /** Replaces an object; its metadata.resourceVersion makes the write conditional. */
  async replace<T extends KubeObject>(t: ResourceType, obj: T, subresource?: string): Promise<T> {
    const m = obj.metadata ?? {};
    const path = this.withQuery(
      resourcePath(t, { namespace: m.namespace, name: m.name ?? "", subresource }),
      { fieldManager: this.fieldManager },
    );
    return await this.request<T>("PUT", path, obj);
  }

  /** Replaces the status of an object, guarded by its metadata.resourceVersion (409 when stale). */
  async replaceStatus<T extends KubeObject>(t: ResourceType, obj: T): Promise<T> {
    return await this.replace(t, obj, "status");
  }

  /** Patches an object (or a subresource); server-side apply when `type` is "apply". */
  async patch<T extends KubeObject>(
    t: ResourceType,
    target: { name: string; namespace?: string | undefined; subresource?: string },
    patch: unknown,
    type: PatchType = "merge",
    force = false,
  ): Promise<T> {
    const path = this.withQuery(resourcePath(t, target), {
      fieldManager: this.fieldManager,
      force: type === "apply" && force ? true : undefined,
    });
    return await this.request<T>("PATCH", path, patch, PATCH_CONTENT_TYPE[type]);
  }

  /** Deletes an object; true when it was deleted, false when it did not exist. */
  async delete(
    t: ResourceType,
    target: { name: string; namespace?: string | undefined },
    opts: { propagationPolicy?: "Background" | "Foreground" | "Orphan"; uid?: string } = {},
  ): Promise<boolean> {
    const body = {
      kind: "DeleteOptions",
      apiVersion: "v1",
      ...(opts.propagationPolicy ? { propagationPolicy: opts.propagationPolicy } : {}),
      ...(opts.uid ? { preconditions: { uid: opts.uid } } : {}),
    };
    try {
      await this.request("DELETE", resourcePath(t, target), body);
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  /**
   * Starts a watch from `resourceVersion`, calling `onEvent` per line. The returned `done`
   * resolves when the server closes the stream and rejects on an HTTP error (410 when the
   * version is too old) or a transport failure.
   */
  async watch<T extends KubeObject>(
    t: ResourceType,
    o: ListOptions & { timeoutSeconds?: number },
    onEvent: (e: WatchEvent<T>) => void,
  ): Promise<WatchHandle> {
    const path = this.withQuery(resourcePath(t, { namespace: o.namespace }), {
      watch: true,
      allowWatchBookmarks: true,
      labelSelector: o.labelSelector,
      fieldSelector: o.fieldSelector,
      resourceVersion: o.resourceVersion,
      timeoutSeconds: o.timeoutSeconds ?? 300,
    });
    // The idle timeout is generous: the server closes the stream itself after timeoutSeconds.
    const { res, req } = await this.open(
      "GET",
      path,
      undefined,
      "",
      ((o.timeoutSeconds ?? 300) + 60) * 1000,
    );
    const status = res.statusCode ?? 0;
    if (status !== 200) {
      res.resume();
      req.destroy();
      throw new KubeApiError(
        status,
        status === 410 ? "Expired" : "Unknown",
        `watch ${path}: ${status}`,
      );
    }
    const done = new Promise<void>((resolve, reject) => {
      let buf = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        buf += chunk;
        let nl = buf.indexOf("\n");
        while (nl >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (line.trim()) {
            try {
              onEvent(JSON.parse(line) as WatchEvent<T>);
            } catch (err) {
              req.destroy(err instanceof Error ? err : new Error(String(err)));
            }
          }
          nl = buf.indexOf("\n");
        }
      });
      res.on("end", () => resolve());
      res.on("error", (err) => reject(err));
      res.on("close", () => resolve());
      req.on("error", (err) => reject(err));
    });
    return { done, abort: () => req.destroy() };
  }
}
