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
import { assertInstanceOf, assertStrictEquals } from "@std/assert";
import {
  client,
  type ClientConfig,
  CustomRefreshableSession,
  resource,
  type SessionLike,
  type STSRefreshableSession,
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
  void documents;
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
export const _typeChecks = [_sessionClient, _sessionResource, _moduleLevel];

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
