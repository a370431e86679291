/**
 * The environment of an `exec` child: whatever `~/.aws` and the parent's
 * environment hold, the child's own default credential chain (AWS CLI v2,
 * boto3, the AWS SDKs) must end at the credentials brs gives it. Every
 * variable and file those chains consult before the environment keys or the
 * container provider is removed or replaced:
 *
 * - removed: every variable of `_child_credential_variables.ts` (profiles,
 *   static keys of every SDK, legacy names included, replaced by ours
 *   without `--server`; web identity; the container variables, replaced by
 *   ours with `--server`; credentials files), Java options variables that
 *   set `-Daws.` credential properties, brs's own lookup marker;
 * - `AWS_CONFIG_FILE`: a generated file whose `[default]` keeps the
 *   non-credential settings (region, output, retries, ...) of the profile
 *   the parent would have used, without role, source, process, SSO or keys;
 * - `AWS_SHARED_CREDENTIALS_FILE` and `BOTO_CONFIG`: an empty file;
 * - `AWS_REGION` / `AWS_DEFAULT_REGION`: the region when known;
 * - `BRS_EXEC`: the role (or profile) the child runs as, like aws-vault's
 *   `AWS_VAULT`.
 *
 * The files live in a fresh directory (made exclusively, mode 0700) inside
 * the cache directory, which is checked first (a real directory of the
 * current user, no group/world permissions: anything else is refused with
 * code `CacheDirectoryUnsafe`, before anything is written); each file is
 * created with `createNew`, so no write follows a link. They are removed
 * when the child ends. Where the cache directory cannot be written, the
 * three variables point at `/dev/null` (region still set).
 *
 * @module
 */

import { BRSConfigurationError } from "../errors.ts";
import {
  _createPrivateFile,
  _ensurePrivateDirectory,
  _makePrivateTempDir,
} from "../_private_dir.ts";
import { _awsConfigPath, _readAwsIni } from "./_aws_ini.ts";
import {
  _CREDENTIAL_VARIABLE_NAMES,
  _removeCredentialVariables,
} from "./_child_credential_variables.ts";
import { _LOOKUP_MARKER } from "./_resolve_session.ts";

/** The variable `exec` sets for its child. */
export const _EXEC_MARKER = "BRS_EXEC";

/** Variables removed from the child's environment. */
export const _REMOVED_FROM_CHILD: readonly string[] = [
  ..._CREDENTIAL_VARIABLE_NAMES,
  _LOOKUP_MARKER,
];

/** Keys of a profile that lead to credentials: never copied to the child. */
const _CREDENTIAL_KEYS = new Set([
  "aws_access_key_id",
  "aws_secret_access_key",
  "aws_session_token",
  "aws_security_token",
  "role_arn",
  "source_profile",
  "credential_source",
  "credential_process",
  "web_identity_token_file",
  "role_session_name",
  "external_id",
  "mfa_serial",
  "mfa_process",
  "mfa_stdin_file",
  "mfa_session_duration",
  "duration_seconds",
  "sso_session",
  "sso_start_url",
  "sso_region",
  "sso_account_id",
  "sso_role_name",
  "sso_registration_scopes",
  "login_session",
  "services",
  "include_profile",
  "parent_profile",
]);

/** The child's environment and the files made for it. */
export interface _ChildEnvironment extends AsyncDisposable {
  /** The complete environment (start the child with `clearEnv`). */
  env: Record<string, string>;
}

/**
 * Builds the child's environment from the parent's.
 *
 * @param parent The parent's environment.
 * @param options `directory`: where the private files go; `region`: the
 * region when known; `marker`: the value of `BRS_EXEC`.
 * @returns The environment; dispose of it when the child has ended.
 */
export async function _childEnvironment(
  parent: Record<string, string>,
  options: { directory: string; region?: string; marker: string },
): Promise<_ChildEnvironment> {
  const env = { ...parent };
  _removeCredentialVariables(env);
  for (const name of _REMOVED_FROM_CHILD) delete env[name];
  const profileName = parent.AWS_PROFILE || parent.AWS_DEFAULT_PROFILE ||
    "default";
  const config = await _readAwsIni(_awsConfigPath(), "config");
  const settings = { ...(config.get(profileName)?.values ?? {}) };
  for (const key of Object.keys(settings)) {
    if (_CREDENTIAL_KEYS.has(key) || /[\r\n\[\]]/.test(settings[key]!)) {
      delete settings[key];
    }
  }
  const region = options.region ?? settings.region;
  if (region !== undefined) settings.region = region;
  let dir: string | undefined;
  try {
    await _ensurePrivateDirectory(options.directory, {
      what: "the credential cache directory",
      advice: "set XDG_CACHE_HOME to a directory of your own",
    });
    dir = await _makePrivateTempDir(options.directory, "exec-");
    const lines = Object.entries(settings).map(([k, v]) => `${k} = ${v}`);
    await _createPrivateFile(
      `${dir}/config`,
      `# written by brs exec for its child; removed when it ends\n[default]\n${
        lines.join("\n")
      }\n`,
    );
    await _createPrivateFile(`${dir}/credentials`, "");
    env.AWS_CONFIG_FILE = `${dir}/config`;
    env.AWS_SHARED_CREDENTIALS_FILE = `${dir}/credentials`;
    env.BOTO_CONFIG = `${dir}/credentials`;
  } catch (error) {
    if (dir !== undefined) {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
    // A directory another user owns or links elsewhere: refused, nothing
    // written.
    if (error instanceof BRSConfigurationError) throw error;
    // The cache directory cannot be written (or --allow-write does not
    // cover it): the child still sees no credential file, only without the
    // profile's other settings.
    dir = undefined;
    env.AWS_CONFIG_FILE = "/dev/null";
    env.AWS_SHARED_CREDENTIALS_FILE = "/dev/null";
    env.BOTO_CONFIG = "/dev/null";
  }
  if (region !== undefined) {
    env.AWS_REGION = region;
    env.AWS_DEFAULT_REGION = region;
  }
  env[_EXEC_MARKER] = options.marker;
  return {
    env,
    [Symbol.asyncDispose]: async () => {
      if (dir !== undefined) {
        await Deno.remove(dir, { recursive: true }).catch(() => {});
      }
    },
  };
}
