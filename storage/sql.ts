import knexFactory from "knex";

/**
 * A connectionless knex used only to build Postgres SQL (schema DDL and the less hot queries);
 * the backends execute it. Hot paths use hand-written SQL where knex would cost measurable time.
 */
export const sql = knexFactory({ client: "pg" });

/** Compiles a knex builder to `$n`-placeholder SQL and its bindings. */
export function compile(builder: { toSQL(): { toNative(): { sql: string; bindings: readonly unknown[] } } }): {
  sql: string;
  params: readonly unknown[];
} {
  const native = builder.toSQL().toNative();
  return { sql: native.sql, params: native.bindings };
}
