/**
 * X.509 extension building blocks shared by the certificates this project issues: the
 * development TSA's (services/tsa/tsa-certs.ts) and the webhook server's (webhooks/certs.ts).
 */
import * as asn1js from "asn1js";
import * as pkijs from "pkijs";

/** An X.509 extension `id` whose value is `value` DER-encoded. */
export function x509Extension(
  id: string,
  critical: boolean,
  value: { toSchema(): asn1js.BaseBlock } | asn1js.BaseBlock,
): pkijs.Extension {
  const schema = "toSchema" in value ? value.toSchema() : value;
  return new pkijs.Extension({ extnID: id, critical, extnValue: schema.toBER(false) });
}

/**
 * KeyUsage bits as a BIT STRING, most significant bit first (digitalSignature = 0x80,
 * nonRepudiation = 0x40, keyCertSign = 0x04, cRLSign = 0x02), with `unusedBits` trailing zeros.
 */
export function keyUsageBits(byte: number, unusedBits: number): asn1js.BitString {
  return new asn1js.BitString({ valueHex: new Uint8Array([byte]).buffer, unusedBits });
}
