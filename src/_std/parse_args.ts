/**
 * Private: `@std/cli/parse-args` as the import map maps it while JSR is out
 * of reach: Deno std's JavaScript from the npm copy `deno-std`, with the
 * types of `parse_args.d.ts`. Where JSR is reachable, the import map line
 * `"@std/cli/parse-args": "jsr:@std/cli@^1/parse-args"` replaces this file.
 *
 * @module
 */

// @ts-types="./parse_args.d.ts"
export { parseArgs } from "npm:deno-std@1.4.0/cli/parse_args.js";
