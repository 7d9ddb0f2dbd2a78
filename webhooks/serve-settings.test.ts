// The serve flags: every valid combination resolves, every invalid one is one error naming the
// flag (or POD_NAMESPACE) and what was expected.
import { describe, expect, it } from "@jest/globals";
import { resolveServeSettings, type ServeFlags } from "./serve-settings.ts";

const NS = { POD_NAMESPACE: "vaultmesh-system" };

describe("resolveServeSettings", () => {
  it.each<[string, ServeFlags, Record<string, string>, object]>([
    [
      "defaults: managed, the chart's names, no injection",
      {},
      NS,
      {
        mode: "managed",
        namespace: "vaultmesh-system",
        tlsSecret: "vaultmesh-webhook-tls",
        serviceName: "vaultmesh-webhook",
        injectCaBundle: false,
        port: 9443,
        configurations: { validating: "vaultmesh-validating", mutating: "vaultmesh-mutating" },
      },
    ],
    [
      "other configuration names to inject into",
      {
        "inject-ca-bundle": true,
        "validating-configuration": "acme-validating",
        "mutating-configuration": "acme-mutating",
      },
      NS,
      { configurations: { validating: "acme-validating", mutating: "acme-mutating" } },
    ],
    [
      "the chart's flags",
      {
        certificates: "managed",
        "tls-secret": "vaultmesh-webhook-tls",
        "service-name": "vaultmesh-webhook",
        "inject-ca-bundle": true,
      },
      { POD_NAMESPACE: "team-a" },
      { mode: "managed", namespace: "team-a", injectCaBundle: true },
    ],
    [
      "mounted with its default directory",
      { certificates: "mounted" },
      {},
      { mode: "mounted", certDir: "/etc/vaultmesh/webhook-tls", injectCaBundle: false },
    ],
    [
      "mounted, another directory, injection from its ca.crt, port 0",
      { certificates: "mounted", "cert-dir": "/tls", "inject-ca-bundle": true, port: "0" },
      {},
      { mode: "mounted", certDir: "/tls", injectCaBundle: true, port: 0 },
    ],
  ])("%s", (_name, flags, env, want) => {
    expect(resolveServeSettings(flags, env)).toMatchObject(want);
  });

  it.each<[string, ServeFlags, Record<string, string>, string]>([
    [
      "an unknown mode",
      { certificates: "cert-manager" },
      NS,
      '--certificates="cert-manager": expected managed or mounted',
    ],
    [
      "--cert-dir with managed certificates",
      { "cert-dir": "/tls" },
      NS,
      "--cert-dir applies to --certificates=mounted only",
    ],
    [
      "--tls-secret with mounted certificates",
      { certificates: "mounted", "tls-secret": "x" },
      {},
      "--tls-secret applies to --certificates=managed only",
    ],
    [
      "--service-name with mounted certificates",
      { certificates: "mounted", "service-name": "x" },
      {},
      "--service-name applies to --certificates=managed only",
    ],
    [
      "managed without POD_NAMESPACE",
      {},
      {},
      "POD_NAMESPACE is not set: --certificates=managed needs the namespace",
    ],
    ["an empty POD_NAMESPACE", {}, { POD_NAMESPACE: "" }, "POD_NAMESPACE is not set"],
    [
      "a Service name that is not a DNS label",
      { "service-name": "Webhook.svc" },
      NS,
      '--service-name="Webhook.svc": expected a Service name',
    ],
    [
      "a Secret name with a slash",
      { "tls-secret": "ns/tls" },
      NS,
      '--tls-secret="ns/tls": expected a Secret name',
    ],
    [
      "a namespace with upper case",
      {},
      { POD_NAMESPACE: "Prod" },
      'POD_NAMESPACE="Prod": expected a namespace name',
    ],
    [
      "a port out of range",
      { port: "70000" },
      NS,
      '--port="70000": expected an integer from 0 to 65535',
    ],
    ["a port that is not a number", { port: "https" }, NS, '--port="https": expected an integer'],
  ])("refuses %s", (_name, flags, env, want) => {
    expect(() => resolveServeSettings(flags, env)).toThrow(want);
  });
});
