/** `bulwark simulate` (not built yet). */
export async function simulateCommand(_argv: string[]): Promise<number> {
  process.stderr.write('error: `bulwark simulate` is not built yet\n');
  return 1;
}
