import { ERRORS } from '@bulwark/protocol';
import { httpStatus } from '@bulwark/transport';
import { CONFIG_FIELDS } from './config.js';

/** docs/reference/errors.md, generated from the error registry (a test keeps the file in step). */
export function errorsReference(): string {
  const rows = Object.entries(ERRORS).map(
    ([code, e]) => `| \`${code}\` | ${e.kind} | ${httpStatus(e.kind)} | ${e.title} |`,
  );
  return `# Error codes

Every error the hub returns is an RFC 9457 problem document (\`application/problem+json\`) with a
stable \`code\`; its \`type\` is \`urn:bulwark:problem:<code>\`. Codes never change meaning; new ones
may be added. The kind decides the HTTP status (and, later, the MQTT and CoAP codes) in one
function per transport.

| code | kind | HTTP | meaning |
|---|---|---|---|
${rows.join('\n')}

Generated from \`packages/protocol/src/errors.ts\` by \`node scripts/gen-docs.mjs\`.
`;
}

/** docs/reference/config.md, generated from the config schema. */
export function configReference(): string {
  const rows = Object.values(CONFIG_FIELDS).map((f) => {
    const env = `BULWARK_${f.flag.toUpperCase().replace(/-/g, '_')}`;
    const def = 'default' in f ? `\`${JSON.stringify(f.default)}\`` : 'required';
    return `| \`--${f.flag}\` | \`${env}\` | ${def} | ${f.doc} |`;
  });
  return `# Hub configuration

\`bulwark hub\` takes every setting as a flag, a \`BULWARK_*\` environment variable or a key of a JSON
config file (\`--config FILE\` or \`BULWARK_CONFIG\`). Precedence: flags, then environment variables,
then the file, then the defaults below. The configuration is validated at start; an unknown flag, an
unknown \`BULWARK_*\` variable or an unknown key in the file stops the hub with a message naming it.
(\`BULWARK_HUB\`, \`BULWARK_API_KEY\`, \`BULWARK_TOKEN\`, \`BULWARK_CA\` and \`BULWARK_PASSWORD\` belong to
the CLI and are ignored by the hub.) The hub prints the config file it read at start.

## The config file

A JSON object keyed by the flag names below; numbers may be JSON numbers, lists (\`public-names\`)
JSON arrays. Relative paths (the data dir, certificate and key files) are relative to the file.
Keep it \`0600\` if it holds a password, or put the password in the environment instead.

\`\`\`json
{
  "data-dir": "/var/lib/bulwark",
  "database": "postgres://bulwark@db.internal:5432/bulwark",
  "public-names": ["hub.example.com"],
  "tls-cert": "/etc/bulwark/tls/fullchain.pem",
  "tls-key": "/etc/bulwark/tls/privkey.pem"
}
\`\`\`

## Admin commands use the same configuration

\`bulwark admin create-owner\`, \`admin api-key\`, \`admin reset-password\` and \`audit verify\` act on
the hub's database directly and read the same flags, variables and file: run them with
\`--config FILE\` (or \`BULWARK_CONFIG\`). The hub records the database it uses in
\`DATA_DIR/storage.json\` at every start; an admin command whose configuration names another
database (for instance only \`--data-dir\` for a hub on PostgreSQL, which would create an empty
SQLite database) is refused with a message saying what to pass (decision 0026).

## Certificate files

\`--tls-cert\`, \`--tls-key\` and \`--tls-ca\` are re-read on \`SIGHUP\` (\`systemctl reload\`): new
connections get the new certificate, open ones keep theirs; a file that does not load keeps the old
certificate and logs why (decision 0025). The NATS client files (\`--nats-tls-*\`, \`--nats-creds\`)
are read at every (re)connection to NATS.

## Settings

| flag | environment | default | meaning |
|---|---|---|---|
${rows.join('\n')}

Generated from \`packages/hub/src/config.ts\` by \`node scripts/gen-docs.mjs\`.
`;
}
