/** Stops the shared cluster started by global-setup.ts. */
export default async function globalTeardown(): Promise<void> {
  await globalThis.__vaultmeshCluster?.stop();
}
