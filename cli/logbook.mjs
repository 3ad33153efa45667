#!/usr/bin/env node
// The installed `logbook` binary: the package ships TypeScript, so load it through tsx.
import { register } from "tsx/esm/api";

register();
await import("./main.ts");
