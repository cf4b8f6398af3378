import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { configDefaults, defineConfig } from "vitest/config";

// The stand-ins run as auxiliary Workers, built by test/global-setup.ts (standins/build.mjs);
// their bindings are those of their own wrangler.toml.

// Three projects with the same bindings (the top-level wrangler.toml): "api" runs the Worker
// itself (src/index.ts); "bench" runs the benchmark's instrumented entry
// (bench/instrumented/index.ts) with its I/O counters on, for test/bench only; "gate" runs the
// Worker with a Twilio gate of 2 (TWILIO_MAX_CONCURRENCY), for test/gate only.
const BENCH_TESTS = "test/bench/**/*.test.ts";
const GATE_TESTS = "test/gate/**/*.test.ts";

export default defineConfig(async () => {
  const migrations = await readD1Migrations("migrations");
  const pool = (options: { main?: string; bindings?: Record<string, string> } = {}) =>
    cloudflareTest({
      wrangler: { configPath: "./wrangler.toml" },
      ...(options.main ? { main: options.main } : {}),
      miniflare: {
        bindings: {
          TEST_MIGRATIONS: migrations,
          // Short enough that "Twilio/LiveKit timed out" tests finish quickly.
          TWILIO_TIMEOUT_MS: "500",
          LIVEKIT_TIMEOUT_MS: "500",
          ...options.bindings,
        },
        workers: [
          {
            name: "twilio-standin",
            modules: true,
            scriptPath: ".standin-build/twilio-standin.js",
            compatibilityDate: "2026-11-01",
            durableObjects: { TWILIO_ACCOUNT: { className: "TwilioAccount", useSQLite: true } },
            bindings: {
              STANDIN_ACCOUNT_SID: "AC00000000000000000000000000000000",
              STANDIN_AUTH_TOKEN: "standin-auth-token",
              STANDIN_API_KEY_SID: "SK00000000000000000000000000000000",
              STANDIN_API_KEY_SECRET: "standin-api-key-secret",
            },
          },
          {
            name: "livekit-standin",
            modules: true,
            scriptPath: ".standin-build/livekit-standin.js",
            compatibilityDate: "2026-11-01",
            durableObjects: {
              LIVEKIT_PROJECT: { className: "LiveKitProject", useSQLite: true },
            },
            bindings: {
              STANDIN_API_KEY: "devkey-livekit-standin",
              STANDIN_API_SECRET: "devsecret-livekit-standin-0123456789abcdef",
            },
          },
        ],
      },
    });
  return {
    test: {
      globalSetup: ["test/global-setup.ts"],
      setupFiles: ["test/apply-migrations.ts"],
      // Request logs are printed only for failing tests.
      silent: "passed-only" as const,
      projects: [
        {
          extends: true as const,
          plugins: [pool()],
          test: { name: "api", exclude: [...configDefaults.exclude, BENCH_TESTS, GATE_TESTS] },
        },
        {
          extends: true as const,
          plugins: [
            pool({
              bindings: {
                TWILIO_MAX_CONCURRENCY: "2",
                TWILIO_GATE_MAX_WAIT_MS: "1000",
                // Long enough for the stand-in's latency setting these tests use.
                TWILIO_TIMEOUT_MS: "5000",
              },
            }),
          ],
          test: { name: "gate", include: [GATE_TESTS] },
        },
        {
          extends: true as const,
          plugins: [
            pool({ main: "./bench/instrumented/index.ts", bindings: { IO_COUNTERS: "1" } }),
          ],
          test: { name: "bench", include: [BENCH_TESTS] },
        },
      ],
    },
  };
});
