#!/usr/bin/env node
// Regenerates the reference pages that are derived from code (run after `tsc -b`).
import { writeFileSync } from 'node:fs';
import { configReference, errorsReference } from '@bulwark/hub';

const root = new URL('..', import.meta.url).pathname;
writeFileSync(`${root}docs/reference/errors.md`, errorsReference());
writeFileSync(`${root}docs/reference/config.md`, configReference());
console.log('docs/reference/errors.md and config.md written');
