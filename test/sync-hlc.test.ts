/** Hybrid logical clocks and the push batch checks: pure functions, no storage. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checkPushBatch, createHlcClock, decodeHlc, encodeHlc, HlcError, MAX_DRIFT_MS, SyncError } from "../sync/index.js";

describe("hybrid logical clock", () => {
  it("sorts as text in clock order", () => {
    fc.assert(
      fc.property(
        fc.tuple(fc.integer({ min: 0, max: 2 ** 48 }), fc.integer({ min: 0, max: 999_999 }), fc.stringMatching(/^[a-z0-9-]{1,12}$/)),
        fc.tuple(fc.integer({ min: 0, max: 2 ** 48 }), fc.integer({ min: 0, max: 999_999 }), fc.stringMatching(/^[a-z0-9-]{1,12}$/)),
        ([w1, c1, d1], [w2, c2, d2]) => {
          const a = encodeHlc({ wall: w1, counter: c1, device: d1 });
          const b = encodeHlc({ wall: w2, counter: c2, device: d2 });
          const byFields = w1 !== w2 ? Math.sign(w1 - w2) : c1 !== c2 ? Math.sign(c1 - c2) : d1 < d2 ? -1 : d1 > d2 ? 1 : 0;
          expect(Math.sign(a < b ? -1 : a > b ? 1 : 0)).toBe(byFields);
          expect(decodeHlc(a)).toEqual({ wall: w1, counter: c1, device: d1 });
        },
      ),
    );
  });

  it("never goes back: a stalled or rewound wall clock, remote clocks ahead, a restart", () => {
    let wall = 1_000;
    const clock = createHlcClock({ device: "a", wallClock: () => wall });
    const seen: string[] = [clock.now(), clock.now()];
    wall = 500; // the wall clock went back
    seen.push(clock.now());
    clock.receive(encodeHlc({ wall: 2_000, counter: 7, device: "b" }));
    seen.push(clock.now());
    wall = 3_000;
    seen.push(clock.now());
    expect([...seen].sort()).toEqual(seen);
    expect(new Set(seen).size).toBe(seen.length);
    expect(decodeHlc(seen[3])).toEqual({ wall: 2_000, counter: 8, device: "a" });
    const reopened = createHlcClock({ device: "a", wallClock: () => 0, after: seen.at(-1)! });
    expect(reopened.now() > seen.at(-1)!).toBe(true);
  });

  it("refuses a remote clock more than 5 minutes ahead, naming it", () => {
    const clock = createHlcClock({ device: "a", wallClock: () => 1_000_000 });
    const ahead = encodeHlc({ wall: 1_000_000 + MAX_DRIFT_MS + 1, counter: 0, device: "b" });
    expect(() => clock.receive(ahead)).toThrow(HlcError);
    expect(() => clock.receive(ahead)).toThrow(ahead);
    clock.receive(encodeHlc({ wall: 1_000_000 + MAX_DRIFT_MS, counter: 0, device: "b" }));
    expect(() => decodeHlc("tomorrow")).toThrow(/tomorrow/);
  });
});

describe("push batch checks", () => {
  const now = 1_700_000_000_000;
  // Engine device ids are UUIDs: an op id is <device>.<counter>.
  const D1 = "0191e6a0-0000-7000-8000-000000000001";
  const D2 = "0191e6a0-0000-7000-8000-000000000002";
  const op = (i: number, device = D1) => ({
    opId: `${device}.${i}`,
    kind: "update",
    oid: "01a227b8-995e-770c-a640-6f074ea72b61",
    hlc: encodeHlc({ wall: now, counter: i, device }),
    at: now,
    actor: null,
    device,
    data: { content: "x" },
  });
  const code = (body: unknown) => {
    try {
      checkPushBatch(body, now);
      return "ok";
    } catch (error) {
      return (error as SyncError).code;
    }
  };

  it("accepts a device's own ops and drops duplicates within a batch", () => {
    expect(checkPushBatch({ device: D1, ops: [op(1), op(2), op(1)] }, now).ops.map((o) => o.opId)).toEqual([`${D1}.1`, `${D1}.2`]);
  });

  it("refuses forged, malformed, oversized and skewed batches with their codes", () => {
    expect(code({ device: D1, ops: [op(1, D2)] })).toBe("FORGED");
    expect(code({ device: D1, ops: [{ ...op(1), opId: `${D2}.1` }] })).toBe("FORGED");
    expect(code({ device: D1, ops: [{ ...op(1), hlc: encodeHlc({ wall: now, counter: 1, device: D2 }) }] })).toBe("FORGED");
    expect(code({ device: D1, ops: [{ ...op(1), at: -1 }] })).toBe("BAD_BATCH");
    expect(code({ device: "dev1", ops: [{ ...op(1), device: "dev1", opId: "dev1.1", hlc: encodeHlc({ wall: now, counter: 1, device: "dev1" }) }] })).toBe("BAD_BATCH");
    expect(code({ device: D1, ops: [{ ...op(1), kind: "" }] })).toBe("BAD_BATCH");
    expect(code({ device: "dev 1", ops: [op(1)] })).toBe("BAD_BATCH");
    expect(code([])).toBe("BAD_BATCH");
    expect(code({ device: D1, ops: Array.from({ length: 501 }, (_, i) => op(i)) })).toBe("TOO_LARGE");
    expect(code({ device: D1, ops: [{ ...op(1), data: { content: "x".repeat(1_000_000) } }] })).toBe("TOO_LARGE");
    expect(code({ device: D1, ops: [{ ...op(1), hlc: encodeHlc({ wall: now + MAX_DRIFT_MS + 1, counter: 0, device: D1 }) }] })).toBe("CLOCK_SKEW");
  });
});
