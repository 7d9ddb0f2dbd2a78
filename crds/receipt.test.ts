import { describe, expect, it } from "@jest/globals";
import { RECEIPT_SPEC_IMMUTABLE_RULE, ReceiptSchema } from "./index.ts";
import { readFileSync } from "node:fs";
import YAML from "yaml";
import {
  RECEIPT_EXAMPLE,
  REMOVE,
  pathsOfBadField,
  withField,
  type BadField,
  type Manifest,
} from "./test-helpers.ts";

const receipt = YAML.parse(readFileSync(RECEIPT_EXAMPLE, "utf8")) as Manifest;
const hex = "f830b8272b1300300e12d59417618aaf48be2dda9b48e01492e9e3b447361575";

describe("ReceiptSchema", () => {
  it.each<BadField>([
    ["an unknown type", "spec.type", "WorkloadStarted"],
    ["a digest without algorithm", "spec.digest", hex],
    ["an upper-case digest", "spec.digest", `sha256:${hex.toUpperCase()}`],
    ["no signatures", "spec.signatures", []],
    ["an unknown algorithm", "spec.signatures[0].algorithm", "RSA"],
    ["a missing subject name", "spec.subject.name", REMOVE],
    ["an issuedAt that is no timestamp", "spec.issuedAt", "yesterday"],
    ["a payload that is no object", "spec.payload", "done"],
    ["a leaf hash that is no SHA-256", "status.leafHash", "abc"],
  ])("refuses %s", (_what, path, value, wantPath = path) => {
    expect(pathsOfBadField(ReceiptSchema, receipt, path, value)).toContain(wantPath);
  });

  it("keeps a free-form payload as it is", () => {
    const wantPayload = { nested: { list: [1, "two", { three: null }] }, flag: true };
    const parsed = ReceiptSchema.parse(withField(receipt, "spec.payload", wantPayload));
    expect(parsed.spec.payload).toEqual(wantPayload);
  });

  it("exports the immutability rule the CRD carries", () => {
    expect(RECEIPT_SPEC_IMMUTABLE_RULE).toBe("self == oldSelf");
  });
});
