/** `bulwark discover` (not built yet). */
export async function discoverCommand(_argv: string[]): Promise<number> {
  process.stderr.write('error: `bulwark discover` is not built yet\n');
  return 1;
}
