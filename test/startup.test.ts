// Start-up: commands that need no model answer without loading tfjs (2–7 s on a cold disk) or compiling
// the schema (Ajv: ~0.2 s at every start; the committed standalone validator is used instead). Each
// command runs in a fresh process that reports what was loaded: tfjs-core leaves its engine on
// globalThis, Ajv its module in require's cache.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { schemaHash, validatorSource, VALIDATOR_FILE } from '../src/schedule/validator.js';
import { moduleProbe, ROOT, tempDir, tinySchedule, writeSchedule } from './helpers.js';

const PROBE = `
const { main } = await import(${JSON.stringify(pathToFileURL(join(ROOT, 'dist/src/cli/main.js')).href)});
const { createRequire } = await import('node:module');
const write = process.stdout.write.bind(process.stdout);
process.stdout.write = () => true;
await main(['node', 'freezeflow', ...JSON.parse(process.env.ARGS)]);
process.stdout.write = write;
const code = process.exitCode ?? 0;
process.exitCode = 0;
const ajv = Object.keys(createRequire(import.meta.url).cache).some((k) => k.includes('/ajv/dist/ajv.js'));
console.log(JSON.stringify({ tfjs: globalThis._tfengine !== undefined, ajv, code }));
`;

interface Loaded {
  tfjs: boolean;
  ajv: boolean;
  code?: number;
}

function loaded(args: string[]): Loaded {
  return moduleProbe<Loaded>(PROBE, { ARGS: JSON.stringify(args) });
}

test('validate, plan without --model, init and completion load neither tfjs nor Ajv', () => {
  for (const args of [
    ['validate', 'schedules/progressive.yaml'],
    ['plan', '-s', 'schedules/lora.yaml'],
    ['init', '--strategy', 'progressive', '-o', '-'],
    ['completion', 'bash'],
  ])
    assert.deepEqual(loaded(args), { tfjs: false, ajv: false, code: 0 }, args.join(' '));
  // the probe sees tfjs where a command needs it
  assert.equal(loaded(['inspect', 'builtin:resnet-mini']).tfjs, true);
});

test('train with a mistake in its schedule says so before tfjs loads (exit 2)', () => {
  const dir = tempDir('ff-startup-');
  const bad = writeSchedule(dir, tinySchedule(64, '  - { name: a, epochs: 0 }\n'));
  assert.deepEqual(loaded(['train', '-s', bad, '--out', join(dir, 'run')]), { tfjs: false, ajv: false, code: 2 });
});

test('the committed standalone validator is what the schema builds (npm run schema writes it)', () => {
  const committed = readFileSync(join(ROOT, VALIDATOR_FILE), 'utf8');
  assert.match(committed, new RegExp(`^// schema ${schemaHash()}$`, 'm'));
  assert.equal(committed, validatorSource());
});
