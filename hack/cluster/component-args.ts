/**
 * The command-line flags each control-plane component is launched with: etcd, kube-apiserver,
 * kube-controller-manager, kube-scheduler and kwok, all on 127.0.0.1. Pure: paths and ports in,
 * argument lists out; `startCluster` (cluster.ts) spawns them.
 */
import { join } from "node:path";
import type { Pki } from "./pki.ts";

/** etcd with its data in `<dir>/etcd`, serving clients on `client` and peers on `peer`. */
export function etcdArgs(dir: string, client: number, peer: number): string[] {
  return [
    "--name=default",
    `--data-dir=${join(dir, "etcd")}`,
    `--listen-client-urls=http://127.0.0.1:${client}`,
    `--advertise-client-urls=http://127.0.0.1:${client}`,
    `--listen-peer-urls=http://127.0.0.1:${peer}`,
    `--initial-advertise-peer-urls=http://127.0.0.1:${peer}`,
    `--initial-cluster=default=http://127.0.0.1:${peer}`,
    "--unsafe-no-fsync",
    "--quota-backend-bytes=4294967296",
    "--log-level=warn",
  ];
}

/** kube-apiserver on `port`, storing under `/registry-<name>` in the etcd at `etcdPort`. */
export function apiserverArgs(o: {
  readonly dir: string;
  readonly name: string;
  readonly etcdPort: number;
  readonly port: number;
  readonly pki: Pki;
  readonly serviceClusterIpRange: string;
}): string[] {
  const { dir, pki } = o;
  return [
    `--etcd-servers=http://127.0.0.1:${o.etcdPort}`,
    `--etcd-prefix=/registry-${o.name}`,
    "--bind-address=127.0.0.1",
    "--advertise-address=127.0.0.1",
    `--secure-port=${o.port}`,
    `--cert-dir=${join(dir, "pki")}`,
    `--tls-cert-file=${pki.servingCert}`,
    `--tls-private-key-file=${pki.servingKey}`,
    `--client-ca-file=${pki.caCert}`,
    `--service-account-key-file=${pki.saPub}`,
    `--service-account-signing-key-file=${pki.saKey}`,
    "--service-account-issuer=https://kubernetes.default.svc",
    "--authorization-mode=RBAC",
    `--service-cluster-ip-range=${o.serviceClusterIpRange}`,
    "--endpoint-reconciler-type=none",
    "--allow-privileged=true",
    "--profiling=false",
    "--v=1",
  ];
}

/** kube-controller-manager, without the controllers a local cluster has no use for. */
// What the controller manager and the scheduler share: one kubeconfig for everything, no serving
// port, no leader election (one replica), a client rate the benches do not hit.
const clientArgs = (kubeconfig: string): string[] => [
  `--kubeconfig=${kubeconfig}`,
  `--authentication-kubeconfig=${kubeconfig}`,
  `--authorization-kubeconfig=${kubeconfig}`,
  "--secure-port=0",
  "--leader-elect=false",
  "--kube-api-qps=200",
  "--kube-api-burst=400",
  "--v=1",
];

export function controllerManagerArgs(kubeconfig: string, pki: Pki): string[] {
  return [
    ...clientArgs(kubeconfig),
    `--service-account-private-key-file=${pki.saKey}`,
    `--root-ca-file=${pki.caCert}`,
    "--use-service-account-credentials=false",
    "--controllers=*,-nodeipam,-cloud-node-lifecycle,-service-lb-controller,-route,-persistentvolume-expander",
    "--concurrent-job-syncs=20",
    "--concurrent-gc-syncs=20",
  ];
}

export function schedulerArgs(kubeconfig: string): string[] {
  return clientArgs(kubeconfig);
}

/** kwok managing the nodes annotated fake, with the stage files `stages` (in order). */
export function kwokArgs(o: {
  readonly kubeconfig: string;
  readonly stages: readonly string[];
  readonly port: number;
  readonly pki: Pki;
}): string[] {
  return [
    `--kubeconfig=${o.kubeconfig}`,
    "--manage-all-nodes=false",
    "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
    ...o.stages.map((f) => `--config=${f}`),
    `--server-address=127.0.0.1:${o.port}`,
    "--node-ip=127.0.0.1",
    "--node-lease-duration-seconds=40",
    "--tls-cert-file=" + o.pki.adminCert,
    "--tls-private-key-file=" + o.pki.adminKey,
  ];
}
