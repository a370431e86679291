/**
 * {@linkcode writeSsoTokenCache}: writes an IAM Identity Center token where
 * `aws sso login` leaves it, so that the AWS SDKs and the AWS CLI find it.
 *
 * @module
 */

/**
 * Options of {@linkcode writeSsoTokenCache}: the fields of the token file as
 * the AWS CLI v2 writes them after `aws sso login`.
 *
 * @example Usage
 * ```ts
 * import type { WriteSsoTokenCacheOptions } from "@brs/session/testing";
 *
 * const options: WriteSsoTokenCacheOptions = {
 *   home: "/tmp/test-home",
 *   sessionName: "my-sso",
 *   startUrl: "https://example.awsapps.com/start",
 *   region: "us-east-1",
 *   accessToken: "aoa-test-token",
 *   expiresAt: new Date(Date.now() + 3600_000),
 * };
 * ```
 */
export interface WriteSsoTokenCacheOptions {
  /**
   * The home directory: the file goes to `HOME/.aws/sso/cache/`, the one
   * place the AWS SDKs and the AWS CLI read it from (`AWS_CONFIG_FILE` does
   * not move it). Directories that are missing are created (mode 0700).
   */
  home: string;
  /**
   * The `sso_session` name of an `[sso-session NAME]` section: the file name
   * is the SHA-1 of it. Leave it out for a legacy profile (`sso_start_url`
   * in the profile itself): the file name is then the SHA-1 of the start
   * URL. @default {undefined}
   */
  sessionName?: string;
  /** `startUrl`: the portal's start URL (`sso_start_url`). */
  startUrl: string;
  /** `region`: the portal's region (`sso_region`). */
  region: string;
  /** `accessToken`: the bearer token of the portal. */
  accessToken: string;
  /** `expiresAt`: when the access token expires (written as `2024-01-02T03:04:05Z`). */
  expiresAt: Date;
  /** `clientId` of the OIDC client registration. @default {undefined} (left out) */
  clientId?: string;
  /** `clientSecret` of the OIDC client registration. @default {undefined} (left out) */
  clientSecret?: string;
  /** `registrationExpiresAt`: when the client registration expires. @default {undefined} (left out) */
  registrationExpiresAt?: Date;
  /**
   * `refreshToken`: what the SDKs trade for a new access token (OIDC
   * `CreateToken`) when this one is within 5 minutes of expiry. The AWS CLI
   * writes it for `sso_session` profiles only. @default {undefined} (left out)
   */
  refreshToken?: string;
}

/** `2024-01-02T03:04:05Z`, as the AWS CLI writes token times. */
function utcSeconds(date: Date, name: string): string {
  if (!(date instanceof Date) || Number.isNaN(date.getTime())) {
    throw new TypeError(
      `Cannot write SSO token cache as '${name}' must be a valid Date`,
    );
  }
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

function requireText(value: unknown, name: string): string {
  if (typeof value !== "string" || value === "") {
    throw new TypeError(
      `Cannot write SSO token cache as '${name}' must be a non-empty string`,
    );
  }
  return value;
}

async function sha1Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest(
    "SHA-1",
    new TextEncoder().encode(text),
  );
  return [...new Uint8Array(digest)]
    .map((b) => b.toString(16).padStart(2, "0"))
    .join("");
}

/** Creates `path` (mode 0700) unless it is there; returns what is there then. */
async function ensureDirectory(path: string): Promise<Deno.FileInfo> {
  try {
    await Deno.mkdir(path, { mode: 0o700 });
  } catch (error) {
    if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
  }
  return await Deno.lstat(path);
}

/** Refuses a directory another user could plant or swap files in. */
function checkDirectory(path: string, info: Deno.FileInfo, uid: number): void {
  if (!info.isDirectory) {
    throw new TypeError(
      `Cannot write SSO token cache as '${path}' is not a directory (a link or a file is there): remove it`,
    );
  }
  if (info.uid !== null && info.uid !== uid) {
    throw new TypeError(
      `Cannot write SSO token cache as '${path}' is owned by another user (uid ${info.uid}): use a home directory of your own`,
    );
  }
  if (info.mode !== null && (info.mode & 0o002) !== 0) {
    throw new TypeError(
      `Cannot write SSO token cache as '${path}' is writable by every user: chmod o-w it`,
    );
  }
}

/**
 * Writes an IAM Identity Center (SSO) access token to the token cache, byte
 * for byte as the AWS CLI v2's `aws sso login` does: one line of JSON in
 * `HOME/.aws/sso/cache/<SHA-1 hex>.json` (mode 0600), where the hash is of
 * the `sso_session` name for `[sso-session]` profiles and of the start URL
 * for legacy profiles, with the fields `startUrl`, `region`, `accessToken`,
 * `expiresAt`, then (when given) `clientId`, `clientSecret`,
 * `registrationExpiresAt` and `refreshToken`, and times as
 * `2024-01-02T03:04:05Z`. The AWS SDK for JavaScript, botocore (boto3, the
 * AWS CLI) and the other SDKs read it from there.
 *
 * The file is written to a temporary name and renamed into place, so a link
 * planted at the final name is replaced, never followed; a link or a file
 * where a directory belongs, and a directory owned by another user or
 * writable by every user, are refused.
 *
 * Use it with a temporary home directory in tests (set `HOME` for the code
 * under test); `LocalSso.login()` mints a token of a local portal and calls
 * this.
 *
 * Permissions: `--allow-read` and `--allow-write` of `HOME/.aws`.
 *
 * @param options The home directory, the session name or start URL, and the token's fields.
 * @returns The path of the file written.
 * @throws {TypeError} If a field is missing or invalid, a link or a file is where a directory belongs, or a directory is another user's or writable by every user.
 *
 * @example Usage
 * ```ts
 * import { writeSsoTokenCache } from "@brs/session/testing";
 * import { assertEquals, assertMatch } from "@std/assert";
 *
 * const home = await Deno.makeTempDir();
 * try {
 *   const path = await writeSsoTokenCache({
 *     home,
 *     sessionName: "my-sso",
 *     startUrl: "https://example.awsapps.com/start",
 *     region: "eu-west-1",
 *     accessToken: "aoa-test-token",
 *     expiresAt: new Date("2030-01-02T03:04:05.678Z"),
 *   });
 *   // The SHA-1 of "my-sso":
 *   assertMatch(path, /\/\.aws\/sso\/cache\/[0-9a-f]{40}\.json$/);
 *   assertEquals(
 *     await Deno.readTextFile(path),
 *     '{"startUrl": "https://example.awsapps.com/start", "region": "eu-west-1", ' +
 *       '"accessToken": "aoa-test-token", "expiresAt": "2030-01-02T03:04:05Z"}',
 *   );
 * } finally {
 *   await Deno.remove(home, { recursive: true });
 * }
 * ```
 */
export async function writeSsoTokenCache(
  options: WriteSsoTokenCacheOptions,
): Promise<string> {
  if (typeof options !== "object" || options === null) {
    throw new TypeError(
      "Cannot write SSO token cache as the options must be an object",
    );
  }
  const home = requireText(options.home, "home");
  const fields: [string, string][] = [
    ["startUrl", requireText(options.startUrl, "startUrl")],
    ["region", requireText(options.region, "region")],
    ["accessToken", requireText(options.accessToken, "accessToken")],
    ["expiresAt", utcSeconds(options.expiresAt, "expiresAt")],
  ];
  if (options.clientId !== undefined) {
    fields.push(["clientId", requireText(options.clientId, "clientId")]);
  }
  if (options.clientSecret !== undefined) {
    fields.push([
      "clientSecret",
      requireText(options.clientSecret, "clientSecret"),
    ]);
  }
  if (options.registrationExpiresAt !== undefined) {
    fields.push([
      "registrationExpiresAt",
      utcSeconds(options.registrationExpiresAt, "registrationExpiresAt"),
    ]);
  }
  if (options.refreshToken !== undefined) {
    fields.push([
      "refreshToken",
      requireText(options.refreshToken, "refreshToken"),
    ]);
  }
  const key = options.sessionName === undefined
    ? options.startUrl
    : requireText(options.sessionName, "sessionName");
  // Python's json.dumps: ", " and ": " separators, one line, no newline.
  const text = `{${
    fields.map(([name, value]) =>
      `${JSON.stringify(name)}: ${JSON.stringify(value)}`
    ).join(", ")
  }}`;
  const dirs: [string, Deno.FileInfo][] = [];
  let dir = home.replace(/\/+$/, "") || "/";
  for (const part of [".aws", "sso", "cache"]) {
    dir = `${dir === "/" ? "" : dir}/${part}`;
    const info = await ensureDirectory(dir);
    if (!info.isDirectory) checkDirectory(dir, info, -1);
    dirs.push([dir, info]);
  }
  const path = `${dir}/${await sha1Hex(key)}.json`;
  const existing = await Deno.lstat(path).catch(() => undefined);
  if (existing?.isDirectory) {
    throw new TypeError(
      `Cannot write SSO token cache as '${path}' is a directory: remove it`,
    );
  }
  // Created new (never through a link) and written through the same handle;
  // its owner is who we are (no --allow-sys needed to ask).
  const temporary = `${dir}/.${crypto.randomUUID()}.tmp`;
  const file = await Deno.open(temporary, {
    write: true,
    createNew: true,
    mode: 0o600,
  });
  try {
    const { uid } = await file.stat();
    if (uid !== null) {
      for (const [name, info] of dirs) checkDirectory(name, info, uid);
    }
    const bytes = new TextEncoder().encode(text);
    for (let written = 0; written < bytes.length;) {
      written += await file.write(bytes.subarray(written));
    }
  } catch (error) {
    file.close();
    await Deno.remove(temporary).catch(() => {});
    throw error;
  }
  file.close();
  try {
    await Deno.rename(temporary, path);
  } catch (error) {
    await Deno.remove(temporary).catch(() => {});
    throw error;
  }
  return path;
}
