/**
 * Private: `@std/toml` as the import map maps it while JSR is out of reach:
 * Deno std's JavaScript from the npm copy `deno-std`, with the types of
 * `toml.d.ts`. Where JSR is reachable, the import map line
 * `"@std/toml": "jsr:@std/toml@^1"` replaces this file.
 *
 * @module
 */

// @ts-types="./toml.d.ts"
export { parse } from "npm:deno-std@1.4.0/toml/mod.js";
