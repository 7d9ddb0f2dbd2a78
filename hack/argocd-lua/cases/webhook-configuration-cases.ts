/**
 * Health cases of the webhook configurations: vaultmesh-validating and vaultmesh-mutating as
 * the webhook package renders them for a cluster (webhooks/manifests.ts), before and after
 * the CA bundle is injected, and another product's configuration.
 */
import { WEBHOOK_SERVICE } from "../../../webhooks/manifest-file.ts";
import {
  renderWebhookConfigurations,
  type WebhookConfiguration,
} from "../../../webhooks/manifests.ts";
import { type HealthCase, plain } from "./case-kit.ts";

/** A stand-in CA certificate: the health check reads only whether a bundle is there. */
const CA_PEM = [
  "-----BEGIN CERTIFICATE-----",
  "MIIBdzCCAR2gAwIBAgIUVmF1bHRNZXNoIHRlc3RkYXRhIENBMAoGCCqGSM49BAMC",
  "-----END CERTIFICATE-----",
  "",
].join("\n");

type Which = "validating" | "mutating";

function configuration(which: Which, injected: boolean): WebhookConfiguration {
  const target = { service: WEBHOOK_SERVICE };
  return renderWebhookConfigurations(injected ? { target, caBundlePem: CA_PEM } : { target })[
    which
  ];
}

function cases(which: Which): HealthCase[] {
  const rendered = configuration(which, false);
  const first = rendered.webhooks[0]?.name ?? "";
  const injected = configuration(which, true);
  const foreign = {
    ...rendered,
    metadata: { name: "other-product", labels: { "app.kubernetes.io/name": "other-product" } },
  };
  return [
    {
      name: "healthy-ca-injected",
      object: plain(injected),
      want: { status: "Healthy", message: "every webhook has a CA bundle" },
    },
    {
      name: "progressing-ca-not-injected",
      object: plain(rendered),
      want: {
        status: "Progressing",
        message: `waiting for the CA bundle of webhook ${first} (injected by the webhook server, or by cert-manager's cainjector)`,
      },
    },
    {
      name: "healthy-other-product",
      object: plain(foreign),
      want: { status: "Healthy", message: "" },
    },
  ];
}

/** The ValidatingWebhookConfiguration cases. */
export const validatingWebhookCases = (): HealthCase[] => cases("validating");
/** The MutatingWebhookConfiguration cases. */
export const mutatingWebhookCases = (): HealthCase[] => cases("mutating");
