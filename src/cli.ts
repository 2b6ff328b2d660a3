#!/usr/bin/env -S node --import tsx
/**
 * The entry `npm start` and the `factum` command run (src/cli/factum.mjs loads tsx for it when
 * installed): the commands live in src/cli/.
 */
import { runFactum } from './cli/program.ts';

await runFactum(process.argv);
