/**
 * A deliberately hostile STS endpoint for tests: a raw `Deno.serve` on
 * 127.0.0.1 that answers AssumeRole well (mode `"good"`) or in one of many
 * broken ways. It never verifies signatures: it tests the client side only.
 *
 * @module
 */

/** How the endpoint answers. */
export type HostileMode =
  | "good"
  | "malformed-xml"
  | "missing-fields"
  | "expired"
  | "far-future"
  | "unparseable-expiration"
  | "error-body-200"
  | "huge-body"
  | "slow-drip"
  | "reset"
  | "redirect"
  | "redirect-other-host";

/** Every hostile mode (all but `"good"`). */
export const HOSTILE_MODES: readonly HostileMode[] = [
  "malformed-xml",
  "missing-fields",
  "expired",
  "far-future",
  "unparseable-expiration",
  "error-body-200",
  "huge-body",
  "slow-drip",
  "reset",
  "redirect",
  "redirect-other-host",
];

/** A running hostile endpoint. */
export interface HostileSts extends AsyncDisposable {
  /** `http://127.0.0.1:PORT`. */
  readonly url: string;
  /** The current mode; settable. */
  mode: HostileMode;
  /** Requests that reached the endpoint. */
  readonly calls: number;
  /** Requests that reached the redirect target (another origin). */
  readonly redirectTargetCalls: number;
  /** Every secret handed out (secret keys and session tokens). */
  readonly secrets: readonly string[];
  /** Lifetime of good credentials, in seconds. */
  lifetimeSeconds: number;
  /** Stops both servers and every drip. */
  close(): Promise<void>;
}

function _random(prefix: string, length: number): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  return prefix + Array.from(bytes, (b) => alphabet[b % 32]).join("");
}

function _assumeRoleXml(credentials: string): string {
  return `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult>
    <AssumedRoleUser>
      <AssumedRoleId>AROAHOSTILE:brs</AssumedRoleId>
      <Arn>arn:aws:sts::123456789012:assumed-role/app/brs</Arn>
    </AssumedRoleUser>
    <Credentials>${credentials}</Credentials>
  </AssumeRoleResult>
  <ResponseMetadata><RequestId>${crypto.randomUUID()}</RequestId></ResponseMetadata>
</AssumeRoleResponse>`;
}

/**
 * Starts the endpoint (and a second server, the redirect target, on another
 * port of 127.0.0.1).
 *
 * @returns The handle.
 */
export function startHostileSts(): Promise<HostileSts> {
  const controller = new AbortController();
  const drips = new Set<ReturnType<typeof setInterval>>();
  const secrets: string[] = [];
  let calls = 0;
  let redirectTargetCalls = 0;

  const target = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    signal: controller.signal,
    onListen: () => {},
  }, async (request) => {
    redirectTargetCalls++;
    await request.body?.cancel();
    return new Response("not here", { status: 500 });
  });
  const targetUrl = `http://127.0.0.1:${target.addr.port}/`;

  const state = {
    mode: "good" as HostileMode,
    lifetimeSeconds: 3600,
  };

  function credentialsXml(expiration: string, withToken = true): string {
    const secret = _random("hostileSecret", 28);
    const token = _random("hostileToken", 120);
    secrets.push(secret, token);
    return `<AccessKeyId>${_random("ASIA", 16)}</AccessKeyId>` +
      `<SecretAccessKey>${secret}</SecretAccessKey>` +
      (withToken ? `<SessionToken>${token}</SessionToken>` : "") +
      `<Expiration>${expiration}</Expiration>`;
  }

  function xml(body: string, status = 200): Response {
    return new Response(body, {
      status,
      headers: { "content-type": "text/xml", date: new Date().toUTCString() },
    });
  }

  function inSeconds(seconds: number): string {
    return new Date(Date.now() + seconds * 1000).toISOString();
  }

  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    signal: controller.signal,
    onListen: () => {},
  }, async (request) => {
    calls++;
    await request.body?.cancel();
    switch (state.mode) {
      case "good":
        return xml(
          _assumeRoleXml(credentialsXml(inSeconds(state.lifetimeSeconds))),
        );
      case "malformed-xml":
        return xml(
          _assumeRoleXml(credentialsXml(inSeconds(3600))).slice(0, 150) +
            "<<</Credentials &amp",
        );
      case "missing-fields":
        return xml(_assumeRoleXml(credentialsXml(inSeconds(3600), false)));
      case "expired":
        return xml(_assumeRoleXml(credentialsXml(inSeconds(-600))));
      case "far-future":
        return xml(_assumeRoleXml(credentialsXml("9999-12-31T23:59:59Z")));
      case "unparseable-expiration":
        return xml(_assumeRoleXml(credentialsXml("tomorrow-ish")));
      case "error-body-200":
        return xml(
          `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>nope</Message></Error><RequestId>1</RequestId></ErrorResponse>`,
        );
      case "huge-body": {
        // 5 MiB of unclosed element text before the credentials.
        const padding = "A".repeat(5 * 1024 * 1024);
        return xml(
          _assumeRoleXml(credentialsXml(inSeconds(3600)))
            .replace("<AssumeRoleResult>", `<AssumeRoleResult><X>${padding}`),
        );
      }
      case "slow-drip": {
        const encoder = new TextEncoder();
        let id: ReturnType<typeof setInterval> | undefined;
        const body = new ReadableStream<Uint8Array>({
          start(c): void {
            c.enqueue(encoder.encode("<AssumeRoleResponse>"));
            id = setInterval(() => {
              try {
                c.enqueue(encoder.encode(" "));
              } catch {
                clearInterval(id);
                if (id !== undefined) drips.delete(id);
              }
            }, 100);
            drips.add(id);
          },
          cancel(): void {
            clearInterval(id);
            if (id !== undefined) drips.delete(id);
          },
        });
        return new Response(body, {
          headers: {
            "content-type": "text/xml",
            date: new Date().toUTCString(),
          },
        });
      }
      case "reset": {
        const encoder = new TextEncoder();
        const text = _assumeRoleXml(credentialsXml(inSeconds(3600)));
        const body = new ReadableStream<Uint8Array>({
          pull(c): void {
            c.enqueue(encoder.encode(text.slice(0, 200)));
            c.close();
          },
        });
        return new Response(body, {
          headers: {
            "content-type": "text/xml",
            "content-length": String(text.length),
            date: new Date().toUTCString(),
          },
        });
      }
      case "redirect":
        return new Response(null, {
          status: 302,
          headers: { location: "http://127.0.0.2:1/" },
        });
      case "redirect-other-host":
        return new Response(null, {
          status: 307,
          headers: { location: targetUrl },
        });
    }
  });

  async function close(): Promise<void> {
    for (const id of drips) clearInterval(id);
    drips.clear();
    controller.abort();
    await Promise.all([server.finished, target.finished]);
  }

  return Promise.resolve({
    url: `http://127.0.0.1:${server.addr.port}`,
    get mode(): HostileMode {
      return state.mode;
    },
    set mode(value: HostileMode) {
      state.mode = value;
    },
    get lifetimeSeconds(): number {
      return state.lifetimeSeconds;
    },
    set lifetimeSeconds(value: number) {
      state.lifetimeSeconds = value;
    },
    get calls(): number {
      return calls;
    },
    get redirectTargetCalls(): number {
      return redirectTargetCalls;
    },
    secrets,
    close,
    [Symbol.asyncDispose]: close,
  });
}

/** A clock that tests can move forward (wall and monotonic together). */
export interface MovableClock {
  /** Wall clock, ms since the epoch. */
  now(): number;
  /** Monotonic clock, ms. */
  monotonic(): number;
  /** Moves both clocks forward. */
  advance(ms: number): void;
}

/**
 * A real clock plus an offset the test moves.
 *
 * @returns The clock.
 */
export function movableClock(): MovableClock {
  let offset = 0;
  return {
    now: () => Date.now() + offset,
    monotonic: () => performance.now() + offset,
    advance: (ms: number) => {
      offset += ms;
    },
  };
}
