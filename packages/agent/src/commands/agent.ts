/** `bulwark agent` (not built yet). */
export async function agentCommand(_argv: string[]): Promise<number> {
  process.stderr.write('error: `bulwark agent` is not built yet\n');
  return 1;
}
