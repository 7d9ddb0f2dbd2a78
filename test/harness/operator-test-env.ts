// The set-up every operator integration test file repeated: a client, a namespace of its own, a
// ledger on the shared Postgres, a label that scopes its treaties (so only its own operator sees
// them), and a teardown that removes all of it in the reverse order. A file writes
//
//   const env = await startOperatorTestEnv("op-rcpt");
//   await env.treaty(treaty(name).inCluster("a10g", 0.75).obj());
//   const op = env.track(await startInProcessOperator(env.operatorScope()));
//   …
//   afterAll(() => env.stop());
import type { Treaty } from "../../crds/index.ts";
import type { Ledger } from "../../services/ledger/ledger.ts";
import { Resources, type KubeClient } from "../../services/kube/index.ts";
import {
  createTreaty,
  startTestLedger,
  testClient,
  type TestLedger,
} from "../integration/operator-env.ts";
import { createTestNamespace } from "./kube.ts";

/** Something the environment stops at teardown (an operator, a simulator, a proxy). */
export interface Stoppable {
  stop(): unknown;
}

/** One test file's slice of the shared control plane and Postgres. */
export interface OperatorTestEnv {
  readonly client: KubeClient;
  /** The file's own namespace (`<prefix>-<random>`). */
  readonly ns: string;
  /** `vaultmesh.cloud/test-run=<prefix>-<random>`: the selector of the file's treaties. */
  readonly label: string;
  /** The file's ledger; absent with `{ ledger: false }`. */
  readonly led: TestLedger | undefined;
  /** Creates a Treaty carrying {@link label}; stop() deletes it. */
  treaty(t: Treaty): Promise<Treaty>;
  /** The scope `startInProcessOperator` takes: this namespace, these treaties, this ledger. */
  operatorScope(): { namespace: string; treatySelector: string; ledger: Ledger };
  /**
   * The environment of an operator/main.ts child (`spawnOperator`) scoped like
   * {@link operatorScope}: no leader election, this namespace and label, and `ledger` (by
   * default this environment's).
   */
  operatorEnv(ledger?: { readonly url: string; readonly keyFile: string }): Record<string, string>;
  /** Stops `s` at teardown, before the treaties, namespace and ledger go (last tracked first). */
  track<T extends Stoppable>(s: T): T;
  /** Tears down what was tracked, then the treaties, the namespace, the ledger and the client. */
  stop(): Promise<void>;
}

const rand = (): string => Math.random().toString(36).slice(2, 8);

/**
 * Creates the namespace, the ledger (unless `ledger: false`, for a file that runs its own
 * Postgres) and the client of one test file.
 */
export async function startOperatorTestEnv(
  prefix: string,
  opts: { readonly ledger?: boolean } = {},
): Promise<OperatorTestEnv> {
  const client = await testClient();
  const ns = await createTestNamespace(prefix);
  const led = opts.ledger === false ? undefined : await startTestLedger(prefix.replace(/-/g, "_"));
  const label = `vaultmesh.cloud/test-run=${prefix}-${rand()}`;
  const treaties: string[] = [];
  const tracked: Stoppable[] = [];
  return {
    client,
    ns,
    label,
    led,
    async treaty(t) {
      const created = await createTreaty(client, t, label);
      treaties.push(created.metadata.name ?? "");
      return created;
    },
    operatorScope() {
      if (!led) throw new Error(`${prefix}: this environment was started without a ledger`);
      return { namespace: ns, treatySelector: label, ledger: led.ledger };
    },
    operatorEnv(l = led) {
      if (!l) throw new Error(`${prefix}: this environment was started without a ledger`);
      return {
        VAULTMESH_LEADER_ELECT: "false",
        VAULTMESH_WATCH_NAMESPACE: ns,
        VAULTMESH_TREATY_SELECTOR: label,
        VAULTMESH_LEDGER_URL: l.url,
        VAULTMESH_SIGNING_KEY_FILE: l.keyFile,
      };
    },
    track(s) {
      tracked.push(s);
      return s;
    },
    async stop() {
      for (const s of tracked.splice(0).reverse()) await s.stop();
      for (const name of treaties) {
        await client.delete(Resources.Treaty, { name }).catch(() => undefined);
      }
      await client.delete(Resources.Namespace, { name: ns }).catch(() => undefined);
      await led?.stop();
      client.close();
    },
  };
}
