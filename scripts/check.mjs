// `npm test`: every check CI runs, in order, each timed; stops at the first failure.
// Ends with one line "N passed, N failed" counting the test suite's tests.
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";

const steps = [
  ["types are current", "wrangler", ["types", "--check"]],
  ["typecheck (Worker)", "tsc", ["--noEmit", "-p", "tsconfig.json"]],
  ["typecheck (Node scripts)", "tsc", ["--noEmit", "-p", "tsconfig.node.json"]],
  ["lint and format", "biome", ["check", "."]],
  [
    "tests (workerd)",
    "vitest",
    [
      "run",
      "--reporter=default",
      "--reporter=json",
      "--outputFile.json=.wrangler/test-results.json",
    ],
  ],
  [
    "bundle builds",
    "wrangler",
    ["deploy", "--dry-run", "--env", "production", "--outdir", "dist", "--minify"],
  ],
];

mkdirSync(".wrangler", { recursive: true });
const only = process.argv.slice(2);
const timings = [];
let failed = null;
for (const [name, command, args] of steps) {
  if (only.length > 0 && !only.some((word) => name.includes(word))) continue;
  const started = performance.now();
  console.log(`\n▶ ${name}: ${command} ${args.join(" ")}`);
  const result = spawnSync(command, args, { stdio: "inherit" });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  timings.push(
    `${name.padEnd(26)} ${seconds.padStart(6)} s  ${result.status === 0 ? "ok" : "FAILED"}`,
  );
  if (result.status !== 0) {
    failed = name;
    break;
  }
}

console.log(`\n${timings.join("\n")}`);
let passed = 0;
let failedTests = 0;
try {
  const report = JSON.parse(readFileSync(".wrangler/test-results.json", "utf8"));
  passed = report.numPassedTests;
  failedTests = report.numFailedTests;
} catch {
  // The test step did not run.
}
if (failed) console.log(`check failed: ${failed}`);
console.log(`${passed} passed, ${failedTests} failed`);
process.exitCode = failed ? 1 : 0;
