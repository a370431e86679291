/**
 * Private: `@std/toml` as the import map maps it while JSR is out of reach:
 * Deno std's JavaScript from the npm copy `deno-std`, with the types of
 * `toml.d.ts` (its `parse.js`, not `mod.js`: the CLI only parses, and
 * loading `mod.js` also loads `stringify.js`). Where JSR is reachable, the
 * import map line
 * `"@std/toml": "jsr:@std/toml@^1"` replaces this file.
 *
 * @module
 */

// @ts-types="./toml.d.ts"
export { parse } from "npm:deno-std@1.4.0/toml/parse.js";
