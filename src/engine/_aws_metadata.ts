/**
 * Private helpers behind a session's boto3.Session-like conveniences:
 * `availableProfiles()`, `getAvailablePartitions()`,
 * `getPartitionForRegion(region)` and
 * `getAvailableRegions(service, partition?, { allowNonRegional? })`.
 *
 * What they can and cannot know:
 *
 * - Profiles come from the shared AWS files read by the SDK's own
 *   `loadSharedConfigFiles` (`@smithy/shared-ini-file-loader`): `~/.aws/config`
 *   (or `AWS_CONFIG_FILE`) and `~/.aws/credentials` (or
 *   `AWS_SHARED_CREDENTIALS_FILE`). `[sso-session ...]` and `[services ...]`
 *   sections are not profiles. Missing or unreadable files count as empty.
 * - Partitions and their regions are the AWS SDK's own partition data
 *   (`partitions.js` of `@aws-sdk/core` 3.981.1, the version that
 *   `@aws-sdk/client-sts` 3.1169.0 uses), which the SDK keeps internal: the
 *   `_PARTITION_REGIONS` table below is a copy of it, without the
 *   `aws-global`-style pseudo regions, and `tests/serial/aws_metadata_test.ts`
 *   checks every entry against the SDK's exported `partition(region)`.
 * - The AWS SDK for JavaScript v3 has no per-service region lists (boto3's
 *   `get_available_regions` reads botocore's endpoints.json; the v3 SDK
 *   resolves endpoints by rules instead). So the regions of a service are the
 *   regions of its partition: a service that is not offered in some region of
 *   the partition is still listed there.
 *
 * @module
 */

import { _describeValue } from "../_validate.ts";
import { _controlEscape } from "../_redact.ts";
import { loadSharedConfigFiles } from "@smithy/shared-ini-file-loader";
import { BRSValidationError } from "../errors.ts";

/**
 * The regions of each AWS partition, from the AWS SDK's partition data
 * (`@aws-sdk/core` 3.981.1), sorted.
 */
export const _PARTITION_REGIONS: Readonly<Record<string, readonly string[]>> =
  Object.freeze({
    "aws": [
      "af-south-1",
      "ap-east-1",
      "ap-east-2",
      "ap-northeast-1",
      "ap-northeast-2",
      "ap-northeast-3",
      "ap-south-1",
      "ap-south-2",
      "ap-southeast-1",
      "ap-southeast-2",
      "ap-southeast-3",
      "ap-southeast-4",
      "ap-southeast-5",
      "ap-southeast-6",
      "ap-southeast-7",
      "ca-central-1",
      "ca-west-1",
      "eu-central-1",
      "eu-central-2",
      "eu-north-1",
      "eu-south-1",
      "eu-south-2",
      "eu-west-1",
      "eu-west-2",
      "eu-west-3",
      "il-central-1",
      "me-central-1",
      "me-south-1",
      "me-west-1",
      "mx-central-1",
      "sa-east-1",
      "sa-west-1",
      "us-east-1",
      "us-east-2",
      "us-west-1",
      "us-west-2",
    ],
    "aws-cn": [
      "cn-north-1",
      "cn-northwest-1",
    ],
    "aws-eusc": [
      "eusc-de-east-1",
    ],
    "aws-iso": [
      "us-iso-east-1",
      "us-iso-west-1",
    ],
    "aws-iso-b": [
      "us-isob-east-1",
      "us-isob-west-1",
    ],
    "aws-iso-e": [
      "eu-isoe-west-1",
    ],
    "aws-iso-f": [
      "us-isof-east-1",
      "us-isof-south-1",
    ],
    "aws-us-gov": [
      "us-gov-east-1",
      "us-gov-west-1",
    ],
  });

/**
 * The pattern of each partition's region names (`regionRegex` of the AWS
 * SDK's partition data): a region not yet listed belongs to the partition
 * whose pattern it matches.
 */
export const _PARTITION_REGION_PATTERNS: Readonly<Record<string, RegExp>> =
  Object.freeze({
    "aws": /^(us|eu|ap|sa|ca|me|af|il|mx)\-\w+\-\d+$/,
    "aws-cn": /^cn\-\w+\-\d+$/,
    "aws-eusc": /^eusc\-(de)\-\w+\-\d+$/,
    "aws-iso": /^us\-iso\-\w+\-\d+$/,
    "aws-iso-b": /^us\-isob\-\w+\-\d+$/,
    "aws-iso-e": /^eu\-isoe\-\w+\-\d+$/,
    "aws-iso-f": /^us\-isof\-\w+\-\d+$/,
    "aws-us-gov": /^us\-gov\-\w+\-\d+$/,
  });

/**
 * The non-regional (global) endpoints of each partition in the AWS SDK's
 * partition data, e.g. `aws-global`: what boto3 lists with
 * `allow_non_regional=True`.
 */
export const _PARTITION_NON_REGIONAL: Readonly<
  Record<string, readonly string[]>
> = Object.freeze({
  "aws": ["aws-global"],
  "aws-cn": ["aws-cn-global"],
  "aws-eusc": [],
  "aws-iso": ["aws-iso-global"],
  "aws-iso-b": ["aws-iso-b-global"],
  "aws-iso-e": ["aws-iso-e-global"],
  "aws-iso-f": ["aws-iso-f-global"],
  "aws-us-gov": ["aws-us-gov-global"],
});

/** Sections of the config file that are not profiles. */
const _NON_PROFILE_PREFIXES = ["sso-session.", "services."];

/**
 * The names of the profiles in the shared AWS config and credentials files
 * (`AWS_CONFIG_FILE` / `AWS_SHARED_CREDENTIALS_FILE` are honoured), sorted and
 * unique. Missing files give `[]`.
 *
 * @returns The profile names.
 */
export async function _availableProfiles(): Promise<string[]> {
  const { configFile, credentialsFile } = await loadSharedConfigFiles({
    ignoreCache: true,
  });
  const names = new Set<string>();
  for (const name of Object.keys(configFile)) {
    if (!_NON_PROFILE_PREFIXES.some((prefix) => name.startsWith(prefix))) {
      names.add(name);
    }
  }
  for (const name of Object.keys(credentialsFile)) names.add(name);
  return [...names].sort();
}

/**
 * The AWS partitions the SDK knows, e.g. `"aws"`, `"aws-cn"`, `"aws-us-gov"`.
 *
 * @returns The partition names, sorted.
 */
export function _getAvailablePartitions(): string[] {
  return Object.keys(_PARTITION_REGIONS).sort();
}

/**
 * The regions of a partition, as the regions where `service` may be
 * available: the AWS SDK v3 has no per-service region lists, so every region
 * of the partition is listed.
 *
 * @param service A service name, e.g. `"s3"` (checked, not used to filter).
 * @param partition A partition name.
 * @returns The region names, sorted.
 * @throws {BRSValidationError} If `service` is not a non-empty string or
 * `partition` is not a known partition.
 */
export function _getAvailableRegions(
  service: string,
  partition = "aws",
  options: { allowNonRegional?: boolean } = {},
): string[] {
  if (typeof service !== "string" || service === "") {
    throw new BRSValidationError(
      `Cannot list regions as 'service' must be a non-empty service name such as "s3": got ${
        _describeValue(service)
      }`,
      { param: "service" },
    );
  }
  const regions = typeof partition === "string" &&
      Object.hasOwn(_PARTITION_REGIONS, partition)
    ? _PARTITION_REGIONS[partition]
    : undefined;
  if (regions === undefined) {
    const partitions = _getAvailablePartitions();
    throw new BRSValidationError(
      `Cannot list regions as 'partition' must be one of ${
        partitions.join(", ")
      }: got ${_describeValue(partition)}`,
      { param: "partition", details: { partitions } },
    );
  }
  if (options === null || typeof options !== "object") {
    throw new BRSValidationError(
      `Cannot list regions as 'options' must be an object such as { allowNonRegional: true }: got ${
        _describeValue(options)
      }`,
      { param: "options" },
    );
  }
  for (const key of Object.keys(options)) {
    if (key !== "allowNonRegional") {
      throw new BRSValidationError(
        `Cannot list regions as option '${
          _controlEscape(key)
        }' is unknown: use allowNonRegional`,
        { param: key, details: { allowed: ["allowNonRegional"] } },
      );
    }
  }
  const { allowNonRegional } = options;
  if (allowNonRegional !== undefined && typeof allowNonRegional !== "boolean") {
    throw new BRSValidationError(
      `Cannot list regions as 'allowNonRegional' must be a boolean: got ${
        _describeValue(allowNonRegional)
      }`,
      { param: "allowNonRegional" },
    );
  }
  if (allowNonRegional !== true) return [...regions];
  return [...regions, ...(_PARTITION_NON_REGIONAL[partition] ?? [])].sort();
}

/**
 * The partition of a region, as boto3's `Session.get_partition_for_region`:
 * the partition that lists it (its non-regional endpoints included), else the
 * one whose region pattern it matches.
 *
 * @param region A region name, e.g. `"cn-north-1"`.
 * @returns The partition name, e.g. `"aws-cn"`.
 * @throws {BRSValidationError} If `region` is not a string or fits no
 * partition.
 */
export function _getPartitionForRegion(region: string): string {
  if (typeof region !== "string" || region === "") {
    throw new BRSValidationError(
      `Cannot find the partition as 'region' must be a non-empty region name such as "eu-west-1": got ${
        _describeValue(region)
      }`,
      { param: "region" },
    );
  }
  for (const name of Object.keys(_PARTITION_REGIONS)) {
    if (
      _PARTITION_REGIONS[name]!.includes(region) ||
      _PARTITION_NON_REGIONAL[name]?.includes(region)
    ) return name;
  }
  for (const [name, pattern] of Object.entries(_PARTITION_REGION_PATTERNS)) {
    if (pattern.test(region)) return name;
  }
  throw new BRSValidationError(
    `Cannot find the partition of region ${
      _describeValue(region)
    } as it fits none of ${
      _getAvailablePartitions().join(", ")
    }: give a region name such as "eu-west-1"`,
    { param: "region" },
  );
}
