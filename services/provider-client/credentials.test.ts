import { describe, expect, it } from "@jest/globals";
import { credentialsLocation } from "./credentials.ts";

describe("credentialsLocation", () => {
  it.each([
    {
      name: "namespace and key unset: the default namespace and the token key",
      ref: { name: "akash" },
      want: { namespace: "vaultmesh-system", name: "akash", key: "token" },
    },
    {
      name: "namespace and key given",
      ref: { name: "akash", namespace: "providers", key: "apiKey" },
      want: { namespace: "providers", name: "akash", key: "apiKey" },
    },
  ])("$name", ({ ref, want }) => {
    expect(credentialsLocation(ref, "vaultmesh-system")).toEqual(want);
  });
});
