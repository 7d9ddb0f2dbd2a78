/**
 * Pure resolution of a Pod's container into what a process needs, the way the kubelet and a
 * container runtime decide it: argv (command/args over the image's Entrypoint/Cmd, with
 * `$(VAR)` expansion), the environment (image Env, envFrom, env with fieldRef,
 * resourceFieldRef, secretKeyRef and configMapKeyRef), the working directory and the identity
 * (runAsUser/runAsGroup over the image User, runAsNonRoot enforced). No I/O: Secrets and
 * ConfigMaps come in through {@link ObjectData}.
 */
import type { Container, EnvVar, ImageConfig, KeySelector, Pod } from "./pod-types.ts";

/** The data of the Secrets and ConfigMaps a Pod references, by name (Secret values decoded). */
export interface ObjectData {
  readonly secrets: ReadonlyMap<string, Readonly<Record<string, string>>>;
  readonly configMaps: ReadonlyMap<string, Readonly<Record<string, string>>>;
}

/** A Pod spec the runner cannot honour, naming the field at fault and what was expected. */
export class PodSpecError extends Error {
  override readonly name = "PodSpecError";
}

/**
 * Expands `$(VAR)` references the way Kubernetes does: a defined variable is replaced, an
 * undefined one is left as written, and `$$` is an escaped `$`.
 */
export function expandVars(input: string, vars: ReadonlyMap<string, string>): string {
  let out = "";
  for (let i = 0; i < input.length; i++) {
    const c = input[i];
    if (c !== "$" || i + 1 >= input.length) {
      out += c;
      continue;
    }
    const next = input[i + 1];
    if (next === "$") {
      out += "$";
      i++;
    } else if (next === "(") {
      const end = input.indexOf(")", i + 2);
      if (end < 0) {
        out += input.slice(i);
        break;
      }
      const name = input.slice(i + 2, end);
      const v = vars.get(name);
      out += v ?? `$(${name})`;
      i = end;
    } else {
      out += c;
    }
  }
  return out;
}

/** Reads a downward-API field of a Pod (`metadata.name`, `metadata.labels['k']`, …). */
export function podField(pod: Pod, fieldPath: string, where: string): string {
  const m = /^metadata\.(labels|annotations)\['([^']+)'\]$/.exec(fieldPath);
  if (m) {
    const map = m[1] === "labels" ? pod.metadata.labels : pod.metadata.annotations;
    return map?.[m[2] ?? ""] ?? "";
  }
  const fields: Record<string, string | undefined> = {
    "metadata.name": pod.metadata.name,
    "metadata.namespace": pod.metadata.namespace,
    "metadata.uid": pod.metadata.uid,
    "spec.nodeName": pod.spec.nodeName,
    "spec.serviceAccountName": pod.spec.serviceAccountName ?? "default",
    "status.podIP": pod.status?.podIP,
    "status.podIPs": pod.status?.podIP,
    "status.hostIP": pod.status?.hostIP,
  };
  if (!(fieldPath in fields)) {
    throw new PodSpecError(
      `${where}.fieldPath: "${fieldPath}" is not supported (expected metadata.name, metadata.namespace, metadata.uid, metadata.labels['…'], metadata.annotations['…'], spec.nodeName, spec.serviceAccountName, status.podIP or status.hostIP)`,
    );
  }
  return fields[fieldPath] ?? "";
}

const BINARY_SUFFIX: Record<string, number> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
};
const DECIMAL_SUFFIX: Record<string, number> = { m: 1e-3, "": 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12 };

/** Parses a Kubernetes quantity ("512Mi", "250m", "2") into a number, or throws naming `where`. */
export function parseQuantity(q: string | number, where: string): number {
  if (typeof q === "number") return q;
  const m = /^([0-9.]+)(Ki|Mi|Gi|Ti|m|k|M|G|T)?$/.exec(q.trim());
  const unit = m?.[2] ?? "";
  const factor = BINARY_SUFFIX[unit] ?? DECIMAL_SUFFIX[unit];
  if (!m || factor === undefined || Number.isNaN(Number(m[1]))) {
    throw new PodSpecError(`${where}: "${q}" is not a quantity (expected e.g. 512Mi, 250m, 2)`);
  }
  return Number(m[1]) * factor;
}

function resourceField(
  c: Container,
  ref: NonNullable<NonNullable<EnvVar["valueFrom"]>["resourceFieldRef"]>,
  where: string,
): string {
  const [kind, res] = ref.resource.split(".");
  const table = kind === "limits" ? c.resources?.limits : c.resources?.requests;
  if ((kind !== "limits" && kind !== "requests") || (res !== "cpu" && res !== "memory")) {
    throw new PodSpecError(
      `${where}.resource: "${ref.resource}" is not supported (expected limits.cpu, limits.memory, requests.cpu or requests.memory)`,
    );
  }
  const raw = table?.[res];
  if (raw === undefined) return "0";
  const value = parseQuantity(raw, `${where} (${ref.resource})`);
  const divisor = parseQuantity(ref.divisor ?? 1, `${where}.divisor`);
  return String(Math.ceil(value / divisor));
}

function keyRef(
  sel: KeySelector,
  source: ReadonlyMap<string, Readonly<Record<string, string>>>,
  kind: string,
  where: string,
): string | undefined {
  const data = source.get(sel.name);
  const v = data?.[sel.key];
  if (v !== undefined) return v;
  if (sel.optional) return undefined;
  throw new PodSpecError(
    data
      ? `${where}: ${kind} "${sel.name}" has no key "${sel.key}" (keys: ${Object.keys(data).join(", ") || "none"})`
      : `${where}: ${kind} "${sel.name}" does not exist (create it before the pod starts, or mark the reference optional)`,
  );
}

function envValue(
  pod: Pod,
  c: Container,
  e: EnvVar,
  ctx: {
    readonly data: ObjectData;
    readonly vars: ReadonlyMap<string, string>;
    readonly where: string;
  },
): string | undefined {
  const from = e.valueFrom;
  if (!from) return expandVars(e.value ?? "", ctx.vars);
  const w = `${ctx.where}.valueFrom`;
  if (from.fieldRef) return podField(pod, from.fieldRef.fieldPath, `${w}.fieldRef`);
  if (from.resourceFieldRef)
    return resourceField(c, from.resourceFieldRef, `${w}.resourceFieldRef`);
  if (from.secretKeyRef)
    return keyRef(from.secretKeyRef, ctx.data.secrets, "Secret", `${w}.secretKeyRef`);
  if (from.configMapKeyRef) {
    return keyRef(from.configMapKeyRef, ctx.data.configMaps, "ConfigMap", `${w}.configMapKeyRef`);
  }
  throw new PodSpecError(
    `${w}: expected one of fieldRef, resourceFieldRef, secretKeyRef, configMapKeyRef`,
  );
}

/**
 * The environment of container `c` in order of precedence, later wins: the image's Env,
 * `extra` (what the kubelet adds: KUBERNETES_SERVICE_HOST/PORT), envFrom, then env.
 */
export function resolveEnv(
  pod: Pod,
  c: Container,
  image: ImageConfig,
  data: ObjectData,
  extra: Readonly<Record<string, string>> = {},
): Map<string, string> {
  const vars = new Map<string, string>();
  for (const kv of image.env) {
    const i = kv.indexOf("=");
    if (i > 0) vars.set(kv.slice(0, i), kv.slice(i + 1));
  }
  for (const [k, v] of Object.entries(extra)) vars.set(k, v);
  const base = `spec.containers[${c.name}]`;
  (c.envFrom ?? []).forEach((src, i) => {
    const where = `${base}.envFrom[${i}]`;
    const ref = src.secretRef ?? src.configMapRef;
    const table = src.secretRef ? data.secrets : data.configMaps;
    if (!ref) throw new PodSpecError(`${where}: expected secretRef or configMapRef`);
    const values = table.get(ref.name);
    if (!values) {
      if (ref.optional) return;
      throw new PodSpecError(
        `${where}: ${src.secretRef ? "Secret" : "ConfigMap"} "${ref.name}" does not exist`,
      );
    }
    for (const [k, v] of Object.entries(values)) vars.set(`${src.prefix ?? ""}${k}`, v);
  });
  (c.env ?? []).forEach((e, i) => {
    const v = envValue(pod, c, e, { data, vars, where: `${base}.env[${i}] (${e.name})` });
    if (v !== undefined) vars.set(e.name, v);
  });
  return vars;
}

/**
 * The argv of container `c`: `command` replaces the image Entrypoint and drops its Cmd;
 * `args` replaces Cmd; `$(VAR)` references expand against the container's environment.
 */
export function resolveArgv(
  c: Container,
  image: ImageConfig,
  env: ReadonlyMap<string, string>,
): string[] {
  const entry = c.command ?? image.entrypoint ?? [];
  const args = c.args ?? (c.command ? [] : (image.cmd ?? []));
  const argv = [...entry, ...args].map((a) => expandVars(a, env));
  if (argv.length === 0) {
    throw new PodSpecError(
      `spec.containers[${c.name}]: no command (neither command/args nor the image's Entrypoint/Cmd)`,
    );
  }
  return argv;
}

/** Who the container's process runs as, and under which restrictions. */
export interface ProcessIdentity {
  readonly uid: number;
  readonly gid: number;
  /** Supplementary groups: the primary gid, fsGroup, supplementalGroups. */
  readonly groups: readonly number[];
  readonly readOnlyRootFilesystem: boolean;
  /** allowPrivilegeEscalation false → the no_new_privs bit. */
  readonly noNewPrivileges: boolean;
}

function imageUser(user: string | undefined): { uid?: number; gid?: number } {
  if (!user) return {};
  const [u, g] = user.split(":");
  const uid = /^\d+$/.test(u ?? "") ? Number(u) : undefined;
  const gid = g !== undefined && /^\d+$/.test(g) ? Number(g) : undefined;
  if (uid === undefined && u) {
    throw new PodSpecError(
      `image config User: "${user}" is not numeric (the runner has no /etc/passwd of the image to read; expected e.g. 65532:65532)`,
    );
  }
  return { ...(uid !== undefined ? { uid } : {}), ...(gid !== undefined ? { gid } : {}) };
}

/**
 * The identity of container `c`: the container's securityContext over the Pod's over the
 * image's User. runAsNonRoot with a resolved UID 0 is refused, as the kubelet refuses it.
 */
export function resolveIdentity(pod: Pod, c: Container, image: ImageConfig): ProcessIdentity {
  const podSc = pod.spec.securityContext ?? {};
  const sc = c.securityContext ?? {};
  const img = imageUser(image.user);
  const uid = sc.runAsUser ?? podSc.runAsUser ?? img.uid ?? 0;
  const gid = sc.runAsGroup ?? podSc.runAsGroup ?? img.gid ?? 0;
  const nonRoot = sc.runAsNonRoot ?? podSc.runAsNonRoot ?? false;
  if (nonRoot && uid === 0) {
    throw new PodSpecError(
      `spec.containers[${c.name}].securityContext.runAsNonRoot: the container would run as UID 0 (set runAsUser, or an image User that is not root)`,
    );
  }
  if (sc.privileged) {
    throw new PodSpecError(
      `spec.containers[${c.name}].securityContext.privileged: privileged containers are not supported`,
    );
  }
  const groups = [
    gid,
    ...(podSc.fsGroup !== undefined ? [podSc.fsGroup] : []),
    ...(podSc.supplementalGroups ?? []),
  ];
  return {
    uid,
    gid,
    groups: [...new Set(groups)],
    readOnlyRootFilesystem: sc.readOnlyRootFilesystem ?? false,
    noNewPrivileges: sc.allowPrivilegeEscalation === false,
  };
}

/** The container named `name` of `pod` (the first one when no name is given). */
export function containerOf(pod: Pod, name?: string): Container {
  const c = name ? pod.spec.containers.find((x) => x.name === name) : pod.spec.containers[0];
  if (!c) {
    throw new PodSpecError(
      `spec.containers: no container ${name ? `"${name}"` : ""} in pod ${pod.metadata.namespace}/${pod.metadata.name} (has ${pod.spec.containers.map((x) => x.name).join(", ")})`,
    );
  }
  return c;
}

/** The container port named or numbered `port`, for probes and Service targetPorts. */
export function containerPort(c: Container, port: number | string): number {
  if (typeof port === "number") return port;
  if (/^\d+$/.test(port)) return Number(port);
  const p = c.ports?.find((x) => x.name === port);
  if (!p) {
    throw new PodSpecError(
      `spec.containers[${c.name}].ports: no port named "${port}" (has ${(c.ports ?? []).map((x) => x.name ?? x.containerPort).join(", ") || "none"})`,
    );
  }
  return p.containerPort;
}
