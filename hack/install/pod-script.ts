/**
 * The shell script that sets up one pod's sandbox inside `unshare --mount --pid --uts --fork`
 * and starts its container (ADR 0067): the image rootfs as the lower layer of an overlay (so
 * mount points can be created without touching the unpacked image), the pod's volumes
 * bind-mounted at their mountPaths (read-only where the kubelet mounts them read-only), /proc,
 * a minimal /dev, /etc/hosts and the hostname, the root remounted read-only when the container
 * asks for readOnlyRootFilesystem; then the process under setpriv (gid, groups, no_new_privs,
 * no inheritable capabilities) and `unshare --root --wd --setuid` (chroot(2), chdir(2),
 * setuid(2): the UID change drops every capability). The script stays as PID 1 of the pod's
 * PID namespace and forwards SIGTERM, with a SIGKILL after the grace period.
 */
import { posix } from "node:path";
import type { ProcessIdentity } from "./pod-spec.ts";

/** A bind mount into the container's root. */
export interface BindMount {
  /** Host path (a volume directory, a file inside one, or a generated file). */
  readonly source: string;
  /** Absolute path inside the container. */
  readonly target: string;
  readonly readOnly: boolean;
  /** The source is a file (mounted over a file, not a directory). */
  readonly file?: boolean;
}

/** Everything the script needs; paths are absolute host paths. */
export interface SandboxPlan {
  readonly rootfs: string;
  /** The pod's directory on a tmpfs: root/, upper/ and work/ are created in it. */
  readonly podDir: string;
  readonly hostname: string;
  readonly mounts: readonly BindMount[];
  readonly identity: ProcessIdentity;
  readonly workingDir: string;
  readonly argv: readonly string[];
  /** Names of the container's environment variables (the script runs with exactly those). */
  readonly envNames: readonly string[];
  readonly graceSeconds: number;
  /** Absolute paths of the host tools (mount, mkdir, touch, ln, setpriv, unshare, sleep). */
  readonly tools: Readonly<Record<SandboxTool, string>>;
}

/** The host tools the script runs, resolved by the runner (the container's PATH is in force). */
export type SandboxTool = "mount" | "mkdir" | "touch" | "ln" | "setpriv" | "unshare" | "sleep";

/** Quotes a string for POSIX sh. */
export function shellQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

const DEVICES = ["null", "zero", "full", "random", "urandom", "tty"] as const;

function mountLines(p: SandboxPlan, q: (s: string) => string): string[] {
  const t = p.tools;
  const lines: string[] = [];
  for (const m of p.mounts) {
    const at = q(`${p.podDir}/root${m.target}`);
    const parent = q(`${p.podDir}/root${posix.dirname(m.target)}`);
    lines.push(m.file ? `${t.mkdir} -p ${parent}; ${t.touch} ${at}` : `${t.mkdir} -p ${at}`);
    lines.push(`${t.mount} --bind ${q(m.source)} ${at}`);
    if (m.readOnly) lines.push(`${t.mount} -o remount,bind,ro ${at}`);
  }
  return lines;
}

/** Renders the sandbox script for `plan` (pure). */
export function sandboxScript(p: SandboxPlan): string {
  const q = shellQuote;
  const t = p.tools;
  const root = `${p.podDir}/root`;
  const R = q(root);
  const id = p.identity;
  const setpriv = [
    t.setpriv,
    `--regid=${id.gid}`,
    `--groups=${id.groups.join(",")}`,
    ...(id.noNewPrivileges ? ["--no-new-privs"] : []),
    "--inh-caps=-all",
    // unshare needs CAP_SYS_CHROOT and CAP_SETUID for --root and --setuid; the UID change
    // that follows clears every capability of the container's process.
    "--bounding-set=-all,+sys_chroot,+setuid",
    "--",
  ];
  const enter = [t.unshare, `--root=${root}`, `--wd=${p.workingDir}`, `--setuid=${id.uid}`, "--"];
  const exec = [...setpriv, ...enter, ...p.argv].map((a, i) => (i < setpriv.length ? a : q(a)));
  return [
    "set -eu",
    `${t.mkdir} -p ${R} ${q(`${p.podDir}/upper`)} ${q(`${p.podDir}/work`)}`,
    `${t.mount} --make-rprivate /`,
    `${t.mount} -t overlay overlay -o ${q(`lowerdir=${p.rootfs},upperdir=${p.podDir}/upper,workdir=${p.podDir}/work`)} ${R}`,
    // A bind mount of the root onto itself: its read-only flag is per mount, not per overlay.
    `${t.mount} --bind ${R} ${R}`,
    `${t.mkdir} -p ${R}/proc ${R}/dev ${R}/etc`,
    `${t.mount} -t proc -o nosuid,nodev,noexec proc ${R}/proc`,
    `${t.mount} -t tmpfs -o mode=755,nosuid,size=1m tmpfs ${R}/dev`,
    ...DEVICES.map((d) => `${t.touch} ${R}/dev/${d}; ${t.mount} --bind /dev/${d} ${R}/dev/${d}`),
    `${t.ln} -s /proc/self/fd ${R}/dev/fd`,
    `${t.mkdir} -p ${R}/dev/shm; ${t.mount} -t tmpfs -o mode=1777,nosuid,nodev,size=64m tmpfs ${R}/dev/shm`,
    ...mountLines(p, q),
    ...(id.readOnlyRootFilesystem ? [`${t.mount} -o remount,bind,ro ${R}`] : []),
    `echo ${q(p.hostname)} > /proc/sys/kernel/hostname`,
    // The shell exports PWD (and OLDPWD after a cd); the container gets only its own variables.
    ...["PWD", "OLDPWD"].filter((v) => !p.envNames.includes(v)).map((v) => `unset ${v}`),
    "child=",
    `trap 'kill -TERM $child 2>/dev/null; (${t.sleep} ${p.graceSeconds}; kill -KILL $child 2>/dev/null) &' TERM INT`,
    `${exec.join(" ")} &`,
    "child=$!",
    // `wait` returns early when a trapped signal arrives; wait again for the real exit.
    "rc=0",
    'wait "$child" || rc=$?',
    'while kill -0 "$child" 2>/dev/null; do rc=0; wait "$child" || rc=$?; done',
    'exit "$rc"',
    "",
  ].join("\n");
}
