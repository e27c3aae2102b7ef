/**
 * Redaction of secrets in log lines, on the device, before a line is buffered or sent (decision
 * 0032). Built-in patterns cover what leaks most often — PEM private keys (also spread over
 * several lines of a file: everything between BEGIN and END of a private key is redacted),
 * `password=` / `token=` / `secret=` style values (also as JSON members), Authorization headers
 * and Bearer tokens, AWS access key ids and secret keys — and the configuration adds its own
 * regular expressions. A match is replaced by `[REDACTED]` (the key names stay, so a reader still
 * sees *that* a password was logged).
 */

/** What replaces a secret. */
export const REDACTED = '[REDACTED]';

/** One built-in pattern: a name (for tests and docs) and how it rewrites a line. */
interface Rule {
  name: string;
  re: RegExp;
  replace: string;
}

// Key words whose value is a secret. `\b` does not separate `_` (aws_secret_access_key has its
// own rule), so the words may be preceded by any non-letter.
const KEYS =
  'password|passwd|pwd|passphrase|secret|client[_-]?secret|token|access[_-]?token|refresh[_-]?token|api[_-]?key|apikey|auth[_-]?token|private[_-]?key';

/** The built-in rules, in the order they run. */
export const BUILTIN_RULES: readonly Rule[] = [
  {
    name: 'pem-private-key',
    re: /-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----[\s\S]*?-----END \1PRIVATE KEY-----/g,
    replace: `-----BEGIN $1PRIVATE KEY----- ${REDACTED} -----END $1PRIVATE KEY-----`,
  },
  {
    name: 'json-secret',
    re: new RegExp(`("(?:[A-Za-z_-]*[_-])?(?:${KEYS})"\\s*:\\s*)"(?:[^"\\\\]|\\\\.)*"`, 'gi'),
    replace: `$1"${REDACTED}"`,
  },
  {
    name: 'authorization-header',
    re: /(authorization["']?\s*[:=]\s*["']?)(?:(bearer|basic|token|digest)\s+)?[^\s"',;]+/gi,
    replace: `$1$2 ${REDACTED}`,
  },
  {
    name: 'bearer-token',
    re: /\b(bearer)\s+(?!\[REDACTED\])[A-Za-z0-9\-._~+/]+=*/gi,
    replace: `$1 ${REDACTED}`,
  },
  {
    name: 'aws-secret-access-key',
    re: /(aws_?secret_?(?:access_?)?key["']?\s*[:=]\s*["']?)[A-Za-z0-9/+=]{40}/gi,
    replace: `$1${REDACTED}`,
  },
  {
    name: 'aws-access-key-id',
    re: /\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}\b/g,
    replace: REDACTED,
  },
  {
    name: 'key-value-secret',
    re: new RegExp(
      `((?:^|[^A-Za-z])(?:${KEYS})\\s*[=:]\\s*)(?!\\[REDACTED\\])("[^"]*"|'[^']*'|[^\\s,;&"']+)`,
      'gi',
    ),
    replace: `$1${REDACTED}`,
  },
];

const PEM_BEGIN = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/;
const PEM_END = /-----END [A-Z0-9 ]*PRIVATE KEY-----/;

/**
 * Compiles the configured patterns (JavaScript regular expressions); throws naming the one that
 * does not compile.
 */
export function compileCustomPatterns(patterns: readonly string[]): RegExp[] {
  return patterns.map((p, i) => {
    try {
      return new RegExp(p, 'g');
    } catch (err) {
      throw new Error(`logs.redact[${i}]: ${(err as Error).message}`);
    }
  });
}

/** Redacts lines; keeps per-source state for private keys spread over several lines. */
export class Redactor {
  /** Sources inside a multi-line private key. */
  readonly #inKey = new Set<string>();
  readonly #custom: readonly RegExp[];

  constructor(custom: readonly RegExp[] = []) {
    this.#custom = custom;
  }

  /** The line with every secret replaced. `source` keys the multi-line state. */
  line(source: string, text: string): string {
    // A private key over several lines: from the BEGIN line to the END line, nothing goes out.
    if (this.#inKey.has(source)) {
      const end = PEM_END.exec(text);
      if (end === null) return REDACTED;
      this.#inKey.delete(source);
      return `${REDACTED} ${this.text(text.slice(end.index))}`;
    }
    let out = this.text(text);
    const begin = PEM_BEGIN.exec(out);
    if (begin !== null && !PEM_END.test(out.slice(begin.index))) {
      this.#inKey.add(source);
      out = `${out.slice(0, begin.index + begin[0].length)} ${REDACTED}`;
    }
    return out;
  }

  /** A text (one line, or a whole multi-line message) with every secret replaced. */
  text(text: string): string {
    let out = text;
    for (const r of BUILTIN_RULES) out = out.replace(r.re, r.replace);
    for (const re of this.#custom) out = out.replace(re, REDACTED);
    return out;
  }

  /** Structured fields with their string values redacted. */
  fields<T extends { [k: string]: string | number | boolean }>(f: T): T {
    const out: { [k: string]: string | number | boolean } = {};
    for (const [k, v] of Object.entries(f)) out[k] = typeof v === 'string' ? this.text(v) : v;
    return out as T;
  }
}
