/**
 * The shell commands of a Markdown document's ```sh blocks under the named headings, as a reader
 * would type them: full-line comments and blank lines dropped, `\` continuations joined, and a
 * here-document (`<<'END'` … `END`) kept with its command.
 */

export interface ReadmeCommand {
  /** The heading (any level) the block is under. */
  section: string;
  /** The command as written (continuation lines joined with a newline; bash takes it so). */
  text: string;
}

export function readmeCommands(markdown: string, sections: readonly string[]): ReadmeCommand[] {
  const commands: ReadmeCommand[] = [];
  let section = '';
  let inSh = false;
  let inOther = false;
  let pending: string[] = [];
  let heredocEnd: string | undefined;
  for (const line of markdown.split('\n')) {
    if (!inSh && !inOther) {
      const h = /^#{1,6}\s+(.*)$/.exec(line);
      if (h) section = h[1]!.trim();
      if (/^```sh\s*$/.test(line)) inSh = true;
      else if (line.startsWith('```')) inOther = true;
      continue;
    }
    if (inOther) {
      if (line.startsWith('```')) inOther = false;
      continue;
    }
    if (heredocEnd === undefined && /^```\s*$/.test(line)) {
      if (pending.length > 0) throw new Error(`${section}: a command continues past its block`);
      inSh = false;
      continue;
    }
    if (!sections.includes(section)) continue;
    if (heredocEnd !== undefined) {
      pending.push(line);
      if (line === heredocEnd) {
        heredocEnd = undefined;
        commands.push({ section, text: pending.join('\n') });
        pending = [];
      }
      continue;
    }
    if (pending.length === 0 && (line.trim() === '' || line.trim().startsWith('#'))) continue;
    pending.push(line);
    const doc = /<<-?\s*'?"?([A-Za-z_]+)'?"?/.exec(line);
    if (doc) {
      heredocEnd = doc[1];
      continue;
    }
    if (line.endsWith('\\')) continue;
    commands.push({ section, text: pending.join('\n') });
    pending = [];
  }
  return commands;
}
