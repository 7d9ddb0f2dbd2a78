/**
 * A userspace Service proxy for the install test (ADR 0066), what kube-proxy's old userspace
 * mode did: for every Service whose ClusterIP is a loopback address (the test cluster's
 * service CIDR is 127.0.96.0/24), a TCP listener on ClusterIP:port that forwards each
 * connection to a ready local pod the Service's selector matches, at the container port its
 * targetPort names. Where that container port equals the Service port, the pod's own
 * wildcard listener on the shared loopback already answers at ClusterIP:port and no listener
 * is opened. The API server reaches webhook Services by ClusterIP, as in a real cluster;
 * nothing listens on, or connects to, a non-loopback address.
 */
import { createServer, connect, type Server, type Socket } from "node:net";
import type { KubeClient, KubeObject, ResourceType } from "../../services/kube/index.ts";

const SERVICE: ResourceType = {
  group: "",
  version: "v1",
  kind: "Service",
  plural: "services",
  namespaced: true,
};

/** A pod the proxy may forward to. */
export interface ProxyBackend {
  readonly namespace: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  /** The container port a targetPort (name or number) names; undefined if none. */
  port(target: number | string): number | undefined;
  /** The last readiness probe result. */
  ready(): boolean;
}

interface ServicePort {
  readonly port: number;
  readonly targetPort?: number | string;
  readonly protocol?: string;
}

interface Service extends KubeObject {
  spec?: {
    clusterIP?: string;
    selector?: Record<string, string>;
    ports?: ServicePort[];
  };
}

/** True when `ip` is an IPv4 loopback address (127.0.0.0/8). */
export function isLoopback(ip: string | undefined): boolean {
  return ip !== undefined && /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(ip);
}

/** True when every selector label is on `labels` (an empty selector selects nothing, as for Services). */
export function selects(
  selector: Readonly<Record<string, string>> | undefined,
  labels: Readonly<Record<string, string>>,
): boolean {
  const entries = Object.entries(selector ?? {});
  return entries.length > 0 && entries.every(([k, v]) => labels[k] === v);
}

interface Listener {
  readonly server: Server;
  namespace: string;
  selector: Record<string, string>;
  targetPort: number | string;
  next: number;
}

/** A running proxy: `sync()` follows the Services, `close()` stops every listener. */
export interface ServiceProxy {
  /** Opens listeners for new Services, closes those of deleted ones. */
  sync(): Promise<void>;
  /** ClusterIP:port pairs listened on. */
  listening(): string[];
  /** Connections forwarded so far, by "namespace/service:port". */
  readonly forwarded: Map<string, number>;
  close(): Promise<void>;
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host, port }, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

/** Joins `client` to a new connection to 127.0.0.1:`port`; both are tracked in `sockets`. */
function splice(client: Socket, port: number, sockets: Set<Socket>): void {
  const upstream = connect({ host: "127.0.0.1", port });
  sockets.add(upstream);
  upstream.on("close", () => sockets.delete(upstream));
  client.pipe(upstream).pipe(client);
  const fail = (): void => {
    client.destroy();
    upstream.destroy();
  };
  client.on("error", fail);
  upstream.on("error", fail);
}

/** The container port `p` resolves to on a ready-or-not backend of `svc`, if any runs yet. */
function resolveTarget(
  backends: readonly ProxyBackend[],
  svc: Service,
  p: ServicePort,
): number | undefined {
  const target = p.targetPort ?? p.port;
  if (typeof target === "number") return target;
  const ns = svc.metadata?.namespace ?? "default";
  for (const b of backends) {
    if (b.namespace !== ns || !selects(svc.spec?.selector, b.labels)) continue;
    const port = b.port(target);
    if (port !== undefined) return port;
  }
  return undefined;
}

/** The ClusterIP:port pairs to listen on, with their Service and port. */
async function wanted(opts: {
  readonly client: KubeClient;
  readonly namespaces: readonly string[];
  readonly backends: () => readonly ProxyBackend[];
}): Promise<Map<string, { svc: Service; p: ServicePort }>> {
  const want = new Map<string, { svc: Service; p: ServicePort }>();
  for (const ns of opts.namespaces) {
    const list = await opts.client.list<Service>(SERVICE, { namespace: ns });
    for (const svc of list.items) {
      const ip = svc.spec?.clusterIP;
      if (!isLoopback(ip)) continue;
      for (const p of svc.spec?.ports ?? []) {
        if ((p.protocol ?? "TCP") !== "TCP") continue;
        // On the shared host network a pod listening on 0.0.0.0:<port> already answers on
        // ClusterIP:<port>; a listener of ours there would take the pod's port. A named
        // targetPort waits until a pod exists to name it.
        const target = resolveTarget(opts.backends(), svc, p);
        if (target !== undefined && target !== p.port) want.set(`${ip}:${p.port}`, { svc, p });
      }
    }
  }
  return want;
}

/**
 * Starts a proxy for the Services of `namespaces`, forwarding to `backends()`; `sync()` runs
 * every `intervalMs` until closed.
 */
export function startServiceProxy(opts: {
  readonly client: KubeClient;
  readonly namespaces: readonly string[];
  readonly backends: () => readonly ProxyBackend[];
  readonly log?: (msg: string) => void;
  readonly intervalMs?: number;
}): ServiceProxy {
  const listeners = new Map<string, Listener>();
  const sockets = new Set<Socket>();
  const forwarded = new Map<string, number>();
  const log = opts.log ?? (() => {});

  const onConnection = (key: string, l: Listener, client: Socket): void => {
    sockets.add(client);
    client.on("close", () => sockets.delete(client));
    const ready = opts
      .backends()
      .filter((b) => b.namespace === l.namespace && selects(l.selector, b.labels) && b.ready());
    const b = ready[l.next++ % Math.max(ready.length, 1)];
    const port = b?.port(l.targetPort);
    if (!b || port === undefined) {
      log(`${key}: no ready endpoint; connection refused`);
      client.destroy();
      return;
    }
    forwarded.set(key, (forwarded.get(key) ?? 0) + 1);
    splice(client, port, sockets);
  };

  const open = async (addr: string, svc: Service, p: ServicePort): Promise<void> => {
    const selector = svc.spec?.selector ?? {};
    const targetPort = p.targetPort ?? p.port;
    const namespace = svc.metadata?.namespace ?? "default";
    const existing = listeners.get(addr);
    if (existing) {
      Object.assign(existing, { selector, targetPort, namespace });
      return;
    }
    const key = `${namespace}/${svc.metadata?.name ?? ""}:${p.port}`;
    const server = createServer();
    const l: Listener = { server, namespace, selector, targetPort, next: 0 };
    server.on("connection", (s) => onConnection(key, l, s));
    await listen(server, svc.spec?.clusterIP ?? "", p.port);
    listeners.set(addr, l);
    log(`${key} on ${addr} → targetPort ${String(targetPort)}`);
  };

  const sync = async (): Promise<void> => {
    const want = await wanted(opts);
    for (const [addr, l] of listeners) {
      if (!want.has(addr)) {
        listeners.delete(addr);
        l.server.close();
        log(`stopped ${addr}`);
      }
    }
    for (const [addr, { svc, p }] of want) await open(addr, svc, p);
  };

  let syncing: Promise<void> | undefined;
  const tick = (): void => {
    syncing ??= sync()
      .catch((err: unknown) => log(`sync failed: ${(err as Error).message}`))
      .finally(() => (syncing = undefined));
  };
  const timer = setInterval(tick, opts.intervalMs ?? 1000);
  timer.unref();

  return {
    sync,
    forwarded,
    listening: () => [...listeners.keys()],
    async close() {
      clearInterval(timer);
      await syncing;
      for (const s of sockets) s.destroy();
      await Promise.all(
        [...listeners.values()].map((l) => new Promise<void>((r) => l.server.close(() => r()))),
      );
      listeners.clear();
    },
  };
}
