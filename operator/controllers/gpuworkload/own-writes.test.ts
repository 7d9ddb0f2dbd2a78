import { describe, expect, it } from "@jest/globals";
import type { GPUWorkload } from "../../../crds/index.ts";
import { gpuWorkload } from "../../../test/builders/objects.ts";
import { OwnWrites } from "./own-writes.ts";

// The reconciler keeps a copy of its own last status write until the cache catches up; the
// copy must go once the cache shows a newer version or the deletion, without a reconcile.
describe("copies of own writes", () => {
  const wl = (rv: string): GPUWorkload => {
    const w = gpuWorkload("w", "ns").obj();
    w.metadata.uid = "u";
    w.metadata.resourceVersion = rv;
    w.metadata.managedFields = [{ manager: "vaultmesh-operator" }];
    return w;
  };

  // Our status write over version 1 answered version 2, as the API server would.
  function afterWrite(): OwnWrites {
    const writes = new OwnWrites();
    writes.remember("ns/w", ["1"], wl("2"));
    return writes;
  }

  it("keeps the copy while the cache shows the overwritten version, stripped of bookkeeping", () => {
    const writes = afterWrite();
    expect(writes.size).toBe(1);
    writes.observed("ns/w", "1", false); // a late event of the version we overwrote
    expect(writes.size).toBe(1);
    const current = writes.current("ns/w", wl("1"));
    expect(current?.metadata.resourceVersion).toBe("2");
    expect(current?.metadata.managedFields).toBeUndefined();
  });

  it("keeps nothing when the write changed nothing (same version)", () => {
    const writes = new OwnWrites();
    writes.remember("ns/w", ["1"], wl("1"));
    expect(writes.size).toBe(0);
  });

  it("drops it when the cache catches up", () => {
    const writes = afterWrite();
    writes.observed("ns/w", "2", false);
    expect(writes.size).toBe(0);
    expect(writes.current("ns/w", wl("2"))?.metadata.managedFields).toBeDefined();
  });

  it("drops it when a reconcile finds the cache past it", () => {
    const writes = afterWrite();
    expect(writes.current("ns/w", wl("3"))?.metadata.resourceVersion).toBe("3");
    expect(writes.size).toBe(0);
  });

  it("drops it when the workload is deleted", () => {
    const writes = afterWrite();
    writes.observed("ns/other", "9", false);
    expect(writes.size).toBe(1);
    writes.observed("ns/w", "1", true);
    expect(writes.size).toBe(0);
  });
});
