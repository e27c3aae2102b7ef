#!/usr/bin/env node
// The `bulwark` command: a shim over the compiled CLI (build first with `npx tsc -b`).
import { main } from '../dist/src/main.js';

process.exitCode = await main(process.argv.slice(2));
