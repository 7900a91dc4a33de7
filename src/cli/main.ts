/** Placeholder until the command line lands in this change series. */
export async function runCli(argv: readonly string[]): Promise<number> {
  await Promise.resolve();
  process.stderr.write(`nqo1-cds: command line not built yet (${argv.join(' ')})\n`);
  return 2;
}
