/**
 * Where the API server is and how to authenticate to it — read from a kubeconfig or from the
 * in-cluster service account, the way kubectl and client-go do.
 *
 * Why our own loader: @kubernetes/client-node's `KubeConfig` module imports the whole generated
 * API model (about 75 MB of resident memory in a process that never uses it). The operator's
 * goal is ≤ 150 MB with 10k cached objects, so the common cases — client certificates, bearer
 * tokens (also from a rotating token file), basic auth, the in-cluster service account — are
 * read here, and only a user that needs a credential plugin (`exec`, `auth-provider`) loads
 * client-node, lazily, to run it (docs/adr/0025-operator-memory.md).
 */
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { delimiter, dirname, isAbsolute, join, resolve } from "node:path";

/** TLS settings for the connection to the API server (node:https option names). */
export interface ClusterTls {
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
  readonly rejectUnauthorized?: boolean;
  readonly servername?: string;
}

/** What a client needs to reach one API server as one user. */
export interface ClusterAccess {
  /** Base URL, e.g. `https://127.0.0.1:6443`. */
  readonly server: string;
  readonly tls: ClusterTls;
  /** Authentication headers for the next request (tokens may rotate; callers cache briefly). */
  headers(): Promise<Record<string, string>>;
  /** Where this came from, for error messages: a file path or "in-cluster". */
  readonly source: string;
}

/** The subset of @kubernetes/client-node's KubeConfig the fallback uses. */
export interface ClientNodeKubeConfig {
  getCurrentCluster(): {
    server: string;
    skipTLSVerify?: boolean;
    tlsServerName?: string;
  } | null;
  applyToHTTPSOptions(opts: {
    ca?: unknown;
    cert?: unknown;
    key?: unknown;
    headers?: unknown;
    rejectUnauthorized?: boolean;
    servername?: string;
  }): Promise<void>;
}

/** Paths and environment the loader reads (tests point them elsewhere). */
export interface KubeconfigEnv {
  readonly env?: NodeJS.ProcessEnv;
  /** Directory of the in-cluster service account. @default /var/run/secrets/kubernetes.io/serviceaccount */
  readonly serviceAccountDir?: string;
  readonly home?: string;
}

const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

interface NamedCluster {
  server?: string;
  "certificate-authority"?: string;
  "certificate-authority-data"?: string;
  "insecure-skip-tls-verify"?: boolean;
  "tls-server-name"?: string;
}
interface NamedUser {
  "client-certificate"?: string;
  "client-certificate-data"?: string;
  "client-key"?: string;
  "client-key-data"?: string;
  token?: string;
  tokenFile?: string;
  username?: string;
  password?: string;
  exec?: unknown;
  "auth-provider"?: unknown;
}
interface Named<T> {
  name: string;
  /** The file the entry came from: relative paths in it are relative to this file. */
  file: string;
  value: T;
}
interface MergedConfig {
  currentContext: string | undefined;
  contexts: Map<string, Named<{ cluster?: string; user?: string }>>;
  clusters: Map<string, Named<NamedCluster>>;
  users: Map<string, Named<NamedUser>>;
  files: string[];
}

/** A kubeconfig that cannot be used, with the file and the field at fault. */
export class KubeconfigError extends Error {
  override readonly name = "KubeconfigError";
}

/**
 * Loads cluster access the way kubectl does: `path` if given; else every file in $KUBECONFIG
 * (merged, the first file to set a name wins); else `~/.kube/config` if it exists; else the
 * in-cluster service account. `context` overrides the current context.
 */
export async function loadClusterAccess(
  path?: string,
  opts: KubeconfigEnv & { context?: string } = {},
): Promise<ClusterAccess> {
  const env = opts.env ?? process.env;
  let files: string[];
  if (path) files = [path];
  else if (env.KUBECONFIG) files = env.KUBECONFIG.split(delimiter).filter((f) => f !== "");
  else {
    const home = join(opts.home ?? homedir(), ".kube", "config");
    files = readable(home) ? [home] : [];
  }
  if (files.length === 0) return inClusterAccess(opts);
  // The YAML parser loads only for kubeconfig files: an operator in a Pod never needs it.
  const { parse } = await import("yaml");
  const merged = mergeFiles(files, path !== undefined, parse);
  return await accessFor(merged, opts.context);
}

function readable(file: string): boolean {
  try {
    readFileSync(file);
    return true;
  } catch {
    return false;
  }
}

function mergeFiles(
  files: string[],
  mustExist: boolean,
  parseYaml: (text: string) => unknown,
): MergedConfig {
  const m: MergedConfig = {
    currentContext: undefined,
    contexts: new Map(),
    clusters: new Map(),
    users: new Map(),
    files,
  };
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (err) {
      // kubectl skips missing files listed in $KUBECONFIG, but not an explicit --kubeconfig.
      if (!mustExist && (err as NodeJS.ErrnoException).code === "ENOENT") continue;
      throw new KubeconfigError(`kubeconfig ${file}: ${(err as Error).message}`);
    }
    let doc: unknown;
    try {
      doc = parseYaml(text);
    } catch (err) {
      throw new KubeconfigError(`kubeconfig ${file}: not YAML: ${(err as Error).message}`);
    }
    if (doc === null || doc === undefined) continue;
    if (typeof doc !== "object" || Array.isArray(doc)) {
      throw new KubeconfigError(`kubeconfig ${file}: expected a mapping (kind: Config)`);
    }
    const d = doc as Record<string, unknown>;
    if (m.currentContext === undefined && typeof d["current-context"] === "string") {
      m.currentContext = d["current-context"] || undefined;
    }
    addNamed(m.contexts, d.contexts, "context", file);
    addNamed(m.clusters, d.clusters, "cluster", file);
    addNamed(m.users, d.users, "user", file);
  }
  return m;
}

function addNamed<T>(
  into: Map<string, Named<T>>,
  list: unknown,
  field: string,
  file: string,
): void {
  if (list === undefined || list === null) return;
  if (!Array.isArray(list))
    throw new KubeconfigError(`kubeconfig ${file}: ${field}s must be a list`);
  list.forEach((e: unknown, i) => {
    const entry = e as { name?: unknown } & Record<string, unknown>;
    if (typeof entry?.name !== "string" || entry.name === "") {
      throw new KubeconfigError(`kubeconfig ${file}: ${field}s[${i}].name: expected a name`);
    }
    const value = entry[field];
    if (value !== undefined && (typeof value !== "object" || value === null)) {
      throw new KubeconfigError(`kubeconfig ${file}: ${field}s[${i}].${field}: expected a mapping`);
    }
    if (!into.has(entry.name))
      into.set(entry.name, { name: entry.name, file, value: (value ?? {}) as T });
  });
}

interface Resolved {
  readonly contextName: string;
  readonly context: Named<{ cluster?: string; user?: string }>;
  readonly cluster: Named<NamedCluster>;
  readonly user: Named<NamedUser> | undefined;
}

function resolveContext(m: MergedConfig, contextOverride?: string): Resolved {
  const where = m.files.join(delimiter);
  const contextName = contextOverride ?? m.currentContext;
  if (!contextName) throw new KubeconfigError(`kubeconfig ${where}: current-context is not set`);
  const context = m.contexts.get(contextName);
  if (!context) {
    throw new KubeconfigError(`kubeconfig ${where}: context "${contextName}" not found`);
  }
  const clusterName = context.value.cluster ?? "";
  const cluster = m.clusters.get(clusterName);
  if (!cluster) {
    throw new KubeconfigError(
      `kubeconfig ${context.file}: context "${contextName}": cluster "${clusterName}" not found`,
    );
  }
  if (!cluster.value.server) {
    throw new KubeconfigError(
      `kubeconfig ${cluster.file}: clusters[${cluster.name}].server: expected a URL`,
    );
  }
  const userName = context.value.user;
  const user = userName ? m.users.get(userName) : undefined;
  if (userName && !user) {
    throw new KubeconfigError(
      `kubeconfig ${context.file}: context "${contextName}": user "${userName}" not found`,
    );
  }
  return { contextName, context, cluster, user };
}

/** `<field>-data` (base64) or `<field>` (a path relative to the entry's file) of an entry. */
function material(owner: Named<object>, kind: string, field: string): Buffer | undefined {
  const v = owner.value as Record<string, unknown>;
  const inline = v[`${field}-data`];
  const path = v[field];
  if (typeof inline === "string" && inline !== "") {
    const buf = Buffer.from(inline, "base64");
    if (buf.length === 0) {
      throw new KubeconfigError(
        `kubeconfig ${owner.file}: ${kind}s[${owner.name}].${field}-data: expected base64 data`,
      );
    }
    return buf;
  }
  if (typeof path !== "string" || path === "") return undefined;
  const full = isAbsolute(path) ? path : resolve(dirname(owner.file), path);
  try {
    return readFileSync(full);
  } catch (err) {
    throw new KubeconfigError(
      `kubeconfig ${owner.file}: ${kind}s[${owner.name}].${field}: cannot read ${full}: ${(err as Error).message}`,
    );
  }
}

function tlsOf(cluster: Named<NamedCluster>, user: Named<NamedUser> | undefined): ClusterTls {
  const ca = material(cluster, "cluster", "certificate-authority");
  const cert = user ? material(user, "user", "client-certificate") : undefined;
  const key = user ? material(user, "user", "client-key") : undefined;
  if ((cert === undefined) !== (key === undefined)) {
    throw new KubeconfigError(
      `kubeconfig ${user?.file ?? ""}: users[${user?.name ?? ""}]: client-certificate and client-key go together`,
    );
  }
  const c = cluster.value;
  return {
    ...(ca ? { ca } : {}),
    ...(cert && key ? { cert, key } : {}),
    ...(c["insecure-skip-tls-verify"] ? { rejectUnauthorized: false } : {}),
    ...(c["tls-server-name"] ? { servername: c["tls-server-name"] } : {}),
  };
}

function headersOf(user: Named<NamedUser> | undefined): () => Promise<Record<string, string>> {
  const u = user?.value ?? {};
  let h: Record<string, string> = {};
  if (u.token) h = { authorization: `Bearer ${u.token}` };
  else if (u.tokenFile && user) {
    const file = isAbsolute(u.tokenFile) ? u.tokenFile : resolve(dirname(user.file), u.tokenFile);
    const field = `users[${user.name}].tokenFile`;
    return () => Promise.resolve(bearerFromFile(file, field));
  } else if (u.username !== undefined && u.password !== undefined) {
    h = { authorization: `Basic ${Buffer.from(`${u.username}:${u.password}`).toString("base64")}` };
  }
  return () => Promise.resolve(h);
}

async function accessFor(m: MergedConfig, contextOverride?: string): Promise<ClusterAccess> {
  const r = resolveContext(m, contextOverride);
  const u = r.user?.value ?? {};
  if (u.exec !== undefined || u["auth-provider"] !== undefined) {
    // Credential plugins (exec, auth-provider) are client-node's: load it only for them.
    const k8s = await import("@kubernetes/client-node");
    const kc = new k8s.KubeConfig();
    if (m.files.length === 1) kc.loadFromFile(m.files[0] as string);
    else kc.loadFromDefault(); // the same $KUBECONFIG list, merged by client-node
    kc.setCurrentContext(r.contextName);
    return await fromClientNodeConfig(kc, r.context.file);
  }
  return {
    server: r.cluster.value.server as string,
    tls: tlsOf(r.cluster, r.user),
    headers: headersOf(r.user),
    source: r.context.file,
  };
}

// A token file is read again on every call: kubelet rotates projected service account tokens.
function bearerFromFile(path: string, field: string): Record<string, string> {
  let token: string;
  try {
    token = readFileSync(path, "utf8").trim();
  } catch (err) {
    throw new KubeconfigError(`${field}: cannot read ${path}: ${(err as Error).message}`);
  }
  if (!token) throw new KubeconfigError(`${field}: ${path} is empty`);
  return { authorization: `Bearer ${token}` };
}

/** The in-cluster service account: $KUBERNETES_SERVICE_HOST/PORT, its token and CA. */
export function inClusterAccess(opts: KubeconfigEnv = {}): ClusterAccess {
  const env = opts.env ?? process.env;
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) {
    throw new KubeconfigError(
      "no kubeconfig: set KUBECONFIG, create ~/.kube/config, or run in a Pod " +
        "(KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set)",
    );
  }
  const dir = opts.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  const tokenFile = join(dir, "token");
  let ca: Buffer;
  try {
    ca = readFileSync(join(dir, "ca.crt"));
  } catch (err) {
    throw new KubeconfigError(
      `in-cluster: cannot read ${join(dir, "ca.crt")}: ${(err as Error).message}`,
    );
  }
  bearerFromFile(tokenFile, "in-cluster token"); // fail at start-up, not on the first request
  const server = `https://${host.includes(":") ? `[${host}]` : host}:${port}`;
  return {
    server,
    tls: { ca },
    headers: () => Promise.resolve(bearerFromFile(tokenFile, "in-cluster token")),
    source: "in-cluster",
  };
}

/** Wraps a loaded @kubernetes/client-node KubeConfig (credential plugins, tests that hold one). */
export async function fromClientNodeConfig(
  kc: ClientNodeKubeConfig,
  source = "kubeconfig",
): Promise<ClusterAccess> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new KubeconfigError(`${source}: kubeconfig has no current cluster`);
  const o: {
    ca?: Buffer;
    cert?: Buffer;
    key?: Buffer;
    headers?: Record<string, string>;
    rejectUnauthorized?: boolean;
    servername?: string;
  } = {};
  await kc.applyToHTTPSOptions(o);
  const tls: ClusterTls = {
    ...(o.ca ? { ca: o.ca } : {}),
    ...(o.cert ? { cert: o.cert } : {}),
    ...(o.key ? { key: o.key } : {}),
    ...(o.rejectUnauthorized !== undefined ? { rejectUnauthorized: o.rejectUnauthorized } : {}),
    ...(o.servername ? { servername: o.servername } : {}),
  };
  return {
    server: cluster.server,
    tls,
    source,
    headers: async () => {
      const h: { headers?: Record<string, string> } = {};
      await kc.applyToHTTPSOptions(h);
      return { ...(h.headers ?? {}) };
    },
  };
}
