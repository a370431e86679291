/**
 * Shared helpers of the reliability suite: a secret scanner and a hang
 * watchdog (a hang fails the test instead of holding CI).
 *
 * @module
 */

/** Where a secret was found. */
export interface SecretHit {
  /** Index of the text. */
  text: number;
  /** The first characters of the secret (enough to tell which). */
  secretPrefix: string;
}

/**
 * Finds every secret (of 8 characters or more) in the texts, also in
 * URL-encoded and base64 forms.
 *
 * @param texts The texts to scan.
 * @param secrets The secrets handed out.
 * @returns The hits (empty when clean).
 */
export function findSecrets(
  texts: readonly string[],
  secrets: readonly string[],
): SecretHit[] {
  const hits: SecretHit[] = [];
  const forms = secrets.filter((s) => s.length >= 6).map((s) => ({
    s,
    forms: [...new Set([s, encodeURIComponent(s), btoa(s)])],
  }));
  texts.forEach((text, i) => {
    for (const { s, forms: f } of forms) {
      if (f.some((form) => text.includes(form))) {
        hits.push({ text: i, secretPrefix: s.slice(0, 4) });
      }
    }
  });
  return hits;
}

/**
 * Throws if any text holds any secret.
 *
 * @param texts The texts to scan.
 * @param secrets The secrets handed out.
 * @param what What was scanned, for the message.
 */
export function assertNoSecrets(
  texts: readonly string[],
  secrets: readonly string[],
  what = "output",
): void {
  const hits = findSecrets(texts, secrets);
  if (hits.length > 0) {
    const where = hits.map((h) =>
      `text #${h.text} holds a secret starting ${h.secretPrefix}...: ${
        texts[h.text]!.slice(0, 300)
      }`
    ).join("\n");
    throw new Error(`Found ${hits.length} secret(s) in ${what}:\n${where}`);
  }
}

/**
 * Resolves like `promise`, or rejects with `message` after `ms`: a hang
 * fails the test rather than holding CI. Not a timing assertion.
 *
 * @param promise The work.
 * @param message Said when it hangs.
 * @param ms The watchdog.
 * @returns What the work resolves to.
 */
export async function withWatchdog<T>(
  promise: Promise<T>,
  message: string,
  ms = 30_000,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const watchdog = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Hang: ${message}`)), ms);
  });
  try {
    return await Promise.race([promise, watchdog]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Awaits `fn()`, which must reject with an instance of `ErrorClass`.
 *
 * @param fn The work.
 * @param ErrorClass The expected class.
 * @returns The error, typed.
 */
export async function rejectsWith<E extends Error>(
  fn: () => Promise<unknown>,
  ErrorClass: abstract new (...args: never[]) => E,
): Promise<E> {
  try {
    await fn();
  } catch (error) {
    if (error instanceof ErrorClass) return error;
    throw new Error(
      `Expected a ${ErrorClass.name}, got ${Deno.inspect(error).slice(0, 500)}`,
    );
  }
  throw new Error(`Expected a ${ErrorClass.name}, but it resolved`);
}
