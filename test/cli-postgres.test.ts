/** The CLI suite (test/helpers/cli-suite.ts) on a throwaway Postgres database. */
import { describe, it } from "vitest";
import { postgresUnavailable } from "./helpers/backends.js";
import { cliSuite } from "./helpers/cli-suite.js";

const skip = await postgresUnavailable();
if (skip) {
  console.warn(`[logbook tests] skipping the postgres backend: ${skip}`);
  describe.skip("logbook CLI on postgres", () => it("needs Postgres", () => {}));
} else cliSuite("postgres");
