#!/usr/bin/env node
// The `factum` command as package.json's bin runs it. It loads tsx (a runtime dependency) from
// beside this file, wherever the command is run from: `node --import tsx` would look for tsx in
// the working directory. Then it runs the TypeScript entry, as `npm start` does.
import 'tsx';

await import('../cli.ts');
