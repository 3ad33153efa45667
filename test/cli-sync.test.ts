/**
 * `logbook login` and `logbook sync` as processes against a real sync server: a laptop on PGlite
 * (a data directory) and a phone on Postgres (a throwaway database; PGlite again when no server
 * answers, said so) sign in once, sync a space both ways, and the phone follows with `--watch`.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PASSWORD } from "./helpers/accounts-fixtures.js";
import { postgresUnavailable, throwawayDatabase } from "./helpers/backends.js";
import { json, logbook } from "./helpers/cli-process.js";
import { startSyncServer, type TestSyncServer } from "./helpers/sync-fixtures.js";

let server: TestSyncServer;
let dir: string;
let email: string;
let phoneArgs: string[];
let dropPhone = async () => {};

beforeAll(async () => {
  server = await startSyncServer({ revalidateMs: 60_000 });
  email = (await server.signIn("setup")).email; // a verified account
  dir = await mkdtemp(join(tmpdir(), "logbook-cli-sync-"));
  const why = await postgresUnavailable();
  if (why) {
    console.warn(`[cli-sync] the phone runs on PGlite: ${why}`);
    phoneArgs = ["--data", join(dir, "phone")];
  } else {
    const db = await throwawayDatabase();
    phoneArgs = ["--pg", db.url];
    dropPhone = db.drop;
  }
}, 120_000);
afterAll(async () => {
  await server?.close();
  await dropPhone();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("logbook login and sync", () => {
  const laptop = () => ["--data", join(dir, "laptop")];
  // The phone's credentials live in its data directory too ($LOGBOOK_DATA when it runs on --pg).
  const phoneEnv = () => ({ LOGBOOK_DATA: join(dir, "phone"), LOGBOOK_PASSWORD: PASSWORD });
  const env = { LOGBOOK_PASSWORD: PASSWORD };

  it("signs in once, syncs a space both ways, and follows the server with --watch", async () => {
    const unsigned = await logbook([...laptop(), "--json", "sync"], env);
    expect(unsigned.code).toBe(1);
    expect(JSON.parse(unsigned.stderr)).toMatchObject({ error: { code: "NOT_SIGNED_IN" } });

    const bad = await logbook([...laptop(), "--json", "login", "--server", server.url, "--email", email], { LOGBOOK_PASSWORD: "wrong password" });
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stderr)).toMatchObject({ error: { code: expect.stringMatching(/NOT_SIGNED_IN|SYNC/) } });

    const login = await logbook([...laptop(), "login", "--server", server.url, "--email", email], env);
    expect(login.code, login.stderr).toBe(0);
    expect(login.stdout).toMatch(new RegExp(`signed in to ${server.url} as ${email}`));
    expect((await stat(join(dir, "laptop", "sync-login.json"))).mode & 0o777).toBe(0o600);
    const elsewhere = await logbook([...laptop(), "--json", "login", "--server", "http://127.0.0.1:9", "--email", email], env);
    expect(elsewhere.code).toBe(1);
    expect(JSON.parse(elsewhere.stderr)).toMatchObject({ error: { code: "INVALID_ARGUMENT", message: expect.stringContaining(`syncs with ${server.url}`) } });

    const doc = json<{ oid: string }>(await logbook([...laptop(), "--json", "create", "Plan"], env));
    await logbook([...laptop(), "create", "from the laptop", "--parent", doc.oid], env);
    const first = json<{ spaceId: string; pushed: number; pulled: number }>(await logbook([...laptop(), "--json", "sync"], env));
    expect(first).toMatchObject({ pushed: 2, pulled: 0 });
    const spaceId = first.spaceId;

    // The phone joins the space by its id, then edits and pushes back.
    expect((await logbook([...phoneArgs, "login", "--server", server.url, "--email", email], phoneEnv())).code).toBe(0);
    // A space nobody created on the server cannot be joined (a typo makes no space there).
    const typo = "0190f3c2-0000-7000-8000-00000000beef";
    const missing = await logbook([...phoneArgs, "--space", typo, "--json", "sync"], phoneEnv());
    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.stderr)).toMatchObject({ error: { code: "SYNC", message: expect.stringContaining(`space ${typo} does not exist`) } });
    const joined = json<{ pushed: number; pulled: number }>(await logbook([...phoneArgs, "--space", spaceId, "--json", "sync"], phoneEnv()));
    // It copied the server replica's rows (a snapshot): nothing was left to pull.
    expect(joined).toMatchObject({ pushed: 0, pulled: 0 });
    expect((await logbook([...phoneArgs, "tree", doc.oid], phoneEnv())).stdout).toContain("from the laptop");
    await logbook([...phoneArgs, "create", "from the phone", "--parent", doc.oid], phoneEnv());
    expect(json<{ pushed: number }>(await logbook([...phoneArgs, "--json", "sync"], phoneEnv())).pushed).toBe(1);
    expect(json<{ pulled: number }>(await logbook([...laptop(), "--json", "sync"], env)).pulled).toBe(1);
    expect((await logbook([...laptop(), "tree", doc.oid], env)).stdout).toContain("from the phone");

    // --watch: the phone stays online and prints what each round moved.
    const tsx = join(import.meta.dirname, "..", "node_modules", "tsx", "dist", "cli.mjs");
    const main = join(import.meta.dirname, "..", "cli", "main.ts");
    const watcher = spawn(process.execPath, [tsx, main, ...phoneArgs, "sync", "--watch"], { env: { ...process.env, ...phoneEnv(), NO_COLOR: "1" }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    watcher.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
    const exited = new Promise<number | null>((resolve) => watcher.on("close", resolve));
    await expect.poll(() => out, { timeout: 20_000, interval: 100 }).toContain(`watching space ${spaceId} at ${server.url}`);
    await logbook([...laptop(), "update", doc.oid, "--content", "Plan (watched)"], env);
    await logbook([...laptop(), "sync"], env);
    // Pulled by its first round or by the round the server's poke starts, and printed.
    await expect.poll(() => out, { timeout: 20_000, interval: 100 }).toContain(`space ${spaceId}: pushed 0 ops, pulled 1`);
    watcher.kill("SIGINT");
    expect(await exited).toBe(0);
    expect((await logbook([...phoneArgs, "--json", "stats", doc.oid], phoneEnv())).stdout).toContain("Plan (watched)");
  }, 180_000);
  it("invites addresses to a row's subtree through the server, lists the invitations and withdraws one", async () => {
    const inviter = ["--data", join(dir, "inviter")];
    expect((await logbook([...inviter, "login", "--server", server.url, "--email", email], env)).code).toBe(0);
    const doc = json<{ oid: string }>(await logbook([...inviter, "--json", "create", "Shared plan"], env));
    expect((await logbook([...inviter, "sync"], env)).code).toBe(0);
    const bob = await server.signIn("bob-phone");
    const now = json<{ email: string; outcome: string | null }>(await logbook([...inviter, "--json", "invite", doc.oid, bob.email, "collaborator"], env));
    expect(now).toMatchObject({ email: bob.email, outcome: "applied" });
    const later = await logbook([...inviter, "invite", doc.oid, "later@example.com", "viewer"], env);
    expect(later.stdout).toContain("waits for that address to sign up");
    const listed = json<{ id: string; email: string; outcome: string | null }[]>(await logbook([...inviter, "--json", "invitations"], env));
    expect(listed.map((i) => i.email).sort()).toEqual([bob.email, "later@example.com"].sort());
    const waiting = listed.find((i) => i.outcome === null)!;
    expect((await logbook([...inviter, "invitations", "--cancel", waiting.id], env)).stdout).toContain("withdrawn");
    expect(json<unknown[]>(await logbook([...inviter, "--json", "invitations"], env))).toHaveLength(1);
    // The entry came back with the next sync.
    expect((await logbook([...inviter, "sync"], env)).code).toBe(0);
    expect(json<{ user: string; role: string }[]>(await logbook([...inviter, "--json", "collaborators", doc.oid], env))).toContainEqual(
      expect.objectContaining({ user: bob.userId, role: "collaborator" }),
    );
    const badRole = await logbook([...inviter, "--json", "invite", doc.oid, bob.email, "owner"], env);
    expect([badRole.code, JSON.parse(badRole.stderr).error.code]).toEqual([1, "INVALID_ARGUMENT"]);
    const cancelled = await logbook([...inviter, "--json", "invitations", "--cancel", waiting.id], env);
    expect([cancelled.code, JSON.parse(cancelled.stderr).error.code]).toEqual([1, "SYNC"]);
  });
});
