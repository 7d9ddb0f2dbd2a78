// When a configuration needs the CA written: only when an entry does not trust the CA that signs
// the served certificate — so replicas converge on the newest bundle and never undo each other.
import { beforeAll, describe, expect, it } from "@jest/globals";
import { caBundleInjected } from "./ca-injector.ts";
import { issueCertificateAuthority, validityFrom } from "./certs.ts";

const b64 = (pem: string): string => Buffer.from(pem).toString("base64");
const config = (...bundles: (string | undefined)[]): Parameters<typeof caBundleInjected>[0] => ({
  webhooks: bundles.map((caBundle) => ({
    clientConfig: caBundle === undefined ? {} : { caBundle },
  })) as NonNullable<Parameters<typeof caBundleInjected>[0]>["webhooks"],
});

let oldCa = "";
let newCa = "";
beforeAll(async () => {
  const v = validityFrom(new Date("2030-01-01T00:00:00Z"), 3650 * 86_400_000);
  const [a, b] = await Promise.all([issueCertificateAuthority(v), issueCertificateAuthority(v)]);
  oldCa = a.cert;
  newCa = b.cert;
});

describe("caBundleInjected", () => {
  it.each<[string, () => Parameters<typeof caBundleInjected>[0], () => string, boolean]>([
    ["a missing configuration needs nothing", () => undefined, () => oldCa, true],
    ["no entries need nothing", () => config(), () => oldCa, true],
    ["every entry carries the CA", () => config(b64(oldCa), b64(oldCa)), () => oldCa, true],
    ["one entry without caBundle", () => config(b64(oldCa), undefined), () => oldCa, false],
    ["an empty caBundle", () => config(""), () => oldCa, false],
    ["another CA", () => config(b64(newCa)), () => oldCa, false],
    [
      "a newer bundle that keeps our CA (a replica not yet rotated)",
      () => config(b64(newCa + oldCa)),
      () => oldCa,
      true,
    ],
    [
      "an older bundle, ours rotated (the new CA must be written)",
      () => config(b64(oldCa)),
      () => newCa + oldCa,
      false,
    ],
    [
      "the same certificate re-wrapped (line breaks differ)",
      () => config(b64(oldCa.replace(/\n(?!-)/g, ""))),
      () => oldCa,
      true,
    ],
    ["not base64 PEM at all", () => config(b64("garbage")), () => oldCa, false],
  ])("%s", (_name, cfg, ca, want) => {
    expect(caBundleInjected(cfg(), ca())).toBe(want);
  });
});
