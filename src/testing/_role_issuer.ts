/**
 * Private link between the local STS endpoint and the services beside it
 * (the local IAM Identity Center portal): each local STS registers a
 * function that issues temporary keys it will then accept, without an HTTP
 * call and without counting an STS action; a service given the STS handle
 * looks that function up.
 *
 * @module
 */

/** What to issue: a role session, as the role's trust policy would allow. */
export interface _RoleIssueRequest {
  /** `arn:aws:iam::ACCOUNT:role/PATH/NAME`. */
  roleArn: string;
  /** The role session name (2-64 characters of `[\w+=,.@-]`). */
  sessionName: string;
  /** Seconds the keys live. */
  lifetimeSeconds: number;
}

/** Temporary keys issued by the local STS. */
export interface _IssuedRoleCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  /** Expiry on the server's (possibly skewed) clock, in ms since the epoch. */
  expiration: number;
}

/** Issues role credentials that the registering local STS accepts. */
export type _RoleIssuer = (
  request: _RoleIssueRequest,
) => _IssuedRoleCredentials;

const ISSUERS = new WeakMap<object, _RoleIssuer>();

/** Registers the issuer of a local STS handle. */
export function _registerRoleIssuer(sts: object, issuer: _RoleIssuer): void {
  ISSUERS.set(sts, issuer);
}

/** The issuer of a local STS handle, or `undefined` for any other value. */
export function _roleIssuerOf(sts: unknown): _RoleIssuer | undefined {
  return typeof sts === "object" && sts !== null ? ISSUERS.get(sts) : undefined;
}
