/**
 * Compile-time tests of the typed `client()` and `resource()`: `deno test`
 * type-checks this file before it runs it, so each `@ts-expect-error` line
 * below must really be a type error (a line that compiles fails the run as
 * an unused directive). The functions holding them are never called; the
 * tests at the end check at run time that the typed calls behave.
 */

import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { STSClient } from "@aws-sdk/client-sts";
import {
  assertEquals,
  assertInstanceOf,
  assertNotStrictEquals,
  assertStrictEquals,
  assertThrows,
} from "@std/assert";
import {
  BRSValidationError,
  client,
  type ClientConfig,
  CustomRefreshableSession,
  type RefreshEventDetail,
  resource,
  type SessionLike,
  type STSRefreshableSession,
  type WarningEventDetail,
} from "../mod.ts";
import { _resetDefaultSession } from "../src/default_session.ts";

/** A class whose constructor requires a config. */
class Needy {
  constructor(readonly config: { name: string; size?: number }) {}
  destroy(): void {}
}

/** A class whose constructor takes nothing. */
class Bare {
  destroy(): void {}
}

function _sessionClient(session: STSRefreshableSession): void {
  // The client keeps its class.
  const sts: STSClient = session.client(STSClient, { region: "eu-west-1" });
  const dynamo: DynamoDBClient = session.client(DynamoDBClient, {
    maxAttempts: 3,
    endpoint: "http://127.0.0.1:8000",
  });
  // @ts-expect-error an STSClient is not a DynamoDBClient
  const wrong: DynamoDBClient = session.client(STSClient);
  // @ts-expect-error misspelt option
  session.client(STSClient, { regoin: "eu-west-1" });
  // @ts-expect-error mistyped option
  session.client(STSClient, { maxAttempts: "three" });
  // @ts-expect-error mistyped option of another class
  session.client(DynamoDBClient, { endpoint: 8000 });
  // @ts-expect-error not a class
  session.client((region: string) => region);
  // @ts-expect-error misspelt cache option
  session.client(STSClient, {}, { maxSise: 3 });
  session.client(Needy, { name: "a" });
  // @ts-expect-error mistyped option of a user class
  session.client(Needy, { name: 1 });
  session.client(Bare);
  // @ts-expect-error a class that takes no config takes none here either
  session.client(Bare, { region: "eu-west-1" });
  const config: ClientConfig<typeof STSClient> = { region: "eu-west-1" };
  session.client(STSClient, config);
  // @ts-expect-error a config of another class
  session.client(Needy, config);
  void [sts, dynamo, wrong];
}

function _sessionResource(session: CustomRefreshableSession): void {
  const documents: DynamoDBDocumentClient = session.resource(
    DynamoDBDocumentClient,
    DynamoDBClient,
    { region: "eu-west-1" },
  );
  // @ts-expect-error misspelt option
  session.resource(DynamoDBDocumentClient, DynamoDBClient, { regoin: "x" });
  // @ts-expect-error the wrapper takes a DynamoDBClient, not an STSClient
  session.resource(DynamoDBDocumentClient, STSClient);
  // @ts-expect-error a wrapper needs from(client)
  session.resource({}, DynamoDBClient);
  // The wrapper's own options are typed by its from(client, options).
  const lenient: DynamoDBDocumentClient = session.resource(
    DynamoDBDocumentClient,
    DynamoDBClient,
    undefined,
    {
      wrapperOptions: { marshallOptions: { removeUndefinedValues: true } },
      maxSize: 8,
    },
  );
  session.resource(DynamoDBDocumentClient, DynamoDBClient, undefined, {
    // @ts-expect-error misspelt wrapper option
    wrapperOptions: { marshalOptions: { removeUndefinedValues: true } },
  });
  session.resource(DynamoDBDocumentClient, DynamoDBClient, undefined, {
    // @ts-expect-error mistyped wrapper option
    wrapperOptions: { marshallOptions: { removeUndefinedValues: "yes" } },
  });
  // A wrapper whose from(client) takes no options takes none here either.
  const plain = { from: (sts: STSClient) => ({ sts }) };
  session.resource(plain, STSClient, undefined, { maxSize: 2 });
  // @ts-expect-error from(client) takes no options
  session.resource(plain, STSClient, undefined, { wrapperOptions: {} });
  void [documents, lenient];
}

function _sessionEvents(session: CustomRefreshableSession): void {
  // Each event's listener gets its typed CustomEvent: no cast.
  session.addEventListener("refresh", (event) => {
    const expiry: string = event.detail.expiryTime;
    const suffix: string = event.detail.accessKeyIdSuffix;
    // @ts-expect-error a refresh event carries no error
    void event.detail.error;
    void [expiry, suffix];
  });
  session.addEventListener("refresh-error", (event) => {
    const code: string = event.detail.error.code;
    const retryAt: Date | undefined = event.detail.retryAt;
    // @ts-expect-error a refresh-error event carries no expiry
    void event.detail.expiryTime;
    void [code, retryAt];
  });
  session.addEventListener("warning", {
    handleEvent(event): void {
      const code: string = event.detail.code;
      // @ts-expect-error a warning carries no key id
      void event.detail.accessKeyIdSuffix;
      void code;
    },
  });
  session.addEventListener("refresh", (event) => {
    // @ts-expect-error the old name of the key id field is gone
    void event.detail.accessKeyIdPrefix;
  });
  const onRefresh = (event: CustomEvent<RefreshEventDetail>): void => {
    void event;
  };
  // @ts-expect-error a listener of refresh events is not one of warnings
  session.addEventListener("warning", onRefresh);
  // Any other event type stays a plain EventTarget event.
  session.addEventListener("custom", (event: Event) => void event);
  const listener = (event: CustomEvent<WarningEventDetail>): void => void event;
  session.addEventListener("warning", listener);
  session.removeEventListener("warning", listener);
}

function _moduleLevel(like: SessionLike): void {
  const sts: STSClient = client(STSClient, { region: "eu-west-1" });
  const fromLike: STSClient = like.client(STSClient, { maxAttempts: 2 });
  const documents: DynamoDBDocumentClient = resource(
    DynamoDBDocumentClient,
    DynamoDBClient,
    { region: "eu-west-1" },
  );
  // @ts-expect-error misspelt option
  client(STSClient, { regoin: "eu-west-1" });
  // @ts-expect-error mistyped option
  client(STSClient, { maxAttempts: "three" });
  // @ts-expect-error misspelt option through a SessionLike
  like.client(STSClient, { regoin: "eu-west-1" });
  // @ts-expect-error mistyped option
  resource(DynamoDBDocumentClient, DynamoDBClient, { maxAttempts: "3" });
  // @ts-expect-error misspelt option through a SessionLike
  like.resource(DynamoDBDocumentClient, DynamoDBClient, { regoin: "x" });
  // @ts-expect-error an STSClient is not a DynamoDBClient
  const wrong: DynamoDBClient = client(STSClient);
  void [sts, fromLike, documents, wrong];
}

// Referenced so that lint sees them used; never called.
export const _typeChecks = [
  _sessionClient,
  _sessionResource,
  _sessionEvents,
  _moduleLevel,
];

/** A session over static example credentials that last an hour. */
function _session(): CustomRefreshableSession {
  const expiryTime = new Date(Date.now() + 3_600_000).toISOString();
  const credentials = {
    expiryTime,
    accessKey: "ASIATYPES",
    secretKey: "types-secret",
    token: "types-token",
  };
  return new CustomRefreshableSession({
    region: "eu-west-1",
    provider: () => credentials,
  });
}

Deno.test("session.client() builds an instance of the class it is given, with the typed config", async () => {
  await using session = _session();
  const needy = session.client(Needy, { name: "a", size: 2 });
  assertInstanceOf(needy, Needy);
  assertStrictEquals(needy.config.name, "a");
  assertStrictEquals(needy.config.size, 2);
  assertInstanceOf(session.client(Bare), Bare);
  const sts = session.client(STSClient, { maxAttempts: 2 });
  assertInstanceOf(sts, STSClient);
  assertStrictEquals(await sts.config.maxAttempts(), 2);
  assertStrictEquals(await sts.config.region(), "eu-west-1");
});

Deno.test("module-level client() and resource() keep the class of what they build", () => {
  try {
    const sts = client(STSClient, {
      region: "eu-west-1",
      endpoint: "http://127.0.0.1:1",
    });
    assertInstanceOf(sts, STSClient);
    const documents = resource(DynamoDBDocumentClient, DynamoDBClient, {
      region: "eu-west-1",
      endpoint: "http://127.0.0.1:1",
    });
    assertInstanceOf(documents, DynamoDBDocumentClient);
  } finally {
    _resetDefaultSession();
  }
});

Deno.test("session.resource() passes wrapperOptions to Wrapper.from and caches by them", async () => {
  await using session = _session();
  const marshallOptions = { removeUndefinedValues: true };
  const plain = session.resource(DynamoDBDocumentClient, DynamoDBClient);
  const lenient = session.resource(
    DynamoDBDocumentClient,
    DynamoDBClient,
    undefined,
    { wrapperOptions: { marshallOptions } },
  );
  assertNotStrictEquals(lenient, plain);
  assertEquals(
    lenient.config.translateConfig?.marshallOptions,
    marshallOptions,
  );
  assertEquals(plain.config.translateConfig?.marshallOptions, undefined);
  // Equal options by value: the same resource; other options: another.
  assertStrictEquals(
    session.resource(DynamoDBDocumentClient, DynamoDBClient, {}, {
      wrapperOptions: { marshallOptions: { removeUndefinedValues: true } },
    }),
    lenient,
  );
  assertNotStrictEquals(
    session.resource(DynamoDBDocumentClient, DynamoDBClient, {}, {
      wrapperOptions: { marshallOptions: { convertEmptyValues: true } },
    }),
    lenient,
  );
  // A { from } object is a wrapper too, cached by its identity.
  const calls: unknown[] = [];
  const wrapper = {
    from: (sts: STSClient, options?: { tag: string }) => {
      calls.push(options);
      return { sts, tag: options?.tag };
    },
  };
  const a = session.resource(wrapper, STSClient, undefined, {
    wrapperOptions: { tag: "a" },
  });
  assertStrictEquals(a.tag, "a");
  assertStrictEquals(
    session.resource(wrapper, STSClient, undefined, {
      wrapperOptions: { tag: "a" },
    }),
    a,
  );
  assertStrictEquals(session.resource(wrapper, STSClient).tag, undefined);
  assertEquals(calls, [{ tag: "a" }, undefined]);
  assertThrows(
    () =>
      session.resource(
        wrapper,
        STSClient,
        undefined,
        "big" as unknown as { maxSize: 1 },
      ),
    BRSValidationError,
    "'options' must be an object",
  );
});

Deno.test("module-level resource() passes wrapperOptions and caches by them", () => {
  try {
    const config = { region: "eu-west-1", endpoint: "http://127.0.0.1:1" };
    const plain = resource(DynamoDBDocumentClient, DynamoDBClient, config);
    const lenient = resource(DynamoDBDocumentClient, DynamoDBClient, config, {
      wrapperOptions: { marshallOptions: { removeUndefinedValues: true } },
    });
    assertNotStrictEquals(lenient, plain);
    assertEquals(
      lenient.config.translateConfig?.marshallOptions?.removeUndefinedValues,
      true,
    );
    assertStrictEquals(
      resource(DynamoDBDocumentClient, DynamoDBClient, { ...config }, {
        wrapperOptions: { marshallOptions: { removeUndefinedValues: true } },
      }),
      lenient,
    );
  } finally {
    _resetDefaultSession();
  }
});

Deno.test("session events reach typed listeners, and removeEventListener stops them", async () => {
  await using session = _session();
  const seen: string[] = [];
  const listener = (event: CustomEvent<RefreshEventDetail>): void => {
    seen.push(`${event.detail.reason} ${event.detail.accessKeyIdSuffix}`);
  };
  session.addEventListener("refresh", listener);
  await session.refreshableCredentials();
  session.removeEventListener("refresh", listener);
  await session.refresh({ force: true });
  assertEquals(seen, ["Initial SIATYPES"]);
});
