#!/usr/bin/env node
// Entry point of the `nqo1-cds` command. `npm install` compiles the TypeScript sources into dist/.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  process.stderr.write(
    'nqo1-cds is not built yet. Run `npm install` (or `npm run build`) in the checkout first.\n',
  );
  process.exit(2);
}
const { runCli } = await import(main.href);
process.exitCode = await runCli(process.argv.slice(2));
