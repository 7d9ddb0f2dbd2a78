import { describe, expect, it } from "@jest/globals";
import { sandboxScript, shellQuote, type SandboxPlan } from "./pod-script.ts";

const tools = {
  mount: "/bin/mount",
  mkdir: "/bin/mkdir",
  touch: "/bin/touch",
  ln: "/bin/ln",
  setpriv: "/usr/bin/setpriv",
  unshare: "/usr/bin/unshare",
  sleep: "/bin/sleep",
};

const plan = (over: Partial<SandboxPlan> = {}): SandboxPlan => ({
  rootfs: "/img/rootfs",
  podDir: "/dev/shm/p",
  hostname: "op-1",
  mounts: [
    { source: "/dev/shm/p/volumes/keys", target: "/etc/vaultmesh/signing", readOnly: true },
    { source: "/dev/shm/p/volumes/tmp", target: "/tmp", readOnly: false },
    { source: "/dev/shm/p/hosts", target: "/etc/hosts", readOnly: true, file: true },
  ],
  identity: {
    uid: 65532,
    gid: 65532,
    groups: [65532, 2000],
    readOnlyRootFilesystem: true,
    noNewPrivileges: true,
  },
  workingDir: "/app",
  argv: ["node", "operator/main.ts", "it's"],
  envNames: ["PATH"],
  graceSeconds: 30,
  tools,
  ...over,
});

describe("shellQuote", () => {
  it.each([
    ["plain", "'plain'"],
    ["it's", "'it'\\''s'"],
    ["$(rm -rf /)", "'$(rm -rf /)'"],
  ])("%s → %s", (s, want) => {
    expect(shellQuote(s)).toBe(want);
  });
});

describe("sandboxScript", () => {
  const script = sandboxScript(plan());
  const lines = script.split("\n");
  const at = (needle: string): number => lines.findIndex((l) => l.includes(needle));

  it("builds the root as an overlay over the image and bind-mounts the volumes into it", () => {
    expect(script).toContain(
      "/bin/mount -t overlay overlay -o 'lowerdir=/img/rootfs,upperdir=/dev/shm/p/upper,workdir=/dev/shm/p/work' '/dev/shm/p/root'",
    );
    expect(script).toContain(
      "/bin/mount --bind '/dev/shm/p/volumes/keys' '/dev/shm/p/root/etc/vaultmesh/signing'",
    );
    expect(script).toContain(
      "/bin/mount -o remount,bind,ro '/dev/shm/p/root/etc/vaultmesh/signing'",
    );
    expect(script).not.toContain("remount,bind,ro '/dev/shm/p/root/tmp'");
    expect(script).toContain("/bin/touch '/dev/shm/p/root/etc/hosts'");
  });

  it("remounts the root read-only after the mount points exist, then drops privileges", () => {
    const ro = at("/bin/mount -o remount,bind,ro '/dev/shm/p/root'");
    expect(ro).toBeGreaterThan(at("/etc/hosts"));
    const exec = lines[at("/usr/bin/setpriv")] ?? "";
    expect(at("/usr/bin/setpriv")).toBeGreaterThan(ro);
    expect(exec).toContain("--regid=65532 --groups=65532,2000 --no-new-privs --inh-caps=-all");
    expect(exec).toContain(
      "-- '/usr/bin/unshare' '--root=/dev/shm/p/root' '--wd=/app' '--setuid=65532' '--' 'node' 'operator/main.ts' 'it'\\''s' &",
    );
  });

  it("keeps the root writable when readOnlyRootFilesystem is off, and privilege escalation allowed when asked", () => {
    const s = sandboxScript(
      plan({
        identity: {
          uid: 1,
          gid: 1,
          groups: [1],
          readOnlyRootFilesystem: false,
          noNewPrivileges: false,
        },
      }),
    );
    expect(s).not.toContain("remount,bind,ro '/dev/shm/p/root'\n");
    expect(s).not.toContain("--no-new-privs");
  });

  it("forwards SIGTERM and kills after the grace period; gives the container only its own variables", () => {
    expect(script).toContain(
      "trap 'kill -TERM $child 2>/dev/null; (/bin/sleep 30; kill -KILL $child 2>/dev/null) &' TERM INT",
    );
    expect(script).toContain("unset PWD");
    expect(sandboxScript(plan({ envNames: ["PWD"] }))).not.toContain("unset PWD\n");
  });
});
