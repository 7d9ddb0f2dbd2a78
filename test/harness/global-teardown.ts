/** Stops the shared cluster and Postgres started by global-setup.ts. */
export default async function globalTeardown(): Promise<void> {
  await Promise.all([
    globalThis.__vaultmeshCluster?.stop(),
    globalThis.__vaultmeshPostgres?.stop(),
  ]);
}
