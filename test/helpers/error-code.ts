import { EngineError } from "../../index.js";

/** "ok" when the call succeeds, else the code of the `EngineError` it throws (anything else rethrown). */
export async function outcomeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "ok";
  } catch (error) {
    if (error instanceof EngineError) return error.code;
    throw error;
  }
}
