// The fluent FederationPeer builder:
//   federationPeer("peer-b").endpoint(url).origin(o).logKey(id, pem).witnessKey(vkey).obj()
// It starts with a 10-second sync interval, not suspended, and an empty trust anchor: every
// test pins its own peer's origin and keys (there is no sensible default key).
import type { FederationPeer, FederationPeerSpec } from "../../crds/index.ts";
import { API_VERSION } from "../../crds/index.ts";
import { ObjectBuilder } from "./builder.ts";

/** Builds a FederationPeer. */
export class FederationPeerBuilder extends ObjectBuilder<FederationPeer> {
  constructor(name: string) {
    super({
      apiVersion: API_VERSION,
      kind: "FederationPeer",
      metadata: { name },
      spec: {
        endpoint: "http://127.0.0.1:9",
        trustAnchor: { origin: "", keys: [], witnessKey: "" },
        syncIntervalSeconds: 10,
        suspended: false,
      },
    });
  }
  /** The peer ledger's base URL. */
  endpoint(url: string): this {
    this.o.spec.endpoint = url;
    return this;
  }
  /** The peer log's pinned origin. */
  origin(o: string): this {
    this.o.spec.trustAnchor.origin = o;
    return this;
  }
  /** Adds a pinned Ed25519 log key (SPKI PEM). */
  logKey(keyId: string, publicKeyPem: string): this {
    this.o.spec.trustAnchor.keys.push({ keyId, algorithm: "Ed25519", publicKey: publicKeyPem });
    return this;
  }
  /** The peer's witness verifier key (C2SP vkey). */
  witnessKey(vkey: string): this {
    this.o.spec.trustAnchor.witnessKey = vkey;
    return this;
  }
  /** The sync interval, in seconds. */
  syncEvery(seconds: FederationPeerSpec["syncIntervalSeconds"]): this {
    this.o.spec.syncIntervalSeconds = seconds;
    return this;
  }
  suspended(s = true): this {
    this.o.spec.suspended = s;
    return this;
  }
}

/** Starts a FederationPeer builder. */
export const federationPeer = (name: string): FederationPeerBuilder =>
  new FederationPeerBuilder(name);
