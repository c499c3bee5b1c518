// `freezeflow completion`: print a shell completion script (bash or zsh).
import { examples } from '../help.js';
import type { Command } from 'commander';
import { Argument } from 'commander';
import { completionScript } from '../help.js';
import { out } from '../output.js';

export function addCompletion(program: Command): void {
  program
    .command('completion')
    .addHelpText(
      'after',
      examples(['freezeflow completion bash >> ~/.bashrc', 'freezeflow completion zsh > "${fpath[1]}/_freezeflow"']),
    )
    .description('print a shell completion script (bash or zsh)')
    .addArgument(new Argument('<shell>', 'bash or zsh').choices(['bash', 'zsh']))
    .action((shell: 'bash' | 'zsh') => {
      out(completionScript(program, shell));
    });
}
