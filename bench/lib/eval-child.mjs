// One fresh evaluation (bench/lib/eval.mjs): warms Node's ESM loader on an empty module, then
// times the import (parse, compile, link, top-level evaluation) of the bundle it is given.
import { pathToFileURL } from "node:url";

const [bundle, warmup] = process.argv.slice(2);
await import(pathToFileURL(warmup).href);
const started = performance.now();
await import(pathToFileURL(bundle).href);
// Read the clock before touching process.stdout, whose first use costs milliseconds.
const ms = performance.now() - started;
process.stdout.write(JSON.stringify({ ms }));
