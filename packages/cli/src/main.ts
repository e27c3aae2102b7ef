import { BulwarkError } from '@bulwark/protocol/lite';
import { groupHelp } from './command.js';
import { COMMANDS } from './commands/index.js';
import {
  isAgentCommand,
  isGatewayCommand,
  isLocalCommand,
  runAgentCommand,
  runGatewayCommand,
  runLocalCommand,
} from './commands/local.js';
import { dispatch } from './dispatch.js';
import { CliError, UsageError } from './errors.js';
import { reportJsonError, wantsJson } from './json-error.js';
import { processIo, type Io } from './io.js';
import { cliVersion } from './version.js';

const LOCAL_HELP = `local commands (run by the hub package on its database; --help on each):
  bulwark hub [--config FILE] [--data-dir DIR] …   run a hub
  bulwark admin create-owner [--config FILE] …      create the first owner
  bulwark admin api-key [--config FILE] …           create an API key without the API
  bulwark admin reset-password [--config FILE] …    set a user's password
  bulwark audit verify [--config FILE]              verify the audit hash chain
  bulwark doctor [--service-env FILE]               check a running installation (pass/warn/fail)
  (--config FILE or BULWARK_CONFIG: the hub's config file, so they act on the hub's database)

device commands (run by the agent package on this machine):
  bulwark agent --config FILE                      run the device agent
  bulwark agent setup --config FILE                prepare and check its update slots
  bulwark simulate --devices N …                   run N simulated agents against a hub
  bulwark discover [--timeout S]                   list Bulwark devices announced on the LAN
  bulwark gateway --config FILE                    run the gateway (site controller; gateway package)
`;

const ENV_HELP = `environment:
  BULWARK_HUB        hub URL (or --hub); else runtime.json in --data-dir, BULWARK_DATA_DIR or ./.bulwark
  BULWARK_CA         CA bundle to trust for the hub (or --ca)
  BULWARK_API_KEY    API key to authenticate with (or BULWARK_TOKEN, an access token from login)
`;

/** The top-level help. */
export function mainHelp(): string {
  return `usage: bulwark <command> [options]   (bulwark <command> --help for its options)\n\n${groupHelp(COMMANDS, [])}\n${LOCAL_HELP}\n${ENV_HELP}`;
}

/**
 * What a TLS failure (undici reports OpenSSL's code) means for the user: a certificate that does
 * not name the host asked for is not an untrusted CA, and neither is an expired one (issue 13).
 */
export function tlsHint(code: string): string | undefined {
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID')
    return "the hub's certificate does not name the host in the URL: use a name or address the certificate has (the hub prints them at start), or add this one to the hub's --public-names (or give the hub a certificate that names it)";
  if (code === 'CERT_HAS_EXPIRED')
    return "the hub's certificate has expired (or this machine's clock is wrong)";
  if (code === 'CERT_NOT_YET_VALID')
    return "the hub's certificate is not valid yet: check this machine's clock";
  if (
    /SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|CERT_UNTRUSTED|CERT_SIGNATURE_FAILURE/.test(
      code,
    )
  )
    return "the hub's certificate is not signed by a CA this command trusts: pass --ca FILE or set BULWARK_CA to the hub's CA bundle (DATA_DIR/ca.pem)";
  if (/CERT|ERR_TLS|ERR_SSL/.test(code)) return `TLS failed (${code})`;
  return undefined;
}

/** Prints an error the way every command does and returns its exit code. */
export function reportError(err: unknown, io: Io, json = false): number {
  if (json) return reportJsonError(err, io);
  if (err instanceof UsageError) {
    const help = err.command === undefined ? 'bulwark help' : `bulwark ${err.command} --help`;
    io.err(`error: ${err.message}\n(see \`${help}\`)\n`);
    return 2;
  }
  if (err instanceof BulwarkError) {
    io.err(`error: ${err.message} (${err.code})\n`);
    if (err.code === 'unavailable') {
      const code = err.extra.causeCode;
      const cause = typeof code === 'string' ? code : '';
      io.err(
        `hint: ${tlsHint(cause) ?? 'is the hub running at that address? (set --hub or BULWARK_HUB)'}\n`,
      );
    }
    return 1;
  }
  if (err instanceof CliError) {
    io.err(`error: ${err.message}\n`);
    return 1;
  }
  io.err(`error: ${err instanceof Error ? err.message : String(err)}\n`);
  return 1;
}

/** The `bulwark` command: runs argv (without node and script) and returns the exit code. */
export async function main(argv: string[], io: Io = processIo()): Promise<number> {
  try {
    const [first, ...rest] = argv;
    if (first === '--version' || first === '-V' || first === 'version') {
      io.out(`bulwark ${cliVersion()}\n`);
      return 0;
    }
    if (first === undefined) {
      io.err(mainHelp());
      return 2;
    }
    if (first === 'help' || first === '--help' || first === '-h') {
      if (rest.length === 0) {
        io.out(mainHelp());
        return 0;
      }
      // `bulwark help device list` is `bulwark device list --help`.
      if (isLocalCommand(rest)) return await runLocalCommand([...rest, '--help'], io);
      if (isAgentCommand(rest)) return await runAgentCommand([...rest, '--help'], io);
      if (isGatewayCommand(rest)) return await runGatewayCommand([...rest, '--help'], io);
      return await dispatch(COMMANDS, [...rest, '--help'], io);
    }
    if (isLocalCommand(argv)) return await runLocalCommand(argv, io);
    if (isAgentCommand(argv)) return await runAgentCommand(argv, io);
    if (isGatewayCommand(argv)) return await runGatewayCommand(argv, io);
    return await dispatch(COMMANDS, argv, io);
  } catch (err) {
    return reportError(err, io, wantsJson(argv));
  }
}
