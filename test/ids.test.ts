import { validate, version } from "uuid";
import { describe, expect, it } from "vitest";
import { newOid } from "../index.js";

describe("newOid", () => {
  it("makes unique UUIDv7s that sort in the order they were made, many per millisecond", () => {
    const ids = Array.from({ length: 50_000 }, () => newOid());
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
    expect(ids.every((id) => validate(id) && version(id) === 7)).toBe(true);
    // Ids of one millisecond differ in their random tail too, not only in the counter.
    const tails = new Set(ids.map((id) => id.slice(-8)));
    expect(tails.size).toBeGreaterThan(ids.length * 0.99);
  });
});
