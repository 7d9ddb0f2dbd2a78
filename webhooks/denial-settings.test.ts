import { describe, expect, it } from "@jest/globals";
import { denialLedgerSettings } from "./denial-settings.ts";

const ledger = {
  VAULTMESH_LEDGER_URL: "postgres://ledger@db:5432/ledger",
  VAULTMESH_SIGNING_KEY_FILE: "/etc/vaultmesh/signing/ed25519.key",
};

describe("denialLedgerSettings", () => {
  it.each([
    ["unset", {}],
    ["false", { VAULTMESH_RECORD_DENIALS: "false" }],
    ["false, ledger configured", { VAULTMESH_RECORD_DENIALS: "false", ...ledger }],
  ])("is off when VAULTMESH_RECORD_DENIALS is %s", (_name, env) => {
    expect(denialLedgerSettings(env)).toBeUndefined();
  });

  it.each([
    ["defaults", { VAULTMESH_RECORD_DENIALS: "true", ...ledger }, 1000],
    [
      "a queue size",
      { VAULTMESH_RECORD_DENIALS: "TRUE", ...ledger, VAULTMESH_DENIAL_QUEUE_SIZE: "50" },
      50,
    ],
  ])("reads the ledger settings (%s)", (_name, env, wantQueue) => {
    expect(denialLedgerSettings(env)).toEqual({
      ledgerUrl: "postgres://ledger@db:5432/ledger",
      signingKeyFile: "/etc/vaultmesh/signing/ed25519.key",
      queueSize: wantQueue,
    });
  });

  it.each([
    [
      "a flag that is not a boolean",
      { VAULTMESH_RECORD_DENIALS: "yes" },
      "VAULTMESH_RECORD_DENIALS",
    ],
    [
      "no ledger URL",
      { VAULTMESH_RECORD_DENIALS: "true", VAULTMESH_SIGNING_KEY_FILE: "/k" },
      "needs VAULTMESH_LEDGER_URL",
    ],
    [
      "neither ledger setting",
      { VAULTMESH_RECORD_DENIALS: "true" },
      "needs VAULTMESH_LEDGER_URL and VAULTMESH_SIGNING_KEY_FILE",
    ],
    [
      "a queue size of 0",
      { VAULTMESH_RECORD_DENIALS: "true", ...ledger, VAULTMESH_DENIAL_QUEUE_SIZE: "0" },
      "VAULTMESH_DENIAL_QUEUE_SIZE",
    ],
  ])("refuses %s, naming the variable", (_name, env, want) => {
    expect(() => denialLedgerSettings(env)).toThrow(want);
  });
});
