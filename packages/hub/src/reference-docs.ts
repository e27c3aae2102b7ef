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

\`bulwark hub\` takes every setting as a flag or a \`BULWARK_*\` environment variable (the flag wins).
The configuration is validated at start; an unknown flag or an unknown \`BULWARK_*\` variable stops the
hub with a message naming it. (\`BULWARK_HUB\`, \`BULWARK_API_KEY\`, \`BULWARK_TOKEN\`, \`BULWARK_CA\` and
\`BULWARK_PASSWORD\` belong to the CLI and are ignored by the hub.)

| flag | environment | default | meaning |
|---|---|---|---|
${rows.join('\n')}

Generated from \`packages/hub/src/config.ts\` by \`node scripts/gen-docs.mjs\`.
`;
}
