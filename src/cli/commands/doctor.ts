// `freezeflow doctor`: which backends this machine has, whether a GPU is really used, and what auto picks.
import { examples } from '../help.js';
import type { Command } from 'commander';

export function addDoctor(program: Command): void {
  program
    .command('doctor')
    .addHelpText('after', examples(['freezeflow doctor', 'freezeflow doctor --json']))
    .description('which backends this machine has, whether a GPU is really used, and what auto picks')
    .option('--json', 'one JSON object on stdout')
    .option('--kernels', 'also list the wasm kernel table (what freezeflow registers, over what, in order)')
    .action(async (opts: { json?: boolean; kernels?: boolean }) => {
      const { runDoctor } = await import('../doctor.js');
      process.exitCode = await runDoctor(opts);
    });
}
