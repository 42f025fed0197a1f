import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { getCommand } from './commands/get';
import { importCommand } from './commands/import';
import { kubeconfigCommand } from './commands/kubeconfig';
import { loginCommand } from './commands/login';
import { removeCommand } from './commands/remove';
import { rotateCommand } from './commands/rotate';
import { tokenCommand } from './commands/token';
import type { Ctx } from './context';
import { CliError, ExitCode } from './errors';
import { paint, processIo } from './output';

const EXIT_CODES = `
Exit codes:
  0  done
  1  usage: a bad flag or argument
  2  refused or invalid: the server refused (400, 401, 403, 409, 422, 429), or local input is unusable
  3  not found: no such cluster, or a file you named does not exist
  4  unreachable: the server cannot be reached or trusted, answered 503/504, or a wait timed out
  5  failed: an import or removal ran and failed (its reason and fix are printed)
  6  internal: the server answered 500, or the CLI hit an unexpected error
`;

export function program(ctx: Ctx): Command {
  const root = new Command('flotilla')
    .description('Flotilla, the multi-cluster control plane, from the command line (docs/cli.md)')
    .version(version(), '-v, --version')
    .showHelpAfterError('(flotilla <command> --help shows how to use it)')
    .configureOutput({ writeOut: (s) => ctx.io.out(s), writeErr: (s) => ctx.io.err(s) })
    .exitOverride()
    .addHelpText('after', `\nStart with \`flotilla login --server URL --token TOKEN\` (or --oidc-issuer URL --oidc-client-id ID).\n${EXIT_CODES}`);
  for (const make of [loginCommand, tokenCommand, importCommand, getCommand, kubeconfigCommand, rotateCommand, removeCommand]) root.addCommand(make(ctx));
  // addCommand does not pass the root's settings on: every command exits through main().
  const inherit = (c: Command) => {
    c.exitOverride().configureOutput({ writeOut: (s) => ctx.io.out(s), writeErr: (s) => ctx.io.err(s) }).showHelpAfterError('(add --help to see how to use it)');
    c.commands.forEach(inherit);
  };
  root.commands.forEach(inherit);
  return root;
}

function version(): string {
  // Two levels up from cli/src (the source), three from dist/cli/src (the build).
  for (const up of ['../../package.json', '../../../package.json']) {
    try {
      return (JSON.parse(readFileSync(join(__dirname, up), 'utf8')) as { version: string }).version;
    } catch {
      // the other layout
    }
  }
  return 'unknown';
}

/** Runs the CLI; resolves to the exit code. Errors are printed as messages, never as stack traces. */
export async function run(argv: string[], ctx: Ctx): Promise<number> {
  try {
    await program(ctx).parseAsync(argv);
    return ExitCode.Ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander printed its message; help and version are not errors.
      return error.exitCode === 0 || error.code === 'commander.helpDisplayed' || error.code === 'commander.version' ? ExitCode.Ok : ExitCode.Usage;
    }
    if (error instanceof CliError) {
      if (error.message) ctx.io.err(`${paint(ctx.io.errColor, 'red', 'error:')} ${error.message}\n`);
      for (const hint of error.hints) ctx.io.err(`  ${hint}\n`);
      return error.exitCode;
    }
    const message = error instanceof Error ? error.message : String(error);
    ctx.io.err(`${paint(ctx.io.errColor, 'red', 'error:')} unexpected: ${message}\n  please report it, with the command you ran (without its token)\n`);
    return ExitCode.Internal;
  }
}

/** The entry point of bin/flotilla.js. */
export function main(argv: string[] = process.argv): void {
  const ctx: Ctx = { io: processIo(), env: process.env };
  process.on('SIGINT', () => {
    process.stderr.write('\ninterrupted: whatever Flotilla was asked to do goes on there (see `flotilla get clusters`)\n');
    process.exit(130);
  });
  void run(argv, ctx).then((code) => {
    process.exitCode = code;
  });
}
