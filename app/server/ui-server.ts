import type { CliIo } from '../cli/main.js';
import type { UiArgs } from '../cli/args.js';

export async function runUi(_args: UiArgs, io: CliIo): Promise<number> {
  io.stderr('resumescope: the ui command is not built yet\n');
  return 2;
}
