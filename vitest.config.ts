import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

// The stand-ins run as auxiliary Workers, built by test/global-setup.ts (standins/build.mjs);
// their bindings are those of their own wrangler.toml.

export default defineConfig(async () => {
  const migrations = await readD1Migrations("migrations");
  return {
    plugins: [
      cloudflareTest({
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          bindings: {
            TEST_MIGRATIONS: migrations,
            // Short enough that "Twilio/LiveKit timed out" tests finish quickly.
            TWILIO_TIMEOUT_MS: "500",
            LIVEKIT_TIMEOUT_MS: "500",
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
      }),
    ],
    test: {
      globalSetup: ["test/global-setup.ts"],
      setupFiles: ["test/apply-migrations.ts"],
      // Request logs are printed only for failing tests.
      silent: "passed-only" as const,
    },
  };
});
