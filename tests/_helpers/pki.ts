/**
 * A throw-away PKI for the IoT tests, made with Debian's `/usr/bin/openssl`
 * at test time: a CA, a server certificate for localhost / 127.0.0.1, device
 * certificates (X.509 v3, `clientAuth`), an expired one, and one from another
 * CA.
 *
 * @module
 */

/** Where openssl is expected (Debian's package `openssl`). */
export const OPENSSL = "/usr/bin/openssl";

/** Whether openssl is there (tests are ignored with a reason otherwise). */
export const HAVE_OPENSSL: boolean = (() => {
  try {
    return Deno.statSync(OPENSSL).isFile;
  } catch {
    return false;
  }
})();

/** PEM texts and file paths of the test PKI. */
export interface TestPki {
  /** The directory holding every file. */
  dir: string;
  /** CA certificate (PEM). */
  ca: string;
  /** Server certificate and key (PEM). */
  serverCert: string;
  serverKey: string;
  /** Device certificate for CN=`thing` and its key (PEM), plus their file paths. */
  deviceCert: string;
  deviceKey: string;
  deviceCertFile: string;
  deviceKeyFile: string;
  /** A device certificate already expired (same key). */
  expiredCert: string;
  /** A device certificate from another CA, and its key. */
  strangerCert: string;
  strangerKey: string;
  /** Another key (does not match `deviceCert`). */
  otherKey: string;
}

async function openssl(dir: string, ...args: string[]): Promise<void> {
  const out = await new Deno.Command(OPENSSL, {
    args,
    cwd: dir,
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(
      `openssl ${args[0]} failed: ${new TextDecoder().decode(out.stderr)}`,
    );
  }
}

/**
 * Makes the PKI in a new temporary directory.
 *
 * @param thing The device certificate's CN (the thing name).
 * @returns The PEM texts and paths; remove `dir` afterwards.
 */
export async function makeTestPki(thing = "thing-1"): Promise<TestPki> {
  const dir = await Deno.makeTempDir({ prefix: "brs-pki-" });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
  await Deno.writeTextFile(
    `${dir}/server.ext`,
    "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
  );
  await Deno.writeTextFile(
    `${dir}/client.ext`,
    "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=clientAuth\n",
  );
  for (const ca of ["ca", "stranger-ca"]) {
    await openssl(
      dir,
      "req",
      "-x509",
      ...ec,
      "-keyout",
      `${ca}.key`,
      "-out",
      `${ca}.crt`,
      "-days",
      "2",
      "-subj",
      `/CN=${ca}`,
    );
  }
  const sign = async (
    name: string,
    subject: string,
    ca: string,
    ext: string,
    days: string,
    key?: string,
  ): Promise<void> => {
    await openssl(
      dir,
      "req",
      ...(key === undefined
        ? [...ec, "-keyout", `${name}.key`]
        : ["-new", "-key", key]),
      "-out",
      `${name}.csr`,
      "-subj",
      subject,
    );
    await openssl(
      dir,
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      `${ca}.crt`,
      "-CAkey",
      `${ca}.key`,
      "-CAcreateserial",
      "-out",
      `${name}.crt`,
      "-days",
      days,
      "-extfile",
      ext,
    );
  };
  await sign("server", "/CN=localhost", "ca", "server.ext", "2");
  await sign("device", `/CN=${thing}`, "ca", "client.ext", "2");
  // `-days 0`: valid until the moment it is made.
  await sign("expired", `/CN=${thing}`, "ca", "client.ext", "0", "device.key");
  await sign("stranger", `/CN=${thing}`, "stranger-ca", "client.ext", "2");
  await openssl(
    dir,
    "genpkey",
    "-algorithm",
    "EC",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-out",
    "other.key",
  );
  const read = (f: string): Promise<string> => Deno.readTextFile(`${dir}/${f}`);
  return {
    dir,
    ca: await read("ca.crt"),
    serverCert: await read("server.crt"),
    serverKey: await read("server.key"),
    deviceCert: await read("device.crt"),
    deviceKey: await read("device.key"),
    deviceCertFile: `${dir}/device.crt`,
    deviceKeyFile: `${dir}/device.key`,
    expiredCert: await read("expired.crt"),
    strangerCert: await read("stranger.crt"),
    strangerKey: await read("stranger.key"),
    otherKey: await read("other.key"),
  };
}
