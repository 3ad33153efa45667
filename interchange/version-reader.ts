import type { Engine, Objective } from "../index.js";

/** Reads versions of rows by vid, each once, for the texts `diff` and `history` show. */
export interface VersionReader {
  /** The version, or undefined when it cannot be read (the change is shown without its text). */
  version(oid: string, vid: string): Promise<Objective | undefined>;
  /**
   * Reads every child of a version in one call. For a parent whose whole list of children is
   * needed (a created or deleted subtree), this replaces one vid lookup per child.
   */
  readChildren(oid: string, vid: string): Promise<void>;
  /** The active version, or undefined when the row is not in the active tree. */
  active(oid: string): Promise<Objective | undefined>;
}

/** Children read per call: the engine's largest page. */
const CHILDREN_PAGE = 100_000;

/** A reader over `engine` that remembers what it read. */
export function versionReader(engine: Engine, spaceId: string): VersionReader {
  const known = new Map<string, Promise<Objective | undefined>>();
  const childrenRead = new Set<string>();
  const key = (oid: string, vid: string | undefined) => `${oid}@${vid ?? "active"}`;
  const remember = (oid: string, vid: string | undefined, read: () => Promise<Objective>) => {
    const k = key(oid, vid);
    let hit = known.get(k);
    if (!hit) {
      // An unreadable version only loses its text: the listing itself came from the engine.
      hit = read().catch(() => undefined);
      known.set(k, hit);
    }
    return hit;
  };
  return {
    version: (oid, vid) => remember(oid, vid, () => engine.get(spaceId, oid, { vid })),
    active: (oid) => remember(oid, undefined, () => engine.get(spaceId, oid)),
    async readChildren(oid, vid) {
      if (childrenRead.has(key(oid, vid))) return;
      childrenRead.add(key(oid, vid));
      for (let offset = 0; ; offset += CHILDREN_PAGE) {
        const kids = await engine.children(spaceId, oid, { vid, offset, limit: CHILDREN_PAGE }).catch(() => []);
        for (const kid of kids) if (!known.has(key(kid.oid, kid.vid))) known.set(key(kid.oid, kid.vid), Promise.resolve(kid));
        if (kids.length < CHILDREN_PAGE) return;
      }
    },
  };
}
