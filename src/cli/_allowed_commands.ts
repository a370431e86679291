/**
 * MFA commands allowed from the environment: `BRS_ALLOWED_COMMANDS` lists
 * names or absolute paths separated by `:` (as `PATH` does), so that a
 * `~/.aws/config` user, who has no TOML `allowed_commands`, can allow a
 * custom OTP tool or a wrapper script named by `mfa_process`.
 *
 * @module
 */

/** The variable read. */
export const _ALLOWED_COMMANDS_VARIABLE = "BRS_ALLOWED_COMMANDS";

/**
 * The commands of `BRS_ALLOWED_COMMANDS` added to a profile's
 * `allowed_commands`.
 *
 * @param profile The profile's own list, if any.
 * @returns Both lists, the profile's first, without empty entries.
 */
export function _allowedCommands(profile: readonly string[] = []): string[] {
  const listed = Deno.env.get(_ALLOWED_COMMANDS_VARIABLE) ?? "";
  return [...profile, ...listed.split(":").filter((c) => c.trim() !== "")];
}
