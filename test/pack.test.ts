// The package as a user installs it: `npm pack`, installed into a prefix of its own, run from another
// folder on a copied example. Needs the npm registry (or its cache); FREEZEFLOW_SKIP_PACK=1 skips it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, tempDir } from './helpers.js';

test(
  'npm pack → npm install --prefix → freezeflow train from any folder',
  { skip: process.env['FREEZEFLOW_SKIP_PACK'] === '1' && 'FREEZEFLOW_SKIP_PACK=1' },
  () => {
    const dir = tempDir('ff-pack-');
    // with its scripts, as a publish runs them: prepack takes `prepare` out of the tarball's manifest
    const manifest = readFileSync(join(ROOT, 'package.json'), 'utf8');
    const pack = spawnSync('npm', ['pack', '--pack-destination', dir, '--silent'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    assert.equal(pack.status, 0, pack.stderr);
    assert.equal(readFileSync(join(ROOT, 'package.json'), 'utf8'), manifest, 'postpack restores package.json');
    const tarball = join(dir, pack.stdout.trim().split('\n').at(-1)!);
    const packed = spawnSync('tar', ['-xOzf', tarball, 'package/package.json'], { encoding: 'utf8' });
    assert.equal(JSON.parse(packed.stdout).scripts.prepare, undefined, 'no prepare script in the tarball');
    // a source map points at src/*.ts, which the tarball does not carry: none ship
    const listing = spawnSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).stdout.split('\n');
    assert.ok(listing.includes('package/dist/src/index.d.ts'), 'types ship');
    assert.deepEqual(
      listing.filter((f) => f.endsWith('.map')),
      [],
      'no orphan source maps',
    );
    const prefix = join(dir, 'prefix');
    const install = spawnSync('npm', ['install', '--prefix', prefix, tarball, '--no-audit', '--no-fund'], {
      encoding: 'utf8',
      timeout: 300_000,
    });
    assert.equal(install.status, 0, install.stderr);
    assert.doesNotMatch(install.stderr, /EBADENGINE|install-scripts/, 'a user install prints no warnings');
    // the install weight a user pays (tfjs core + layers + cpu + wasm, sharp; no umbrella, no JSON digits)
    const mb = Number(
      spawnSync('du', ['-sm', join(prefix, 'node_modules')], { encoding: 'utf8' }).stdout.split('\t')[0],
    );
    assert.ok(mb <= 150, `node_modules of an install is ${mb} MB (goal ≤ 150 MB)`);
    const work = tempDir('ff-user-');
    copyFileSync(join(ROOT, 'schedules/full-freeze.yaml'), join(work, 'full-freeze.yaml'));
    const bin = join(prefix, 'node_modules/.bin/freezeflow');
    const r = spawnSync(
      bin,
      ['train', '-s', 'full-freeze.yaml', '--samples', '64', '--out', 'run', '--quiet', '--backend', 'wasm'],
      {
        cwd: work,
        encoding: 'utf8',
      },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.equal(JSON.parse(readFileSync(join(work, 'run/summary.json'), 'utf8')).status, 'completed');
    assert.ok(existsSync(join(work, 'run/model/model.json')));
    // the library entry point resolves from the installed package
    const lib = spawnSync(
      process.execPath,
      ['--input-type=module', '-e', "import('freezeflow').then((m) => console.log(typeof m.train))"],
      {
        cwd: prefix,
        encoding: 'utf8',
      },
    );
    assert.equal(lib.stdout.trim(), 'function', lib.stderr);
  },
);
