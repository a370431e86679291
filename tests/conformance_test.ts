/**
 * The AWS SDKs' shared conformance data (tests/fixtures/conformance/, from
 * the AWS SDK for Rust) run against the CLI's profile parser and planner:
 * profile-file parsing, file locations and assume-role chains. Every case
 * runs; the few where brs keeps the AWS CLI v2's behaviour are listed below
 * with the reason, and each of those is asserted to behave as chosen.
 */
import { assert, assertEquals } from "@std/assert";
import {
  _awsConfigPath,
  _awsCredentialsPath,
  type _IniFile,
  _mergeAwsProfiles,
  _parseAwsIni,
} from "../src/cli/_aws_ini.ts";
import {
  type _Plan,
  _planCredentials,
  _selectProfile,
} from "../src/cli/_plan.ts";

const DIR = new URL("./fixtures/conformance/", import.meta.url);

function load<T>(name: string): T {
  return JSON.parse(Deno.readTextFileSync(new URL(name, DIR)));
}

/** Cases where brs keeps the AWS CLI v2's behaviour, with the reason. */
const CHOICES: Record<string, string> = {
  "Property definitions must contain an equals sign.":
    "brs reads 'key: value' as the AWS CLI v2 and boto3 do (Python's configparser), instead of failing the whole file",
  "SSO token profile selected":
    "a profile with only sso_session yields an SSO bearer token, not AWS credentials: brs needs credentials, so it is a configuration error naming the missing sso_account_id, as the AWS CLI v2 fails when asked for credentials",
};

/** Cases that cannot apply to brs, with the reason. */
const NOT_APPLICABLE =
  "brs finds the home directory from HOME only (Deno on every platform), so the Windows-only cases of USERPROFILE and HOMEDRIVE/HOMEPATH do not apply";

function sortDeep(v: unknown): unknown {
  if (v && typeof v === "object" && !Array.isArray(v)) {
    return Object.fromEntries(
      Object.keys(v).sort().map((
        k,
      ) => [k, sortDeep((v as Record<string, unknown>)[k])]),
    );
  }
  return v;
}

interface ParserCase {
  name: string;
  input: { configFile?: string; credentialsFile?: string };
  output: {
    config?: {
      profiles: Record<string, unknown>;
      sso_sessions?: Record<string, unknown>;
    };
    errorContaining?: string;
  };
}

function parseCase(c: ParserCase): Record<string, unknown> {
  const config = _parseAwsIni(c.input.configFile ?? "", "config", "config");
  const credentials = _parseAwsIni(
    c.input.credentialsFile ?? "",
    "credentials",
    "credentials",
  );
  const merged = _mergeAwsProfiles(
    { sections: config, file: "config" },
    { sections: credentials, file: "credentials" },
  );
  const profiles = Object.fromEntries(
    [...merged].map(([name, p]) => [name, p.values]),
  );
  const sso = Object.fromEntries(
    [...config.values()].filter((s) => s.kind === "sso-session").map((
      s,
    ) => [s.name, s.values]),
  );
  return {
    profiles,
    ...(c.output.config?.sso_sessions ? { sso_sessions: sso } : {}),
  };
}

Deno.test("profile-parser-tests.json: every case passes, or behaves as the AWS CLI v2 where brs chose it", async (t) => {
  const { tests } = load<{ tests: ParserCase[] }>("profile-parser-tests.json");
  let passed = 0;
  for (const c of tests) {
    await t.step(c.name, () => {
      if (c.name in CHOICES) {
        // chosen: the line is read as `key = value`
        const out = parseCase(c);
        assertEquals(out.profiles, { foo: { key: "value" } });
        return;
      }
      if (c.output.errorContaining !== undefined) {
        let error: unknown;
        try {
          parseCase(c);
        } catch (e) {
          error = e;
        }
        assert(
          error instanceof Error,
          `expected an error: ${c.output.errorContaining}`,
        );
        const { message } = error as Error;
        // one line, naming the file and line
        assert(!message.includes("\n"), message);
        assert(/ line \d+/.test(message), message);
      } else {
        assertEquals(sortDeep(parseCase(c)), sortDeep(c.output.config));
      }
      passed++;
    });
  }
  assertEquals(
    passed +
      Object.keys(CHOICES).filter((n) => tests.some((c) => c.name === n))
        .length,
    tests.length,
  );
});

interface LocationCase {
  name: string;
  environment: Record<string, string>;
  platform: string;
  profile?: string;
  configLocation: string;
  credentialsLocation: string;
}

Deno.test("file-location-tests.json: every POSIX case passes", async (t) => {
  const { tests } = load<{ tests: LocationCase[] }>("file-location-tests.json");
  let ran = 0;
  for (const c of tests) {
    await t.step({
      name: c.platform === "windows"
        ? `${c.name} (not applicable: ${NOT_APPLICABLE})`
        : c.name,
      ignore: c.platform === "windows",
      fn: () => {
        assertEquals(_awsConfigPath(c.environment), c.configLocation);
        assertEquals(_awsCredentialsPath(c.environment), c.credentialsLocation);
        if (c.profile !== undefined) {
          assertEquals(
            _selectProfile({}, c.environment)?.name ?? "default",
            c.profile,
          );
        }
        ran++;
      },
    });
  }
  assertEquals(ran, tests.filter((c) => c.platform !== "windows").length);
});

interface RoleCase {
  docs: string;
  input: {
    profiles: Record<string, Record<string, string>>;
    sso_sessions?: Record<string, Record<string, string>>;
    selected_profile: string;
  };
  output: { ProfileChain?: Record<string, unknown>[]; Error?: string };
}

function sections(
  profiles: Record<string, Record<string, string>>,
  sso: Record<string, Record<string, string>> = {},
): _IniFile {
  const out: _IniFile = new Map();
  for (const [name, values] of Object.entries(profiles)) {
    out.set(name, {
      name,
      isProfile: true,
      line: 1,
      values: { ...values },
      lines: {},
    });
  }
  for (const [name, values] of Object.entries(sso)) {
    out.set(`[sso-session ${name}]`, {
      name,
      isProfile: false,
      kind: "sso-session",
      line: 1,
      values: { ...values },
      lines: {},
    });
  }
  return out;
}

/** A plan in the suite's words. */
function chainOf(plan: _Plan): Record<string, unknown>[] {
  const leaf = plan.leaf;
  const session = (name: string): Record<string, string> =>
    name === "brs-cli" ? {} : { role_session_name: name };
  const base: Record<string, unknown> = leaf.kind === "keys"
    ? {
      AccessKey: {
        access_key_id: leaf.keys.accessKeyId,
        secret_access_key: leaf.keys.secretAccessKey,
        ...(leaf.accountId ? { account_id: leaf.accountId } : {}),
      },
    }
    : leaf.kind === "credential-source"
    ? { NamedSource: leaf.source }
    : leaf.kind === "web-identity"
    ? {
      WebIdentityToken: {
        role_arn: leaf.roleArn,
        web_identity_token_file: leaf.tokenFile,
        ...session(leaf.roleSessionName),
      },
    }
    : leaf.kind === "sso"
    ? {
      Sso: {
        sso_account_id: leaf.accountId,
        sso_region: leaf.ssoRegion,
        sso_role_name: leaf.roleName,
        sso_start_url: leaf.startUrl,
        ...(leaf.ssoSession ? { sso_session: leaf.ssoSession } : {}),
      },
    }
    : { [leaf.kind]: {} };
  return [
    base,
    ...plan.hops.map((h) => ({
      AssumeRole: {
        role_arn: h.roleArn,
        ...(h.externalId ? { external_id: h.externalId } : {}),
        ...session(h.roleSessionName),
      },
    })),
  ];
}

Deno.test("assume-role-tests.json: every case passes, or behaves as the AWS CLI v2 where brs chose it", async (t) => {
  const tests = load<RoleCase[]>("assume-role-tests.json");
  let passed = 0;
  for (const c of tests) {
    await t.step(c.docs, () => {
      let plan: _Plan | undefined;
      let error: unknown;
      try {
        plan = _planCredentials({
          config: sections(c.input.profiles, c.input.sso_sessions),
          configFile: "config",
          credentials: new Map(),
          credentialsFile: "credentials",
          toml: new Map(),
          env: {},
          flags: { profile: c.input.selected_profile },
          checkValues: false,
          allowLeafOnly: true,
        });
      } catch (e) {
        error = e;
      }
      if (c.docs in CHOICES) {
        assert(
          error instanceof Error && /sso_account_id/.test(error.message),
          String(error),
        );
        return;
      }
      if (c.output.Error !== undefined) {
        assert(error instanceof Error, `expected an error: ${c.output.Error}`);
        const { message, name } = error as Error;
        assert(!message.includes("\n"), message);
        assertEquals(name, "BRSConfigurationError", message);
      } else {
        if (error) throw error;
        assertEquals(sortDeep(chainOf(plan!)), sortDeep(c.output.ProfileChain));
      }
      passed++;
    });
  }
  assertEquals(passed + 1, tests.length);
});
