import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { inClusterAccess, KubeconfigError, loadClusterAccess } from "./kubeconfig.ts";

const b64 = (s: string): string => Buffer.from(s).toString("base64");

describe("loadClusterAccess", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "vaultmesh-kubeconfig-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const write = (name: string, doc: unknown): string => {
    const p = join(dir, name);
    writeFileSync(p, typeof doc === "string" ? doc : stringify(doc));
    return p;
  };
  const config = (user: Record<string, unknown>, cluster: Record<string, unknown> = {}) => ({
    apiVersion: "v1",
    kind: "Config",
    "current-context": "ctx",
    contexts: [{ name: "ctx", context: { cluster: "c", user: "u" } }],
    clusters: [{ name: "c", cluster: { server: "https://127.0.0.1:6443", ...cluster } }],
    users: [{ name: "u", user }],
  });

  it("reads inline certificate data and the server", async () => {
    const p = write(
      "config",
      config(
        { "client-certificate-data": b64("CERT"), "client-key-data": b64("KEY") },
        { "certificate-authority-data": b64("CA") },
      ),
    );
    const a = await loadClusterAccess(p);
    expect(a.server).toBe("https://127.0.0.1:6443");
    expect(a.tls.ca?.toString()).toBe("CA");
    expect(a.tls.cert?.toString()).toBe("CERT");
    expect(a.tls.key?.toString()).toBe("KEY");
    expect(a.tls.rejectUnauthorized).toBeUndefined();
    expect(await a.headers()).toEqual({});
  });

  it("resolves certificate paths relative to the kubeconfig's own directory", async () => {
    mkdirSync(join(dir, "pki"));
    writeFileSync(join(dir, "pki", "ca.crt"), "CA-FILE");
    writeFileSync(join(dir, "pki", "admin.crt"), "CERT-FILE");
    writeFileSync(join(dir, "pki", "admin.key"), "KEY-FILE");
    const p = write(
      "config",
      config(
        { "client-certificate": "pki/admin.crt", "client-key": join(dir, "pki", "admin.key") },
        { "certificate-authority": "pki/ca.crt" },
      ),
    );
    const a = await loadClusterAccess(p);
    expect(a.tls.ca?.toString()).toBe("CA-FILE");
    expect(a.tls.cert?.toString()).toBe("CERT-FILE");
    expect(a.tls.key?.toString()).toBe("KEY-FILE");
  });

  it("sends a bearer token, or basic credentials", async () => {
    const t = await loadClusterAccess(write("t", config({ token: "abc" })));
    expect(await t.headers()).toEqual({ authorization: "Bearer abc" });
    const b = await loadClusterAccess(write("b", config({ username: "me", password: "pw" })));
    expect(await b.headers()).toEqual({ authorization: `Basic ${b64("me:pw")}` });
  });

  it("reads a token file again on every call (rotation)", async () => {
    writeFileSync(join(dir, "token"), "first\n");
    const a = await loadClusterAccess(write("config", config({ tokenFile: "token" })));
    expect(await a.headers()).toEqual({ authorization: "Bearer first" });
    writeFileSync(join(dir, "token"), "second\n");
    expect(await a.headers()).toEqual({ authorization: "Bearer second" });
  });

  it("honours insecure-skip-tls-verify and tls-server-name", async () => {
    const a = await loadClusterAccess(
      write(
        "config",
        config({}, { "insecure-skip-tls-verify": true, "tls-server-name": "api.internal" }),
      ),
    );
    expect(a.tls.rejectUnauthorized).toBe(false);
    expect(a.tls.servername).toBe("api.internal");
  });

  it("merges $KUBECONFIG like kubectl: the first file to set a name wins, missing files skipped", async () => {
    const first = write("first", {
      "current-context": "two",
      users: [{ name: "u", user: { token: "from-first" } }],
    });
    const second = write("second", {
      "current-context": "ctx",
      contexts: [
        { name: "ctx", context: { cluster: "c", user: "u" } },
        { name: "two", context: { cluster: "c2", user: "u" } },
      ],
      clusters: [
        { name: "c", cluster: { server: "https://one:6443" } },
        { name: "c2", cluster: { server: "https://two:6443" } },
      ],
      users: [{ name: "u", user: { token: "from-second" } }],
    });
    const a = await loadClusterAccess(undefined, {
      env: { KUBECONFIG: [first, join(dir, "absent"), second].join(":") },
    });
    expect(a.server).toBe("https://two:6443");
    expect(await a.headers()).toEqual({ authorization: "Bearer from-first" });
    const c = await loadClusterAccess(undefined, {
      env: { KUBECONFIG: [first, second].join(":") },
      context: "ctx",
    });
    expect(c.server).toBe("https://one:6443");
  });

  it("falls back to ~/.kube/config", async () => {
    mkdirSync(join(dir, ".kube"));
    write(".kube/config", config({ token: "home" }));
    const a = await loadClusterAccess(undefined, { env: {}, home: dir });
    expect(await a.headers()).toEqual({ authorization: "Bearer home" });
  });

  it.each([
    ["an explicit file that is missing", undefined, /kubeconfig .*absent: ENOENT/],
    ["no current context", { ...config({}), "current-context": "" }, /current-context is not set/],
    [
      "an unknown context",
      { ...config({}), "current-context": "nope" },
      /context "nope" not found/,
    ],
    ["an unknown cluster", { ...config({}), clusters: [] }, /context "ctx": cluster "c" not found/],
    ["an unknown user", { ...config({}), users: [] }, /context "ctx": user "u" not found/],
    [
      "a cluster without a server",
      { ...config({}), clusters: [{ name: "c", cluster: {} }] },
      /clusters\[c\]\.server: expected a URL/,
    ],
    [
      "a certificate without a key",
      config({ "client-certificate-data": b64("CERT") }),
      /users\[u\]: client-certificate and client-key go together/,
    ],
    [
      "an unreadable CA file",
      config({}, { "certificate-authority": "missing-ca.crt" }),
      /clusters\[c\]\.certificate-authority: cannot read .*missing-ca\.crt/,
    ],
    ["a list that is not a list", { clusters: { c: 1 } }, /clusters must be a list/],
    ["an entry without a name", { users: [{ user: {} }] }, /users\[0\]\.name: expected a name/],
  ])("refuses %s, naming the field", async (_what, doc, message) => {
    const p = doc === undefined ? join(dir, "absent") : write("config", doc);
    const err = await loadClusterAccess(p).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeconfigError);
    expect((err as Error).message).toMatch(message);
  });

  it("runs an exec credential plugin through client-node", async () => {
    const credential = JSON.stringify({
      apiVersion: "client.authentication.k8s.io/v1",
      kind: "ExecCredential",
      status: { token: "from-plugin" },
    });
    const p = write(
      "config",
      config({
        exec: {
          apiVersion: "client.authentication.k8s.io/v1",
          command: "sh",
          args: ["-c", `echo '${credential}'`],
          interactiveMode: "Never",
        },
      }),
    );
    const a = await loadClusterAccess(p);
    expect(a.server).toBe("https://127.0.0.1:6443");
    expect(await a.headers()).toEqual(
      expect.objectContaining({ Authorization: "Bearer from-plugin" }),
    );
  });
});

describe("inClusterAccess", () => {
  it("uses the service account token (re-read each time) and CA", async () => {
    const sa = mkdtempSync(join(tmpdir(), "vaultmesh-sa-"));
    try {
      writeFileSync(join(sa, "token"), "sa-token");
      writeFileSync(join(sa, "ca.crt"), "SA-CA");
      const a = inClusterAccess({
        env: { KUBERNETES_SERVICE_HOST: "10.0.0.1", KUBERNETES_SERVICE_PORT: "443" },
        serviceAccountDir: sa,
      });
      expect(a.server).toBe("https://10.0.0.1:443");
      expect(a.tls.ca?.toString()).toBe("SA-CA");
      expect(await a.headers()).toEqual({ authorization: "Bearer sa-token" });
      writeFileSync(join(sa, "token"), "rotated");
      expect(await a.headers()).toEqual({ authorization: "Bearer rotated" });
      const v6 = inClusterAccess({
        env: { KUBERNETES_SERVICE_HOST: "fd00::1", KUBERNETES_SERVICE_PORT: "443" },
        serviceAccountDir: sa,
      });
      expect(v6.server).toBe("https://[fd00::1]:443");
    } finally {
      rmSync(sa, { recursive: true, force: true });
    }
  });

  it("says what is missing outside a Pod", () => {
    expect(() => inClusterAccess({ env: {} })).toThrow(
      /no kubeconfig: set KUBECONFIG, create ~\/\.kube\/config, or run in a Pod/,
    );
  });

  it("refuses to start without the service account files", () => {
    expect(() =>
      inClusterAccess({
        env: { KUBERNETES_SERVICE_HOST: "10.0.0.1", KUBERNETES_SERVICE_PORT: "443" },
        serviceAccountDir: join(tmpdir(), "vaultmesh-no-such-sa"),
      }),
    ).toThrow(/in-cluster: cannot read .*ca\.crt/);
  });
});
