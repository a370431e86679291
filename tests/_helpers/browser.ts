/**
 * A real headless browser for tests: Debian's `chromium`, driven over the
 * DevTools protocol on 127.0.0.1 with Deno's own WebSocket (no npm
 * package). Tests that need it are ignored, with the reason in their name,
 * where chromium is not installed.
 */

/** Where Debian's `chromium` package puts the browser. */
export const CHROMIUM = "/usr/bin/chromium";

/** Whether Debian's `chromium` is installed. */
export const HAS_CHROMIUM: boolean = await (async () => {
  try {
    return (await Deno.stat(CHROMIUM)).isFile;
  } catch {
    return false;
  }
})();

/** What to add to a test's name when it is ignored for want of chromium. */
export const NEEDS_CHROMIUM =
  " (ignored: needs chromium; apt-get install -y chromium)";

/** The flags the browser runs with: no network of its own, no profile kept. */
export function chromiumArgs(userDataDir: string): string[] {
  return [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    `--user-data-dir=${userDataDir}`,
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
    "about:blank",
  ];
}

interface Pending {
  resolve: (value: Record<string, unknown>) => void;
  reject: (error: Error) => void;
}

/** One page (tab) of a running browser. */
export interface BrowserPage {
  /** Loads `url` and waits for its `load` event. */
  goto(url: string): Promise<void>;
  /**
   * Runs `expression` in the page and returns its (JSON) value. The page's
   * uncaught errors so far are in `window.__errors`.
   */
  evaluate<T>(expression: string): Promise<T>;
  /** Sets the viewport size in CSS pixels. */
  setViewport(width: number, height: number): Promise<void>;
  /** A PNG of the whole page at the current width, or of the window only. */
  screenshot(fullPage?: boolean): Promise<Uint8Array>;
}

/** A running headless chromium: close it with `await using`. */
export interface Browser extends AsyncDisposable {
  /** Opens a new page. */
  newPage(): Promise<BrowserPage>;
}

/**
 * Starts headless chromium and connects to it.
 *
 * @param timeoutMs How long a DevTools call may take.
 * @returns The browser.
 */
export async function launchBrowser(timeoutMs = 30_000): Promise<Browser> {
  const userDataDir = await Deno.makeTempDir({ prefix: "brs_chromium_" });
  const child = new Deno.Command(CHROMIUM, {
    args: chromiumArgs(userDataDir),
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  // chromium writes the port it listens on into the profile directory.
  let endpoint: string | undefined;
  for (let i = 0; i < 300 && endpoint === undefined; i++) {
    try {
      const [port, path] = (await Deno.readTextFile(
        `${userDataDir}/DevToolsActivePort`,
      )).split("\n");
      if (port && path) endpoint = `ws://127.0.0.1:${port}${path}`;
    } catch { /* not written yet */ }
    if (endpoint === undefined) {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  if (endpoint === undefined) {
    child.kill("SIGKILL");
    await child.status;
    throw new Error("chromium did not open its DevTools port in 15 s");
  }
  const ws = new WebSocket(endpoint);
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = () => reject(new Error(`Cannot connect to ${endpoint}`));
  });
  let nextId = 1;
  const pending = new Map<number, Pending>();
  ws.onmessage = (event) => {
    const msg = JSON.parse(event.data as string);
    if (typeof msg.id === "number") {
      const p = pending.get(msg.id);
      pending.delete(msg.id);
      if (msg.error) p?.reject(new Error(JSON.stringify(msg.error)));
      else p?.resolve(msg.result ?? {});
    }
  };
  function send(
    method: string,
    params: Record<string, unknown> = {},
    sessionId?: string,
  ): Promise<Record<string, unknown>> {
    const id = nextId++;
    ws.send(JSON.stringify({ id, method, params, sessionId }));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error(`DevTools call ${method} took over ${timeoutMs} ms`));
      }, timeoutMs);
      pending.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
    });
  }
  return {
    async newPage(): Promise<BrowserPage> {
      const { targetId } = await send("Target.createTarget", {
        url: "about:blank",
      });
      const { sessionId } = await send("Target.attachToTarget", {
        targetId,
        flatten: true,
      }) as { sessionId: string };
      await send("Page.enable", {}, sessionId);
      // Every document records its uncaught errors in `__errors`.
      await send("Page.addScriptToEvaluateOnNewDocument", {
        source: `window.__errors = [];
addEventListener("error", (e) => __errors.push(String(e.message)));
addEventListener("unhandledrejection", (e) => __errors.push(String(e.reason)));`,
      }, sessionId);
      return {
        async goto(url: string): Promise<void> {
          const r = await send("Page.navigate", { url }, sessionId);
          if (r.errorText) throw new Error(`${url}: ${r.errorText}`);
          // The load event of this document, not of the one before it.
          for (let i = 0; i < timeoutMs / 20; i++) {
            const { result } = await send("Runtime.evaluate", {
              expression:
                "document.readyState === 'complete' ? location.href : ''",
              returnByValue: true,
            }, sessionId) as { result: { value: string } };
            if (result.value === new URL(url).href) return;
            await new Promise((r) => setTimeout(r, 20));
          }
          throw new Error(`${url} did not load in ${timeoutMs} ms`);
        },
        async evaluate<T>(expression: string): Promise<T> {
          const r = await send("Runtime.evaluate", {
            expression,
            returnByValue: true,
            awaitPromise: true,
          }, sessionId) as {
            result: { value: T };
            exceptionDetails?: unknown;
          };
          if (r.exceptionDetails) {
            throw new Error(JSON.stringify(r.exceptionDetails));
          }
          return r.result.value;
        },
        async setViewport(width: number, height: number): Promise<void> {
          await send("Emulation.setDeviceMetricsOverride", {
            width,
            height,
            deviceScaleFactor: 1,
            mobile: false,
          }, sessionId);
        },
        async screenshot(fullPage = true): Promise<Uint8Array> {
          const { data } = await send("Page.captureScreenshot", {
            format: "png",
            captureBeyondViewport: fullPage,
          }, sessionId) as { data: string };
          return Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
        },
      };
    },
    async [Symbol.asyncDispose](): Promise<void> {
      try {
        await send("Browser.close");
      } catch { /* already gone */ }
      const done = await Promise.race([
        child.status.then(() => true),
        new Promise<false>((r) => setTimeout(() => r(false), 5000)),
      ]);
      if (!done) {
        child.kill("SIGKILL");
        await child.status;
      }
      ws.close();
      if (ws.readyState !== WebSocket.CLOSED) {
        await new Promise((r) => ws.addEventListener("close", r));
      }
      await Deno.remove(userDataDir, { recursive: true }).catch(() => {});
    },
  };
}
