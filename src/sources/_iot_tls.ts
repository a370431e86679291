/**
 * Private helpers of the IoT session: load the X.509 client certificate, its
 * key and the trusted CAs (PEM strings or files), check them before any TLS
 * handshake (parse, key match, validity), and make the mutual-TLS HTTP client.
 * Key material never appears in a message, `details` or `cause`.
 *
 * @module
 */

import { createPrivateKey, X509Certificate } from "node:crypto";
import { BRSConfigurationError } from "../errors.ts";
import { _readOptionFile } from "./_read_option_file.ts";
import { _READ_CAPS } from "../_read_bounded.ts";

/** Tells whether a value is PEM text rather than a file path. */
export function _isPem(value: string): boolean {
  return value.trimStart().startsWith("-----BEGIN ");
}

/**
 * Returns the PEM text of an option: the string itself, or the file it names
 * (read now, so a renewed certificate is used at the next refresh).
 *
 * @param value A PEM string or a file path.
 * @param param The option, for messages.
 * @returns The PEM text.
 * @throws {BRSConfigurationError} If the file cannot be read.
 */
export async function _loadPem(value: string, param: string): Promise<string> {
  if (_isPem(value)) return value;
  const bytes = await _readOptionFile(
    value,
    param,
    "the file",
    _READ_CAPS.pem,
  );
  const text = new TextDecoder().decode(bytes);
  if (!_isPem(text)) {
    throw new BRSConfigurationError(
      `Cannot refresh credentials as the file '${value}' given by '${param}' does not hold PEM text (-----BEGIN ...): convert it with openssl or give the PEM string`,
      { param, details: { path: value } },
    );
  }
  return text;
}

/** What {@linkcode _checkClientCertificate} found out. */
export interface _CertificateFacts {
  /** The subject, e.g. `CN=thing-1`. */
  subject: string;
  /** The end of validity. */
  validTo: Date;
  /** The SHA-256 fingerprint. */
  fingerprint256: string;
}

/**
 * Parses the certificate and key, and checks that they match and that the
 * certificate is valid at `nowMs`.
 *
 * @param certificatePem The client certificate.
 * @param keyPem Its private key.
 * @param nowMs The time to check validity at.
 * @returns Facts about the certificate (no secret).
 * @throws {BRSConfigurationError} If a PEM does not parse, they do not match,
 * or the certificate is expired or not valid yet.
 */
export function _checkClientCertificate(
  certificatePem: string,
  keyPem: string,
  nowMs: number,
): _CertificateFacts {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(certificatePem);
  } catch {
    throw new BRSConfigurationError(
      "Cannot refresh credentials as 'certificate' is not a PEM X.509 certificate: give the device certificate (-----BEGIN CERTIFICATE-----) or its file",
      { param: "certificate" },
    );
  }
  let key: ReturnType<typeof createPrivateKey>;
  try {
    key = createPrivateKey(keyPem);
  } catch {
    // No cause: a parser's message could quote the key.
    throw new BRSConfigurationError(
      "Cannot refresh credentials as 'privateKey' is not a PEM private key (RSA, ECDSA or Ed25519): give the device's private key (-----BEGIN PRIVATE KEY-----) or its file",
      { param: "privateKey" },
    );
  }
  const facts: _CertificateFacts = {
    subject: certificate.subject.replaceAll("\n", ", "),
    validTo: new Date(certificate.validTo),
    fingerprint256: certificate.fingerprint256,
  };
  let matches = false;
  try {
    matches = certificate.checkPrivateKey(key);
  } catch {
    matches = false;
  }
  if (!matches) {
    throw new BRSConfigurationError(
      `Cannot refresh credentials as 'privateKey' does not match 'certificate' (${facts.subject}): give the key the certificate was issued for`,
      { param: "privateKey", details: { subject: facts.subject } },
    );
  }
  const validFrom = new Date(certificate.validFrom);
  if (nowMs >= facts.validTo.getTime()) {
    throw new BRSConfigurationError(
      `Cannot refresh credentials as 'certificate' (${facts.subject}) expired at ${facts.validTo.toISOString()}: renew the device certificate`,
      {
        param: "certificate",
        details: {
          subject: facts.subject,
          validTo: facts.validTo.toISOString(),
        },
      },
    );
  }
  if (nowMs < validFrom.getTime()) {
    throw new BRSConfigurationError(
      `Cannot refresh credentials as 'certificate' (${facts.subject}) is not valid before ${validFrom.toISOString()}: check the certificate or the system clock`,
      { param: "certificate", details: { subject: facts.subject } },
    );
  }
  return facts;
}

/**
 * Makes the mutual-TLS HTTP client (`Deno.createHttpClient`, stable in Deno
 * 2: no unstable flag, no permission beyond `--allow-net` for the fetch).
 *
 * @param certificatePem The client certificate chain.
 * @param keyPem Its private key.
 * @param caCerts Extra CAs to trust for the server, or `undefined` for the system's.
 * @returns The client; close it after use.
 * @throws {BRSConfigurationError} If Deno refuses the material (e.g. an X.509 v1 certificate).
 */
export function _mutualTlsClient(
  certificatePem: string,
  keyPem: string,
  caCerts: string[] | undefined,
): Deno.HttpClient {
  try {
    return Deno.createHttpClient({
      cert: certificatePem,
      key: keyPem,
      ...(caCerts === undefined ? {} : { caCerts }),
    });
  } catch (error) {
    const text = error instanceof Error ? error.message : "";
    const reason = /UnsupportedCertVersion/.test(text)
      ? "is an X.509 v1 certificate, which TLS clients refuse: issue a v3 certificate (with extensions)"
      : /KeyMismatch/.test(text)
      ? "does not match 'privateKey'"
      : "was refused by the TLS client";
    throw new BRSConfigurationError(
      `Cannot refresh credentials as 'certificate' or 'caCertificates' ${reason}`,
      { param: "certificate" },
    );
  }
}
