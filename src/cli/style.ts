// Terminal styling: colours only on a TTY and never when NO_COLOR is set (https://no-color.org).
import { Chalk, type ChalkInstance } from 'chalk';

export function makeStyle(stream: NodeJS.WriteStream = process.stdout): ChalkInstance {
  const noColor = process.env['NO_COLOR'] !== undefined && process.env['NO_COLOR'] !== '';
  const forced = (process.env['FORCE_COLOR'] ?? '') !== '' && process.env['FORCE_COLOR'] !== '0';
  const level = noColor ? 0 : forced || stream.isTTY ? 1 : 0;
  return new Chalk({ level });
}

export const style = makeStyle();
export const errStyle = makeStyle(process.stderr);
