/**
 * The profile planner, table-driven and in-process (no file, no network):
 * brs's own rules on top of the SDKs' shared ones (those run in
 * conformance_test.ts): region and endpoint precedence per hop, flags on the
 * last hop, the default base of `--role-arn`, TOML profiles with AWS
 * sources, the profile that started brs, and no secret in a printed plan.
 */
import { assert, assertEquals, assertThrows } from "@std/assert";
import { _parseAwsIni } from "../src/cli/_aws_ini.ts";
import {
  type _Plan,
  _planCredentials,
  type _PlanFlags,
} from "../src/cli/_plan.ts";
import type { _Profile } from "../src/cli/_profiles_file.ts";
import { BRSConfigurationError } from "../src/errors.ts";

const R1 = "arn:aws:iam::123456789012:role/one";
const R2 = "arn:aws:iam::123456789012:role/two";
const KEYS =
  "aws_access_key_id = AKIAPLANTESTKEY00001\naws_secret_access_key = planTestSecret0123456789abcdefghijklmnop\n";
const SECRET = "planTestSecret0123456789abcdefghijklmnop";

interface Input {
  config?: string;
  credentials?: string;
  toml?: Record<string, Partial<_Profile>>;
  env?: Record<string, string>;
  flags?: _PlanFlags;
}

function plan(input: Input): _Plan {
  return _planCredentials({
    config: _parseAwsIni(input.config ?? "", "/c", "config"),
    configFile: "/c",
    credentials: _parseAwsIni(input.credentials ?? "", "/k", "credentials"),
    credentialsFile: "/k",
    toml: new Map(
      Object.entries(input.toml ?? {}).map(([name, p]) => [
        name,
        { name, source: "toml", file: "/t.toml", lines: {}, ...p } as _Profile,
      ]),
    ),
    tomlFile: "/t.toml",
    env: input.env ?? {},
    flags: input.flags ?? {},
  });
}

/** A plan in a few words: leaf kind, then role@region@endpoint per hop. */
function words(p: _Plan): string {
  const leaf = p.leaf.kind === "keys"
    ? `keys:${p.leaf.fromEnv ? "env" : p.leaf.profile}`
    : p.leaf.kind === "credential-source"
    ? `source:${p.leaf.source}`
    : p.leaf.kind;
  return [
    leaf,
    ...p.hops.map((h) =>
      `${h.roleArn.split("/")[1]}@${h.region}${
        h.endpointUrl ? `@${h.endpointUrl}` : ""
      }${h.roleSessionName === "brs-cli" ? "" : `#${h.roleSessionName}`}`
    ),
  ].join(" > ");
}

const CHAIN =
  `[profile outer]\nrole_arn = ${R2}\nsource_profile = inner\nregion = eu-west-1\n` +
  `[profile inner]\nrole_arn = ${R1}\nsource_profile = base\nregion = eu-west-2\nservices = s\nendpoint_url = http://inner-own:1\n` +
  `[services s]\nsts =\n  endpoint_url = http://inner-services:1\n`;
const BASE = `[base]\n${KEYS}`;

const CASES: [string, Input, string][] = [
  [
    "each hop has its profile's region and endpoint ([services] over endpoint_url)",
    { config: CHAIN, credentials: BASE, flags: { profile: "outer" } },
    "keys:base > one@eu-west-2@http://inner-services:1 > two@eu-west-1",
  ],
  [
    "AWS_REGION wins over every profile's region",
    {
      config: CHAIN,
      credentials: BASE,
      flags: { profile: "outer" },
      env: { AWS_REGION: "ap-south-1", AWS_DEFAULT_REGION: "sa-east-1" },
    },
    "keys:base > one@ap-south-1@http://inner-services:1 > two@ap-south-1",
  ],
  [
    "AWS_DEFAULT_REGION when AWS_REGION is not set; --region over both",
    {
      config: CHAIN,
      credentials: BASE,
      flags: { profile: "outer", region: "ca-central-1" },
      env: { AWS_DEFAULT_REGION: "sa-east-1" },
    },
    "keys:base > one@ca-central-1@http://inner-services:1 > two@ca-central-1",
  ],
  [
    "AWS_ENDPOINT_URL_STS over AWS_ENDPOINT_URL over the profiles",
    {
      config: CHAIN,
      credentials: BASE,
      flags: { profile: "outer" },
      env: {
        AWS_ENDPOINT_URL_STS: "http://sts-env:1",
        AWS_ENDPOINT_URL: "http://all-env:1",
      },
    },
    "keys:base > one@eu-west-2@http://sts-env:1 > two@eu-west-1@http://sts-env:1",
  ],
  [
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS drops configured endpoints",
    {
      config: CHAIN,
      credentials: BASE,
      flags: { profile: "outer" },
      env: {
        AWS_ENDPOINT_URL: "http://all-env:1",
        AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: "true",
      },
    },
    "keys:base > one@eu-west-2 > two@eu-west-1",
  ],
  [
    "--endpoint-url and --role-session-name: the flag's endpoint on every hop, the name on the last",
    {
      config: CHAIN,
      credentials: BASE,
      flags: {
        profile: "outer",
        endpointUrl: "http://flag:1",
        roleSessionName: "mine",
      },
    },
    "keys:base > one@eu-west-2@http://flag:1 > two@eu-west-1@http://flag:1#mine",
  ],
  [
    "--role-arn replaces the role of the last hop only",
    {
      config: CHAIN,
      credentials: BASE,
      flags: { profile: "outer", roleArn: R1 },
    },
    "keys:base > one@eu-west-2@http://inner-services:1 > one@eu-west-1",
  ],
  [
    "--role-arn on a keys profile: its keys are the base",
    { credentials: BASE, flags: { profile: "base", roleArn: R1 } },
    "keys:base > one@us-east-1",
  ],
  [
    "--role-arn alone: the environment's keys first",
    {
      credentials: `[default]\n${KEYS}`,
      env: { AWS_ACCESS_KEY_ID: "AKIAENV", AWS_SECRET_ACCESS_KEY: "s" },
      flags: { roleArn: R1 },
    },
    "keys:env > one@us-east-1",
  ],
  [
    "--role-arn alone: else [default], with [default]'s region",
    {
      config: "[default]\nregion = eu-central-1\n",
      credentials: `[default]\n${KEYS}`,
      flags: { roleArn: R1 },
    },
    "keys:default > one@eu-central-1",
  ],
  [
    "--role-arn alone: else the SDK's default chain",
    { config: "[default]\nregion = eu-central-1\n", flags: { roleArn: R1 } },
    "default-chain > one@eu-central-1",
  ],
  [
    "the self-referencing [default]: one AssumeRole with its keys",
    {
      config: `[default]\nrole_arn = ${R1}\nsource_profile = default\n`,
      credentials: `[default]\n${KEYS}`,
    },
    "keys:default > one@us-east-1",
  ],
  [
    "a TOML role profile with an AWS source profile: the AWS chain, then the TOML hop",
    {
      config: CHAIN,
      credentials: BASE,
      toml: {
        t: {
          role_arn: R2,
          source_profile: "inner",
          role_session_name: "from-toml",
        },
      },
      flags: { profile: "t" },
    },
    "keys:base > one@eu-west-2@http://inner-services:1 > two@us-east-1#from-toml",
  ],
  [
    "a TOML role profile without a source: the default base",
    { toml: { t: { role_arn: R2 } }, flags: { profile: "t" } },
    "default-chain > two@us-east-1",
  ],
  [
    "AWS_PROFILE naming the credential_process profile that started brs is skipped",
    {
      config:
        `[profile brs]\ncredential_process = brs credentials\n[default]\nrole_arn = ${R1}\ncredential_source = Environment\n`,
      env: { AWS_PROFILE: "brs" },
    },
    "source:Environment > one@us-east-1",
  ],
  [
    "an SSO profile as the source of a role",
    {
      config:
        `[profile r]\nrole_arn = ${R1}\nsource_profile = s\n[profile s]\nsso_session = x\nsso_account_id = 123456789012\nsso_role_name = Dev\n[sso-session x]\nsso_start_url = https://x.awsapps.com/start\nsso_region = us-east-1\n`,
      flags: { profile: "r" },
    },
    "sso > one@us-east-1",
  ],
];

for (const [name, input, expected] of CASES) {
  Deno.test(`plan: ${name}`, () => {
    assertEquals(words(plan(input)), expected);
  });
}

const ERRORS: [string, Input, RegExp][] = [
  [
    "a keys-only profile without --role-arn",
    { credentials: BASE, flags: { profile: "base" } },
    /has no role_arn: give --role-arn/,
  ],
  [
    "a role_arn with no source in ~/.aws",
    { config: `[profile r]\nrole_arn = ${R1}\n`, flags: { profile: "r" } },
    /'role_arn' of profile 'r' in '\/c' line 2 as the profile names no base credentials/,
  ],
  [
    "a misspelt credential_source",
    {
      config:
        `[profile r]\nrole_arn = ${R1}\ncredential_source = Ec2InstanceMetdata\n`,
      flags: { profile: "r" },
    },
    /did you mean 'Ec2InstanceMetadata'/,
  ],
  [
    "a misspelt profile",
    { credentials: BASE, flags: { profile: "bsae", roleArn: R1 } },
    /'bsae'.*did you mean 'base'\?/,
  ],
  [
    "an sso_region that differs from the sso-session's",
    {
      config:
        `[profile s]\nsso_session = x\nsso_region = eu-west-1\nsso_account_id = 1\nsso_role_name = D\n[sso-session x]\nsso_start_url = https://x\nsso_region = us-east-1\n`,
      flags: { profile: "s" },
    },
    /'sso_region' of profile 's'.*differs/,
  ],
  [
    "a cycle through three profiles",
    {
      config:
        `[profile a]\nrole_arn = ${R1}\nsource_profile = b\n[profile b]\nrole_arn = ${R1}\nsource_profile = c\n[profile c]\nrole_arn = ${R1}\nsource_profile = a\n`,
      flags: { profile: "a" },
    },
    /'a' -> 'b' -> 'c' -> 'a'/,
  ],
];

for (const [name, input, pattern] of ERRORS) {
  Deno.test(`plan error: ${name}`, () => {
    const error = assertThrows(() => plan(input));
    assert(
      error instanceof BRSConfigurationError,
      `${(error as Error).name}: ${(error as Error).message}`,
    );
    assert(pattern.test(error.message), error.message);
    assert(!error.message.includes("\n"));
  });
}

Deno.test("plan: unknown keys of the profiles used are warnings naming file, profile and line", () => {
  const p = plan({
    config:
      `[profile r]\nrole_arn = ${R1}\nsource_profile = base\nrole_sesion_name = x\n`,
    credentials: BASE,
    flags: { profile: "r" },
  });
  assertEquals(p.warnings, [
    "Ignoring unknown key 'role_sesion_name' of profile 'r' in '/c' line 4 (did you mean 'role_session_name'?)",
  ]);
});

Deno.test("plan: a plan holding static keys prints no secret (JSON, Deno.inspect)", () => {
  const p = plan({
    credentials: BASE,
    flags: { profile: "base", roleArn: R1 },
  });
  assertEquals(p.leaf.kind === "keys" && p.leaf.keys.secretAccessKey, SECRET);
  assert(!JSON.stringify(p).includes(SECRET));
  assert(!Deno.inspect(p, { depth: 10 }).includes(SECRET));
});
