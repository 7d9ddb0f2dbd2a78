// The text-field policy at the API boundary (ADR 0093): control and bidirectional characters
// refused in the free-text and identifier fields a hostile tenant could use to spoof
// `kubectl get` output, and image references checked against the distribution/reference grammar.
import { describe, expect, it } from "@jest/globals";
import {
  GPUWorkloadSchema,
  ImageReferenceSchema,
  lineString,
  TenantSchema,
  textString,
  tokenString,
  TreatySchema,
} from "./index.ts";
import { issues, pathsOfBadField, sample, type Manifest } from "./test-helpers.ts";

const workload = sample("train-llama-lora");
const tenant = sample("acme");
const treaty = sample("aurora-akash-001");

const NUL = "\u0000";
const RLO = "\u202E";

const accepts = (schema: Parameters<typeof issues>[0], value: unknown): boolean =>
  schema.safeParse(value).success;

describe("textString (multi-line free text)", () => {
  const text = textString(100);
  it.each([
    ["NUL", NUL],
    ["ESC (terminal escape sequences)", "\u001b[2J"],
    ["DEL", "\u007f"],
    ["a C1 control (CSI)", "\u009b"],
    ["LRE", "\u202A"],
    ["RLE", "\u202B"],
    ["PDF", "\u202C"],
    ["LRO", "\u202D"],
    ["RLO", RLO],
    ["LRI", "\u2066"],
    ["RLI", "\u2067"],
    ["FSI", "\u2068"],
    ["PDI", "\u2069"],
    ["a vertical tab", "\u000b"],
  ])("refuses %s", (_what, ch) => {
    expect(accepts(text, `a${ch}b`)).toBe(false);
  });

  it.each([
    ["a tab", "a\tb"],
    ["line breaks", "set -e\npython train.py\r\n"],
    ["Hebrew and Arabic text", "שלום مرحبا"],
    ["direction marks", "\u200Fמחיר 5\u200E"],
    ["emoji", "🚀"],
    ["the empty string", ""],
  ])("accepts %s", (_what, value) => {
    expect(accepts(text, value)).toBe(true);
  });

  it("names the character it refuses", () => {
    const want =
      "must not contain control characters other than tab and line breaks, or bidirectional overrides (found U+202E at offset 4)";
    expect(issues(text, `evil${RLO}txt.sh`)).toEqual([{ path: "", message: want }]);
  });
});

describe("lineString (single-line text)", () => {
  const line = lineString(100);
  it.each([
    ["a tab", "\t"],
    ["a line feed", "\n"],
    ["a carriage return", "\r"],
    ["LRM", "\u200E"],
    ["RLM", "\u200F"],
    ["ALM", "\u061C"],
    ["a line separator", "\u2028"],
    ["a paragraph separator", "\u2029"],
    ["NUL", NUL],
    ["RLO", RLO],
  ])("refuses %s", (_what, ch) => {
    expect(accepts(line, `a${ch}b`)).toBe(false);
  });

  it.each([
    ["spaces and punctuation", "Acme Research Guild (EU)"],
    ["right-to-left text", "גילדת המחקר"],
    ["accents", "Société Générale"],
  ])("accepts %s", (_what, value) => {
    expect(accepts(line, value)).toBe(true);
  });
});

describe("tokenString (no whitespace)", () => {
  const token = tokenString(100);
  it.each([
    ["a space", " "],
    ["a no-break space", "\u00a0"],
    ["an ideographic space", "\u3000"],
    ["a byte order mark", "\ufeff"],
    ["RLO", RLO],
    ["NUL", NUL],
  ])("refuses %s", (_what, ch) => {
    expect(accepts(token, `policy${ch}.wasm`)).toBe(false);
  });

  it("refuses the empty string and accepts a URI", () => {
    expect(accepts(token, "")).toBe(false);
    expect(accepts(token, "oci://ghcr.io/acme/policy@sha256:abc")).toBe(true);
  });
});

const digest = `sha256:${"a".repeat(64)}`;

describe("ImageReferenceSchema (distribution/reference grammar)", () => {
  it.each([
    "busybox",
    "library/busybox:1.36",
    "ghcr.io/acme/llama-lora-train:1.4.0",
    "registry.local:5000/team/job_v2:latest",
    "localhost/img",
    "Registry.Example.com/acme/train",
    "[2001:db8::1]:5000/acme/train:v1",
    `busybox@${digest}`,
    `ghcr.io/acme/train:1.4@${digest}`,
    "a/b__c/d--e/f.g",
    `img:${"t".repeat(128)}`,
  ])("accepts %s", (ref) => {
    expect(accepts(ImageReferenceSchema, ref)).toBe(true);
  });

  it.each([
    ["an upper-case repository", "ghcr.io/Acme/train"],
    ["a space", "ghcr.io/acme/train 1.4"],
    ["RLO", `ghcr.io/acme/${RLO}niart`],
    ["NUL", `busybox${NUL}`],
    ["an empty tag", "busybox:"],
    ["a tag of 129 characters", `img:${"t".repeat(129)}`],
    ["a tag starting with a dot", "busybox:.1"],
    ["a short digest", "busybox@sha256:abc"],
    ["a digest without algorithm", `busybox@${"a".repeat(64)}`],
    ["a leading separator", "ghcr.io/-acme/train"],
    ["a trailing separator", "ghcr.io/acme/train-"],
    ["a triple underscore", "acme/a___b"],
    ["two dots", "acme/a..b"],
    ["a scheme", "https://ghcr.io/acme/train"],
    ["an empty path component", "ghcr.io//train"],
    ["a non-numeric port", "ghcr.io:https/acme/train"],
  ])("refuses %s", (_what, ref) => {
    expect(accepts(ImageReferenceSchema, ref)).toBe(false);
  });

  it("says what an image reference looks like", () => {
    expect(issues(ImageReferenceSchema, "ghcr.io/Acme/train")[0]?.message).toMatch(
      /must be an image reference \[registry\[:port\]\/\]repository\[:tag\]\[@digest\]/,
    );
  });
});

type FieldCase = readonly [kind: string, base: Manifest, path: string];

const FIELDS: readonly FieldCase[] = [
  ["GPUWorkload", workload, "spec.template.image"],
  ["GPUWorkload", workload, "spec.template.command[0]"],
  ["GPUWorkload", workload, "spec.template.args[1]"],
  ["GPUWorkload", workload, "spec.template.env[0].value"],
  ["Tenant", tenant, "spec.displayName"],
  ["Tenant", tenant, "spec.owners[0].name"],
  ["Tenant", tenant, "spec.owners[0].email"],
  ["Tenant", tenant, "spec.billing.email"],
  ["Treaty", treaty, "spec.vaultLaw.policyRef"],
  ["Treaty", treaty, "spec.vaultLaw.governance"],
];

const SCHEMAS = { GPUWorkload: GPUWorkloadSchema, Tenant: TenantSchema, Treaty: TreatySchema };

describe("every text field at the API boundary", () => {
  it.each(FIELDS.flatMap(([kind, base, path]) => [NUL, RLO].map((ch) => [kind, base, path, ch])))(
    "%s %s refuses %j, naming the field",
    (kind, base, path, ch) => {
      const schema = SCHEMAS[kind as keyof typeof SCHEMAS];
      const value = `ghcr.io/acme/x${ch as string}@a.b`;
      expect(pathsOfBadField(schema, base as Manifest, path as string, value)).toEqual([path]);
    },
  );

  it("the samples carry every field of the table (so a refusal is not a missing parent)", () => {
    expect(workload).toMatchObject({
      spec: { template: { command: ["python", "train.py"], args: ["--epochs", "3"] } },
    });
    expect(issues(GPUWorkloadSchema, workload)).toEqual([]);
    expect(issues(TenantSchema, tenant)).toEqual([]);
    expect(issues(TreatySchema, treaty)).toEqual([]);
  });
});
