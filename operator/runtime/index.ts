/**
 * operator/runtime: the reconcile runtime every VaultMesh controller runs on — work queue,
 * controller loop, manager (shared informers, leader election, shutdown), conditions,
 * finalizers, Events and guarded status writes. See docs/operator-runtime.md.
 */
export * from "./conditions.ts";
export * from "./controller.ts";
export * from "./events.ts";
export * from "./finalizers.ts";
export * from "./leader-election.ts";
export * from "./manager.ts";
export * from "./status.ts";
export * from "./work-queue.ts";
