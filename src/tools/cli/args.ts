// What the CLI's commands share in reading their arguments: one usage error (exit status 2, with where to find help),
// node:util's parseArgs whose first line of complaint becomes that error, and integer options checked against a range.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { LensError } from '../../core/common/errors';

/** A mistake on the command line: exit status 2 and a pointer to the help that lists the options. */
export class UsageError extends LensError {
  constructor(message: string, help = '--help') {
    super('usage', `${message} (see ${help})`);
  }
}

/** Options and positionals, strictly: an unknown option is a UsageError naming it. */
export function parseOptions<O extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: O, help?: string) {
  try {
    return parseArgs({ args: argv, allowPositionals: true, strict: true, options });
  } catch (e) {
    throw new UsageError((e as Error).message.split('\n')[0], help);
  }
}

/** `--name v` as an integer from min to max (undefined when not given). */
export function intOption(name: string, v: string | undefined, min: number, max: number, help?: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be an integer from ${min} to ${max}, not "${v}"`, help);
  return n;
}
