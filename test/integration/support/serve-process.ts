/**
 * Runs `nqo1-cds serve --role <role>` from the TypeScript sources in a child process, as a
 * deployment starts one API or worker process. The configuration comes from the environment
 * (`NQO1_CONFIG`, the PostgreSQL URL variable), as in production.
 */
import { runCli } from '../../../src/cli/main.js';

const role = process.argv[2] ?? 'all';
process.exitCode = await runCli(['serve', '--role', role]);
