import { readFileSync } from "node:fs";
import type { Pki } from "./pki.ts";

const b64 = (p: string): string => readFileSync(p).toString("base64");

/** A self-contained kubeconfig (certificates inlined) for the admin user. */
export function kubeconfigYaml(o: {
  readonly name: string;
  readonly server: string;
  readonly pki: Pki;
}): string {
  return `apiVersion: v1
kind: Config
clusters:
- name: ${o.name}
  cluster:
    server: ${o.server}
    certificate-authority-data: ${b64(o.pki.caCert)}
users:
- name: ${o.name}-admin
  user:
    client-certificate-data: ${b64(o.pki.adminCert)}
    client-key-data: ${b64(o.pki.adminKey)}
contexts:
- name: ${o.name}
  context:
    cluster: ${o.name}
    user: ${o.name}-admin
current-context: ${o.name}
`;
}
