import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fixedClock } from "../ledger/clock.ts";
import { buildTimeStampRequest } from "./rfc3161-request.ts";
import { parseTimeStampResponse, verifyTimeStampResponse } from "./rfc3161-verify.ts";
import {
  certificatesFromPem,
  generateTsaCredentials,
  hasCriticalTimeStampingEku,
  type TsaCredentialFiles,
} from "./tsa-certs.ts";
import { createTsaResponder, type TsaResponder } from "./tsa-responder.ts";

const wantGenTime = new Date("2026-03-01T12:00:00Z");
let dir: string;
let creds: TsaCredentialFiles;
let tsa: TsaResponder;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "rfc3161-"));
  creds = await generateTsaCredentials(fixedClock("2026-01-01T00:00:00Z"));
  tsa = await createTsaResponder({ credentials: creds, clock: fixedClock(wantGenTime) });
  writeFileSync(join(dir, "tsa-ca.crt"), creds.caCertificatePem);
  writeFileSync(join(dir, "tsa.crt"), creds.certificatePem);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const data = new TextEncoder().encode("artifact bytes\n");

describe("RFC 3161 time stamps", () => {
  it("issues a token that our verifier accepts, with nonce and genTime", async () => {
    const req = buildTimeStampRequest(data);
    const resp = await tsa.respond(req.der);
    const got = await verifyTimeStampResponse(resp, {
      data,
      trustedPem: [creds.caCertificatePem],
      nonceHex: req.nonceHex,
    });
    expect(got).toMatchObject({ ok: true, genTime: wantGenTime });
  });

  it("is accepted by openssl ts -verify", async () => {
    const req = buildTimeStampRequest(data);
    writeFileSync(join(dir, "data.bin"), data);
    writeFileSync(join(dir, "data.tsr"), await tsa.respond(req.der));
    const out = execFileSync(
      "openssl",
      [
        "ts",
        "-verify",
        "-data",
        join(dir, "data.bin"),
        "-in",
        join(dir, "data.tsr"),
        "-CAfile",
        join(dir, "tsa-ca.crt"),
      ],
      { encoding: "utf8", stdio: "pipe" },
    );
    expect(out).toMatch(/Verification: OK/);
  });

  it("answers an openssl-built request", async () => {
    writeFileSync(join(dir, "q.bin"), data);
    const query = execFileSync(
      "openssl",
      ["ts", "-query", "-data", join(dir, "q.bin"), "-sha256", "-cert"],
      { stdio: "pipe" },
    );
    const resp = await tsa.respond(new Uint8Array(query));
    expect(
      (await verifyTimeStampResponse(resp, { data, trustedPem: [creds.caCertificatePem] })).ok,
    ).toBe(true);
  });

  it.each([
    ["other data", { data: new TextEncoder().encode("other") }, /imprint/],
    ["another nonce", { nonceHex: "0102030405060708" }, /nonce/],
  ])("rejects a token checked against %s", async (_name, override, wantReason) => {
    const req = buildTimeStampRequest(data);
    const resp = await tsa.respond(req.der);
    const got = await verifyTimeStampResponse(resp, {
      data,
      trustedPem: [creds.caCertificatePem],
      nonceHex: req.nonceHex,
      ...override,
    });
    expect(got.ok).toBe(false);
    expect(got.ok ? "" : got.reason).toMatch(wantReason);
  });

  it("rejects a token from an untrusted TSA", async () => {
    const other = await generateTsaCredentials(fixedClock("2026-01-01T00:00:00Z"));
    const resp = await tsa.respond(buildTimeStampRequest(data).der);
    const got = await verifyTimeStampResponse(resp, { data, trustedPem: [other.caCertificatePem] });
    expect(got.ok).toBe(false);
  });

  it("rejects a token whose signature bytes were flipped", async () => {
    const resp = await tsa.respond(buildTimeStampRequest(data).der);
    const bad = Uint8Array.from(resp);
    bad[bad.length - 5]! ^= 0x01; // inside the ECDSA signature at the end of the SignerInfo
    const got = await verifyTimeStampResponse(bad, { data, trustedPem: [creds.caCertificatePem] });
    expect(got.ok).toBe(false);
  });

  it("answers garbage with a rejection, not an exception", async () => {
    const resp = await tsa.respond(new Uint8Array([1, 2, 3]));
    expect(parseTimeStampResponse(resp).status).toBe(2);
    const got = await verifyTimeStampResponse(resp, { data, trustedPem: [creds.caCertificatePem] });
    expect(got).toMatchObject({ ok: false, reason: expect.stringMatching(/refused/) });
  });

  it("requires the TSA certificate's only EKU to be a critical timeStamping", () => {
    expect(hasCriticalTimeStampingEku(certificatesFromPem(creds.certificatePem)[0]!)).toBe(true);
    expect(hasCriticalTimeStampingEku(certificatesFromPem(creds.caCertificatePem)[0]!)).toBe(false);
    const text = execFileSync("openssl", ["x509", "-noout", "-text", "-in", join(dir, "tsa.crt")], {
      encoding: "utf8",
    });
    expect(text).toMatch(/X509v3 Extended Key Usage: critical\s+Time Stamping/);
  });
});
