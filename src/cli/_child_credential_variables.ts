/**
 * The environment variables through which an AWS SDK or tool finds
 * credentials, a profile or a credentials file: `exec` removes each of them
 * from its child's environment (and then sets its own), so that the child
 * runs on exactly the credentials brs gives it. guide/cli.md keeps the same
 * list as a table, with the SDKs that read each variable.
 *
 * @module
 */

/** A variable removed from the `exec` child's environment, and who reads it. */
export interface _CredentialVariable {
  /** The variable. */
  name: string;
  /** The SDKs and tools that read it. */
  readBy: string;
}

/** Every variable removed from the child, in the order of the table. */
export const _CREDENTIAL_VARIABLES: readonly _CredentialVariable[] = Object
  .freeze([
    { name: "AWS_ACCESS_KEY_ID", readBy: "every AWS SDK and the AWS CLI" },
    { name: "AWS_SECRET_ACCESS_KEY", readBy: "every AWS SDK and the AWS CLI" },
    { name: "AWS_SESSION_TOKEN", readBy: "every AWS SDK and the AWS CLI" },
    { name: "AWS_SECURITY_TOKEN", readBy: "botocore (boto3, AWS CLI), boto2" },
    {
      name: "AWS_CREDENTIAL_EXPIRATION",
      readBy: "JavaScript v3, botocore (boto3, AWS CLI)",
    },
    { name: "AWS_SESSION_EXPIRATION", readBy: "aws-vault and tools it feeds" },
    { name: "AWS_CREDENTIAL_SCOPE", readBy: "JavaScript v3" },
    {
      name: "AWS_ACCOUNT_ID",
      readBy: "JavaScript v3, Java v2, botocore, Go v2 (with the keys)",
    },
    {
      name: "AWS_ACCESS_KEY",
      readBy:
        "Java v1 (before AWS_ACCESS_KEY_ID), Go v1/v2, Ruby, JavaScript v2",
    },
    {
      name: "AWS_SECRET_KEY",
      readBy:
        "Java v1 (before AWS_SECRET_ACCESS_KEY), Go v1/v2, Ruby, JavaScript v2",
    },
    { name: "AMAZON_ACCESS_KEY_ID", readBy: "Ruby, JavaScript v2" },
    { name: "AMAZON_SECRET_ACCESS_KEY", readBy: "Ruby, JavaScript v2" },
    { name: "AMAZON_SESSION_TOKEN", readBy: "Ruby, JavaScript v2" },
    { name: "EC2_ACCESS_KEY", readBy: "boto2, the EC2 API tools" },
    { name: "EC2_SECRET_KEY", readBy: "boto2, the EC2 API tools" },
    {
      name: "AWS_BEARER_TOKEN_BEDROCK",
      readBy: "JavaScript v3, botocore, Java v2 (Bedrock API keys)",
    },
    { name: "AWS_PROFILE", readBy: "every AWS SDK and the AWS CLI" },
    {
      name: "AWS_DEFAULT_PROFILE",
      readBy: "AWS CLI, botocore, Go v1, Ruby",
    },
    {
      name: "AWS_CONFIG_FILE",
      readBy: "every AWS SDK and the AWS CLI (replaced by a file of brs)",
    },
    {
      name: "AWS_SHARED_CREDENTIALS_FILE",
      readBy: "every AWS SDK and the AWS CLI (replaced by an empty file)",
    },
    { name: "AWS_CREDENTIAL_PROFILES_FILE", readBy: "Java v1" },
    {
      name: "AWS_CREDENTIAL_FILE",
      readBy: "botocore (its legacy EC2 provider), the EC2 API tools",
    },
    {
      name: "BOTO_CONFIG",
      readBy:
        "botocore (boto2 config provider), boto2 (replaced by an empty file)",
    },
    {
      name: "AWS_ROLE_ARN",
      readBy: "every AWS SDK and the AWS CLI (web identity)",
    },
    {
      name: "AWS_ROLE_SESSION_NAME",
      readBy: "every AWS SDK and the AWS CLI (web identity)",
    },
    {
      name: "AWS_WEB_IDENTITY_TOKEN_FILE",
      readBy: "every AWS SDK and the AWS CLI",
    },
    {
      name: "AWS_CONTAINER_CREDENTIALS_FULL_URI",
      readBy: "every AWS SDK and the AWS CLI (set by brs with --server)",
    },
    {
      name: "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
      readBy: "every AWS SDK and the AWS CLI",
    },
    {
      name: "AWS_CONTAINER_AUTHORIZATION_TOKEN",
      readBy: "every AWS SDK and the AWS CLI (set by brs with --server)",
    },
    {
      name: "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
      readBy: "JavaScript v3, Java v2, botocore, Go v2, Rust, .NET",
    },
  ]);

/** The names of {@linkcode _CREDENTIAL_VARIABLES}. */
export const _CREDENTIAL_VARIABLE_NAMES: readonly string[] = Object.freeze(
  _CREDENTIAL_VARIABLES.map((v) => v.name),
);

/**
 * Java system properties that name credentials, a profile or a credentials
 * file (`-Daws.accessKeyId=...`): the JVM takes them from these variables.
 */
export const _JAVA_OPTION_VARIABLES: readonly string[] = Object.freeze([
  "JAVA_TOOL_OPTIONS",
  "JDK_JAVA_OPTIONS",
  "_JAVA_OPTIONS",
]);

/** The Java properties through which Java v1 and v2 find credentials. */
const _JAVA_CREDENTIAL_PROPERTY =
  /-Daws\.(accessKeyId|secretKey|secretAccessKey|sessionToken|profile|sharedCredentialsFile|configFile|webIdentityTokenFile|roleArn|roleSessionName|containerCredentialsFullUri|containerCredentialsPath|containerAuthorizationToken|accountId)=/i;

/**
 * Removes every credential variable from `env` (in place), and each Java
 * options variable that sets a credential property.
 *
 * @param env The child's environment, a copy of the parent's.
 * @returns The names removed.
 */
export function _removeCredentialVariables(
  env: Record<string, string>,
): string[] {
  const removed: string[] = [];
  for (const name of _CREDENTIAL_VARIABLE_NAMES) {
    if (name in env) {
      delete env[name];
      removed.push(name);
    }
  }
  for (const name of _JAVA_OPTION_VARIABLES) {
    const value = env[name];
    if (value !== undefined && _JAVA_CREDENTIAL_PROPERTY.test(value)) {
      delete env[name];
      removed.push(name);
    }
  }
  return removed;
}
