/**
 * The schema version this code writes. storage/migrations.ts ends at it (checked when that file
 * loads); it lives apart so that opening an up-to-date database reads one number and never loads
 * the migrations, nor knex, which builds their DDL.
 */
export const SCHEMA_VERSION = 11;
