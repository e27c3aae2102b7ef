/** Checks a storage name (`identity/key-1.pem`): relative, `/`-separated, no `.`/`..` levels. */
export function checkName(name: string): void {
  const levels = name.split('/');
  if (
    name === '' ||
    name.startsWith('/') ||
    levels.some((l) => l === '' || l === '.' || l === '..' || l.includes('\0') || l.includes('\\'))
  )
    throw new TypeError(`invalid storage name ${JSON.stringify(name)}`);
}
