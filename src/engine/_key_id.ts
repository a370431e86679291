/**
 * Private helpers that name an access key id in events, `--debug` lines,
 * messages and `whoami`'s text form.
 *
 * A key id is not a secret, but it does not start with what tells keys
 * apart: its first four characters give the kind of key (`ASIA` for
 * temporary credentials, `AKIA` for long-term ones) and the next ones come
 * from the account, so the first 8 characters are the same for every key of
 * an account. The last characters are the key's own. So a key id is shown by
 * its last 8 characters, which tell keys apart and can be found at the end of
 * the id in CloudTrail or the IAM console.
 *
 * @module
 */

/** How many of a key id's last characters name it. */
export const _KEY_ID_SUFFIX_LENGTH = 8;

/**
 * The last 8 characters of an access key id (the whole id if shorter).
 *
 * @param accessKeyId The access key id.
 * @returns E.g. `"3EXAMPLE"`.
 */
export function _keyIdSuffix(accessKeyId: string): string {
  return accessKeyId.slice(-_KEY_ID_SUFFIX_LENGTH);
}

/**
 * A short form of an access key id for people: its kind and its last 8
 * characters, e.g. `"ASIA...3EXAMPLE"` (the whole id when it has 12
 * characters or fewer).
 *
 * @param accessKeyId The access key id.
 * @returns The short form.
 */
export function _keyIdHint(accessKeyId: string): string {
  if (accessKeyId.length <= 4 + _KEY_ID_SUFFIX_LENGTH) return accessKeyId;
  return `${accessKeyId.slice(0, 4)}...${_keyIdSuffix(accessKeyId)}`;
}
