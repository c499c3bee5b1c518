// The GPU bundle (scripts/gpu-bundle.sh): built here, then run as on a bare GPU box: no Node on PATH, the
// Vulkan loader from the bundle's .deb, training on webgpu (lavapipe here, the NVIDIA driver there).
// Needs the npm registry and a WebGPU adapter; FREEZEFLOW_REQUIRE_WEBGPU=1 (CI) makes a skip a failure.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, statSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { probeWebgpu } from '../src/backend/webgpu.js';
import { ROOT, tempDir } from './helpers.js';

const probe = await probeWebgpu();
const required = process.env['FREEZEFLOW_REQUIRE_WEBGPU'] === '1';
const skip =
  (probe.adapter === undefined && !required && `webgpu unavailable: ${probe.reason}`) ||
  (process.env['FREEZEFLOW_SKIP_BUNDLE'] === '1' && 'FREEZEFLOW_SKIP_BUNDLE=1');

/** A PATH with every command of /usr/bin and /usr/sbin except Node's. */
function pathWithoutNode(dir: string): string {
  mkdirSync(dir);
  for (const d of ['/usr/bin', '/usr/sbin', '/sbin'])
    for (const f of readdirSync(d)) {
      if (/^(node|nodejs|npm|npx|corepack)$/.test(f)) continue;
      try {
        symlinkSync(join(d, f), join(dir, f));
      } catch {
        // the same name in two folders: the first wins, as on a PATH
      }
    }
  return dir;
}

test('gpu bundle: under 60 MiB, runs with no Node on PATH and the bundled Vulkan loader', { skip }, () => {
  const dir = tempDir('ff-bundle-');
  const tarball = join(dir, 'freezeflow-gpu.tar.gz');
  const build = spawnSync('bash', [join(ROOT, 'scripts/gpu-bundle.sh'), tarball], { encoding: 'utf8' });
  assert.equal(build.status, 0, build.stderr);
  assert.ok(statSync(tarball).size < 60 * 2 ** 20, `${statSync(tarball).size} bytes`);
  const list = spawnSync('tar', ['tzf', tarball], { encoding: 'utf8', maxBuffer: 64 * 2 ** 20 }).stdout.split('\n');
  for (const must of [
    'freezeflow-gpu/node/bin/node',
    'freezeflow-gpu/app/node_modules/webgpu/dist/linux-x64/dawn.node',
    'freezeflow-gpu/app/node_modules/@tensorflow/tfjs-backend-webgpu/dist/tf-backend-webgpu.node.js',
    'freezeflow-gpu/app/dist/test/webgpu.test.js',
  ])
    assert.ok(list.includes(must), `${must} is in the bundle`);
  // the loader, and glvnd: NVIDIA's Vulkan driver found no instance without it on a real H200 machine
  for (const pkg of ['libvulkan1', 'libglvnd0', 'libglx0'])
    assert.ok(
      list.some((f) => new RegExp(`^freezeflow-gpu/debs/${pkg}_.*\\.deb$`).test(f)),
      `${pkg}.deb in the bundle`,
    );
  assert.ok(!list.some((f) => f.includes('node_modules/typescript/')), 'no dev packages');
  assert.equal(spawnSync('tar', ['xzf', tarball, '-C', dir]).status, 0);
  const path = pathWithoutNode(join(dir, 'bin'));
  assert.notEqual(spawnSync('bash', ['-c', 'command -v node'], { env: { PATH: path } }).status, 0, 'no node');
  const r = spawnSync('bash', [join(dir, 'freezeflow-gpu/app/scripts/gpu-check.sh'), '--smoke'], {
    encoding: 'utf8',
    env: { PATH: path, HOME: dir, FREEZEFLOW_BUNDLED_VULKAN: '1' },
    timeout: 300_000,
  });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /bundle mode: v20\./);
  assert.match(r.stderr, /Vulkan loader and glvnd from the bundle/);
  assert.match(r.stdout, /backend webgpu/);
  assert.match(r.stdout, /done: 2 epochs/);
});
