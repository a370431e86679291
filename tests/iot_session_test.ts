import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertMatch,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import {
  BRSConfigurationError,
  BRSRefreshError,
  BRSValidationError,
  createRefreshableSession,
  IoTRefreshableSession,
  type IoTRefreshableSessionOptions,
} from "../mod.ts";
import {
  type LocalIotCredentials,
  type LocalSts,
  startLocalIotCredentials,
  startLocalSts,
} from "../src/testing/mod.ts";
import { HAVE_OPENSSL, makeTestPki, type TestPki } from "./_helpers/pki.ts";
import { assertNoSecrets } from "./_helpers/scan.ts";
import {
  ManualClock,
  printedForms,
  recordEvents,
} from "./_helpers/sessions.ts";

const ignore = !HAVE_OPENSSL;
/** Says why a test is ignored (Deno.test has no field for it). */
const why = ignore ? "[ignored: needs Debian's /usr/bin/openssl] " : "";
const ROLE = "arn:aws:iam::123456789012:role/device";

interface World {
  pki: TestPki;
  sts: LocalSts;
  iot: LocalIotCredentials;
  options(
    extra?: Partial<IoTRefreshableSessionOptions>,
  ): IoTRefreshableSessionOptions;
  [Symbol.asyncDispose](): Promise<void>;
}

let shared: TestPki | undefined;

async function world(): Promise<World> {
  // One PKI per test file: openssl takes a moment.
  const pki = shared ??= await makeTestPki("thing-1");
  const sts = await startLocalSts();
  const iot = await startLocalIotCredentials({
    sts,
    serverCertificate: pki.serverCert,
    serverKey: pki.serverKey,
    clientCaCertificates: [pki.ca],
    roleAliases: { "device-role": ROLE },
  });
  return {
    pki,
    sts,
    iot,
    options: (extra = {}) => ({
      endpoint: iot.url,
      roleAlias: "device-role",
      thingName: "thing-1",
      certificate: pki.deviceCertFile,
      privateKey: pki.deviceKeyFile,
      caCertificates: [pki.ca],
      stsClientConfig: { endpoint: sts.url },
      region: "us-east-1",
      ...extra,
    }),
    async [Symbol.asyncDispose](): Promise<void> {
      await iot.close();
      await sts.close();
    },
  };
}

Deno.test({
  name:
    "IoTRefreshableSession gets role credentials over mutual TLS that sign real SDK calls, one call for 1000 callers",
  ignore,
  async fn(): Promise<void> {
    await using w = await world();
    await using session = new IoTRefreshableSession(w.options());
    const all = await Promise.all(
      Array.from({ length: 1000 }, () => session.credentialProvider()),
    );
    assertEquals(new Set(all.map((c) => c.accessKeyId)).size, 1);
    assertEquals(w.iot.calls, 1);
    const client = session.client(STSClient, { endpoint: w.sts.url });
    const me = await client.send(new GetCallerIdentityCommand({}));
    assertMatch(
      me.Arn!,
      /^arn:aws:sts::123456789012:assumed-role\/device\/[0-9a-f]{64}$/,
    );
    assertEquals((await session.whoami()).Arn, me.Arn);
    assertEquals(w.iot.requests[0], { thingName: "thing-1", status: 200 });
    const forced = await session.refresh({ force: true });
    assert(forced.accessKey !== all[0]!.accessKeyId);
    assertEquals(w.iot.calls, 2);
  },
});

Deno.test({
  name:
    'IoTRefreshableSession takes PEM strings as well as files, and createRefreshableSession({ method: "iot" })',
  ignore,
  async fn(): Promise<void> {
    await using w = await world();
    await using session = createRefreshableSession({
      method: "iot",
      ...w.options({
        certificate: w.pki.deviceCert,
        privateKey: w.pki.deviceKey,
      }),
    });
    assertInstanceOf(session, IoTRefreshableSession);
    const c = await session.refreshableCredentials();
    assertMatch(c.accessKey, /^ASIA/);
  },
});

Deno.test({
  name:
    "IoTRefreshableSession: a key that does not match, an expired certificate or a bad PEM fails before any connection",
  ignore,
  async fn(): Promise<void> {
    await using w = await world();
    const cases: [Partial<IoTRefreshableSessionOptions>, string, string][] = [
      [
        { privateKey: w.pki.otherKey },
        "privateKey",
        "does not match 'certificate' (CN=thing-1)",
      ],
      [
        { certificate: w.pki.expiredCert, privateKey: w.pki.deviceKey },
        "certificate",
        "expired at",
      ],
      [
        {
          certificate:
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        },
        "certificate",
        "is not a PEM X.509 certificate",
      ],
      [
        {
          privateKey:
            "-----BEGIN PRIVATE KEY-----\nsecretkeymaterial\n-----END PRIVATE KEY-----\n",
        },
        "privateKey",
        "is not a PEM private key",
      ],
      [
        { privateKey: `${w.pki.dir}/missing.key` },
        "privateKey",
        "does not exist",
      ],
      [
        { certificate: `${w.pki.dir}/server.ext` },
        "certificate",
        "does not hold PEM text",
      ],
    ];
    for (const [extra, param, text] of cases) {
      await using session = new IoTRefreshableSession(w.options(extra));
      const error = await assertRejects(
        () => session.refreshableCredentials(),
        BRSConfigurationError,
      );
      assertEquals(error.param, param);
      assertStringIncludes(error.message, text);
      assertNoSecrets(
        [
          error.message,
          Deno.inspect(error, { depth: 10 }),
          JSON.stringify(error),
        ],
        [
          w.pki.deviceKey,
          w.pki.otherKey,
          "secretkeymaterial",
          ...keyBodies(w.pki),
        ],
        `the error for ${param}`,
      );
    }
    assertEquals(w.iot.calls, 0);
  },
});

Deno.test({
  name:
    "IoTRefreshableSession: a TLS failure (untrusted server, certificate of another CA) is a typed TLSError",
  ignore,
  async fn(): Promise<void> {
    await using w = await world();
    const cases: Partial<IoTRefreshableSessionOptions>[] = [
      { caCertificates: undefined }, // the system's trust store does not know the test CA
      { certificate: w.pki.strangerCert, privateKey: w.pki.strangerKey },
    ];
    for (const extra of cases) {
      await using session = new IoTRefreshableSession(w.options(extra));
      const error = await assertRejects(
        () => session.refreshableCredentials(),
        BRSRefreshError,
      );
      assertEquals(error.code, "TLSError");
      assertEquals(error.details.recoverable, false);
      assertStringIncludes(error.message, "TLS handshake");
    }
  },
});

Deno.test({
  name:
    "IoTRefreshableSession maps the provider's answers: 403 and 404 at once, 429 with backoff, a reply without fields is InvalidReply",
  ignore,
  async fn(): Promise<void> {
    await using w = await world();
    const clock = new ManualClock();
    await using session = new IoTRefreshableSession(w.options({ clock }));
    w.iot.injectFault({ kind: "throttle", times: 1 });
    const throttled = await assertRejects(
      () => session.refreshableCredentials(),
      BRSRefreshError,
    );
    assertEquals(throttled.code, "Throttling");
    assertEquals(throttled.details.recoverable, true);
    assert(throttled.retryAt !== undefined);
    await assertRejects(
      () => session.refreshableCredentials(),
      BRSRefreshError,
    );
    assertEquals(w.iot.calls, 1); // within the backoff: no new call
    clock.offset += 120_000;
    assertMatch((await session.refreshableCredentials()).accessKey, /^ASIA/);

    w.iot.injectFault({ kind: "missing-fields", times: 1 });
    const missing = await assertRejects(
      () => session.refresh({ force: true }),
      BRSRefreshError,
    );
    assertEquals(missing.code, "InvalidReply");
    assertStringIncludes(missing.message, "lacks sessionToken, expiration");

    for (
      const [extra, code] of [
        [{ thingName: "thing-2" }, "IoTAccessDenied"],
        [{ roleAlias: "no-such-alias" }, "IoTRoleAliasNotFound"],
      ] as const
    ) {
      await using other = new IoTRefreshableSession(w.options(extra));
      const error = await assertRejects(
        () => other.refreshableCredentials(),
        BRSRefreshError,
      );
      assertEquals(error.code, code);
      assertEquals(error.details.recoverable, false);
    }
  },
});

Deno.test("IoTRefreshableSession rejects bad options with errors that name them", () => {
  const good = {
    endpoint: "c2abcdefghijkl.credentials.iot.eu-west-1.amazonaws.com",
    roleAlias: "device-role",
    thingName: "thing-1",
    certificate: "/etc/device/cert.pem",
    privateKey: "/etc/device/key.pem",
  };
  const bad: [Record<string, unknown>, string][] = [
    [{ endpoint: "http://x.example" }, "'endpoint' must be"],
    [{ endpoint: "https://x.example/path" }, "'endpoint' must be"],
    [{ roleAlias: "a/b" }, "'roleAlias' must be 1-128 characters"],
    [{ thingName: "" }, "'thingName' must be a thing name"],
    [{ thingName: "thing 1" }, "'thingName' must be 1-128 characters"],
    [{ certificate: 42 }, "'certificate' must be PEM text or the path"],
    [
      { privateKey: "" },
      "'privateKey' must be PEM text or the path of a PEM file: got an empty string",
    ],
    [{ caCertificates: "ca.pem" }, "'caCertificates' must be an array"],
    [{ cert: "x" }, "cert"],
  ];
  for (const [extra, text] of bad) {
    assertThrows(
      () => new IoTRefreshableSession({ ...good, ...extra } as never),
      BRSValidationError,
      text,
    );
  }
  const session = new IoTRefreshableSession({
    ...good,
    endpoint: "https://localhost:8443",
  });
  assertEquals(session.endpoint, "https://localhost:8443");
  session.close();
});

function keyBodies(pki: TestPki): string[] {
  // The base64 lines of the keys: no fragment of key material may leak.
  return [pki.deviceKey, pki.otherKey, pki.strangerKey].flatMap((k) =>
    k.split("\n").filter((line) =>
      line.length >= 16 && !line.startsWith("-----")
    )
  );
}

Deno.test({
  name:
    "IoTRefreshableSession never shows key material or credentials in inspect, JSON, events or errors",
  ignore,
  async fn(): Promise<void> {
    await using w = await world();
    const texts: string[] = [];
    await using session = new IoTRefreshableSession(
      w.options({ privateKey: w.pki.deviceKey }),
    );
    recordEvents(session, texts);
    const credentials = await session.refreshableCredentials();
    w.iot.injectFault({ kind: "access-denied", times: 1 });
    const error = await assertRejects(
      () => session.refresh({ force: true }),
      BRSRefreshError,
    );
    texts.push(...printedForms(session, error));
    assertStringIncludes(texts.join("\n"), "thing-1");
    assertNoSecrets(texts, [
      w.pki.deviceKey,
      ...keyBodies(w.pki),
      credentials.secretKey,
      credentials.token,
    ], "printed session, events and errors");
  },
});

Deno.test({
  name:
    "local IoT endpoint refuses a client without a certificate at the TLS handshake",
  ignore,
  async fn(): Promise<void> {
    await using w = await world();
    const client = Deno.createHttpClient({ caCerts: [w.pki.ca] });
    try {
      await assertRejects(() =>
        fetch(`${w.iot.url}/role-aliases/device-role/credentials`, {
          client,
          headers: { "x-amzn-iot-thingname": "thing-1" },
        })
      );
    } finally {
      client.close();
    }
    assertEquals(w.iot.calls, 0);
  },
});

Deno.test({
  name: why + "test PKI cleanup",
  ignore,
  async fn(): Promise<void> {
    if (shared) await Deno.remove(shared.dir, { recursive: true });
    shared = undefined;
  },
});
