import { partition } from "@aws-sdk/core/client";
import { assert, assertEquals, assertThrows } from "@std/assert";
import { join } from "node:path";
import { BRSValidationError } from "../../mod.ts";
import {
  _availableProfiles,
  _getAvailablePartitions,
  _getAvailableRegions,
  _getPartitionForRegion,
  _PARTITION_NON_REGIONAL,
  _PARTITION_REGIONS,
} from "../../src/engine/_aws_metadata.ts";
import { withEnv } from "../_helpers/env.ts";

async function withAwsFiles(
  files: { config?: string; credentials?: string },
  fn: () => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "brs-aws-metadata-" });
  try {
    const configPath = join(dir, "config");
    const credentialsPath = join(dir, "credentials");
    if (files.config !== undefined) {
      await Deno.writeTextFile(configPath, files.config);
    }
    if (files.credentials !== undefined) {
      await Deno.writeTextFile(credentialsPath, files.credentials);
    }
    await withEnv({
      AWS_CONFIG_FILE: configPath,
      AWS_SHARED_CREDENTIALS_FILE: credentialsPath,
    }, fn);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("_availableProfiles() lists config and credentials profiles, sorted and unique", async () => {
  await withAwsFiles({
    config: [
      "[default]",
      "region = us-east-1",
      "[profile dev]",
      "region = eu-west-1",
      "[profile prod]",
      "role_arn = arn:aws:iam::123456789012:role/app",
      "source_profile = dev",
      "[sso-session corp]",
      "sso_region = us-east-1",
      "[services local]",
      "sts =",
      "  endpoint_url = http://127.0.0.1:1",
    ].join("\n"),
    credentials: [
      "[default]",
      "aws_access_key_id = AKIAEXAMPLE",
      "aws_secret_access_key = example",
      "[ci]",
      "aws_access_key_id = AKIAEXAMPLE2",
      "aws_secret_access_key = example2",
      "[dev]",
      "aws_access_key_id = AKIAEXAMPLE3",
      "aws_secret_access_key = example3",
    ].join("\n"),
  }, async () => {
    assertEquals(await _availableProfiles(), ["ci", "default", "dev", "prod"]);
  });
});

Deno.test("_availableProfiles() reads the files again after they change", async () => {
  await withAwsFiles(
    { config: "[profile one]\nregion = us-east-1\n" },
    async () => {
      assertEquals(await _availableProfiles(), ["one"]);
      await Deno.writeTextFile(
        Deno.env.get("AWS_CONFIG_FILE")!,
        "[profile one]\nregion = us-east-1\n[profile two]\nregion = us-east-2\n",
      );
      assertEquals(await _availableProfiles(), ["one", "two"]);
    },
  );
});

Deno.test("_availableProfiles() gives [] when the files are missing", async () => {
  await withAwsFiles({}, async () => {
    assertEquals(await _availableProfiles(), []);
  });
});

Deno.test("_getAvailablePartitions() includes aws, aws-cn and aws-us-gov", () => {
  const partitions = _getAvailablePartitions();
  for (const name of ["aws", "aws-cn", "aws-us-gov"]) {
    assert(partitions.includes(name), name);
  }
  assertEquals(partitions, [...partitions].sort());
});

Deno.test("_getAvailableRegions() lists the partition's regions", () => {
  const regions = _getAvailableRegions("s3");
  assert(regions.includes("us-east-1"));
  assert(regions.includes("eu-west-1"));
  assert(!regions.includes("aws-global"));
  assertEquals(_getAvailableRegions("sts", "aws-cn"), [
    "cn-north-1",
    "cn-northwest-1",
  ]);
  assert(_getAvailableRegions("ec2", "aws-us-gov").includes("us-gov-west-1"));
  regions.push("mutated");
  assert(!_getAvailableRegions("s3").includes("mutated"));
});

Deno.test("_getAvailableRegions() rejects an unknown partition, listing the partitions", () => {
  const error = assertThrows(
    () => _getAvailableRegions("s3", "aws-mars"),
    BRSValidationError,
    "'partition' must be one of aws, aws-cn",
  );
  assert(error.message.includes('"aws-mars"'));
  assertEquals(error.param, "partition");
  assertThrows(
    () => _getAvailableRegions("s3", "toString"),
    BRSValidationError,
  );
  assertThrows(() => _getAvailableRegions(""), BRSValidationError, "'service'");
});

Deno.test("the partition table matches the AWS SDK's own partition data", () => {
  for (const [name, regions] of Object.entries(_PARTITION_REGIONS)) {
    for (const region of regions) {
      const info = partition(region) as { name: string; description?: string };
      assertEquals(info.name, name, region);
      assert(info.description !== undefined, `${region} is not a known region`);
    }
  }
});

Deno.test("_getPartitionForRegion() names the partition of listed, global and future regions, as the AWS SDK does", () => {
  const cases = [
    "eu-west-1",
    "us-east-1",
    "aws-global",
    "cn-north-1",
    "aws-cn-global",
    "us-gov-west-1",
    "us-iso-east-1",
    "us-isob-east-1",
    "eu-isoe-west-1",
    "us-isof-south-1",
    "eusc-de-east-1",
    // Not listed yet: found by the partition's region pattern.
    "eu-north-9",
    "cn-south-7",
    "us-gov-central-3",
  ];
  for (const region of cases) {
    const sdk = partition(region) as { name: string };
    assertEquals(_getPartitionForRegion(region), sdk.name, region);
  }
  assertEquals(_getPartitionForRegion("cn-south-7"), "aws-cn");
});

Deno.test("_getPartitionForRegion() refuses a region that fits no partition, where the AWS SDK falls back to aws", () => {
  for (const region of ["moon-base-1", "EU-WEST-1", "local"]) {
    const error = assertThrows(
      () => _getPartitionForRegion(region),
      BRSValidationError,
      `Cannot find the partition of region "${region}" as it fits none of aws, aws-cn,`,
    );
    assertEquals(error.param, "region");
  }
  assertThrows(
    () => _getPartitionForRegion(undefined as unknown as string),
    BRSValidationError,
    "'region' must be a non-empty region name",
  );
});

Deno.test("_getAvailableRegions() lists the global endpoints only with allowNonRegional", () => {
  assert(!_getAvailableRegions("iam").includes("aws-global"));
  assert(
    _getAvailableRegions("iam", "aws", { allowNonRegional: true }).includes(
      "aws-global",
    ),
  );
  assertEquals(
    _getAvailableRegions("sts", "aws-cn", { allowNonRegional: true }),
    ["aws-cn-global", "cn-north-1", "cn-northwest-1"],
  );
  assertEquals(
    _getAvailableRegions("sts", "aws-eusc", { allowNonRegional: true }),
    ["eusc-de-east-1"],
  );
  assertThrows(
    () =>
      _getAvailableRegions("s3", "aws", {
        allowNonRegional: "yes" as unknown as boolean,
      }),
    BRSValidationError,
    "'allowNonRegional' must be a boolean",
  );
  // Every global endpoint is one the AWS SDK's data names in that partition.
  for (const [name, globals] of Object.entries(_PARTITION_NON_REGIONAL)) {
    for (const region of globals) {
      assertEquals((partition(region) as { name: string }).name, name, region);
    }
  }
});
