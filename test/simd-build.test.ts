// The committed SIMD modules are what their source builds to: rebuilt and compared byte for byte where
// Debian's clang-19 (the recorded version) and lld-19 are installed, else checked against the recorded hashes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { simdBuild } from '../src/backend/simd.js';
import { ROOT } from './helpers.js';

const DIR = join(ROOT, 'src/backend/simd');
const recorded = readFileSync(join(DIR, 'kernels.sha256'), 'utf8');
const compiler = /^compiler (.*)$/m.exec(recorded)?.[1];
const MODULES = ['kernels.wasm', 'kernels-shared.wasm', 'kernels-relaxed.wasm', 'kernels-relaxed-shared.wasm'];
const sha = (f: string) =>
  createHash('sha256')
    .update(readFileSync(join(DIR, f)))
    .digest('hex');

test('kernels.c and the committed modules are the ones recorded in kernels.sha256', () => {
  for (const f of ['kernels.c', ...MODULES]) {
    const line = new RegExp(`^(source|module) ([0-9a-f]{64})  ${f.replace('.', '\\.')}$`, 'm').exec(recorded);
    assert.ok(line, `${f} is recorded`);
    assert.equal(sha(f), line[2], `${f} changed without scripts/build-kernels.sh`);
  }
});

/** The ids of a wasm binary's sections, in order. */
function sectionIds(b: Buffer): number[] {
  const ids: number[] = [];
  let p = 8;
  const leb = () => {
    let r = 0;
    let shift = 0;
    let x: number;
    do {
      x = b[p++]!;
      r |= (x & 127) << shift;
      shift += 7;
    } while (x & 128);
    return r >>> 0;
  };
  while (p < b.length) {
    ids.push(b[p++]!);
    const size = leb(); // not `p += leb()`: that reads p before leb moves it
    p += size;
  }
  return ids;
}

test("the modules own no memory: they import tfjs-wasm's (plain or shared) and have no data segments", () => {
  simdBuild(); // the relaxed modules compile only once V8's relaxed-SIMD flag is set
  for (const f of MODULES) {
    const bytes = readFileSync(join(DIR, f));
    // 11: data, 12: data count; a data segment would be written into tfjs' heap at instantiation
    assert.ok(!sectionIds(bytes).some((id) => id === 11 || id === 12), `${f} has data`);
    assert.ok(sectionIds(bytes).includes(10), 'the parser reads the code section');
    const m = new WebAssembly.Module(bytes);
    assert.deepEqual(WebAssembly.Module.imports(m), [{ module: 'env', name: 'memory', kind: 'memory' }]);
    assert.deepEqual(
      WebAssembly.Module.exports(m)
        .map((e) => e.name)
        .sort(),
      [
        'adam_update',
        'add_into',
        'bn_backward',
        'bn_moments',
        'bn_normalize',
        'clip_grad',
        'conv_filter_grad_rows',
        'conv_forward_rows',
        'conv_input_grad',
        'depthwise_filter_grad',
        'depthwise_input_grad',
        'hard_swish',
        'max_pool_grad',
        'pack_filter',
        'pointwise_filter_grad',
        'sum_into',
      ],
    );
  }
});

const clang = spawnSync('clang-19', ['--version'], { encoding: 'utf8' });
const version = clang.status === 0 ? clang.stdout.split('\n')[0] : undefined;
// the linker clang-19 runs for wasm32 (lld-19's, beside it)
const linker = spawnSync('clang-19', ['--target=wasm32', '-print-prog-name=wasm-ld'], { encoding: 'utf8' });
const canBuild = version === compiler && spawnSync(linker.stdout?.trim() || 'wasm-ld', ['--version']).status === 0;

test(
  'rebuilding from kernels.c gives the committed modules byte for byte',
  {
    skip:
      !canBuild &&
      !process.env['FREEZEFLOW_REQUIRE_CLANG'] &&
      `needs ${compiler ?? 'the recorded clang'} and lld-19 (found: ${version ?? 'no clang-19'})`,
  },
  () => {
    const r = spawnSync('bash', [join(ROOT, 'scripts/build-kernels.sh'), '--check'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /the committed modules are what .* builds from kernels\.c/);
  },
);

/** Each EXPORT'd function of kernels.c: its parameters, pointer or scalar, in order. */
function cExports(): Map<string, ('ptr' | 'num')[]> {
  const c = readFileSync(join(DIR, 'kernels.c'), 'utf8');
  const out = new Map<string, ('ptr' | 'num')[]>();
  for (const m of c.matchAll(/EXPORT\((\w+)\)\s*void\s+(\w+)\s*\(([^)]*)\)/g)) {
    assert.equal(m[1], m[2], `EXPORT(${m[1]}) names the function below it`);
    out.set(
      m[1]!,
      m[3]!.split(',').map((p) => (p.includes('*') ? 'ptr' : 'num')),
    );
  }
  return out;
}

/** SimdKernels in simd.ts: each member's parameters, Ptr or number, in order (DepthwiseKernel resolved). */
function tsDeclarations(): Map<string, ('ptr' | 'num')[]> {
  const file = join(ROOT, 'src/backend/simd.ts');
  const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const aliases = new Map<string, ts.FunctionTypeNode>();
  let members: ts.NodeArray<ts.TypeElement> | undefined;
  sf.forEachChild((n) => {
    if (ts.isTypeAliasDeclaration(n) && ts.isFunctionTypeNode(n.type)) aliases.set(n.name.text, n.type);
    if (ts.isInterfaceDeclaration(n) && n.name.text === 'SimdKernels') members = n.members;
  });
  const kinds = (ps: ts.NodeArray<ts.ParameterDeclaration>) =>
    ps.map((p) => (p.type?.getText(sf) === 'Ptr' ? 'ptr' : 'num') as 'ptr' | 'num');
  const out = new Map<string, ('ptr' | 'num')[]>();
  for (const m of members ?? []) {
    const name = m.name!.getText(sf);
    if (ts.isMethodSignature(m)) out.set(name, kinds(m.parameters));
    else if (ts.isPropertySignature(m) && m.type && ts.isTypeReferenceNode(m.type))
      out.set(name, kinds(aliases.get(m.type.typeName.getText(sf))!.parameters));
  }
  return out;
}

test('the kernels simd.ts declares are the ones kernels.c exports, argument for argument, and both modules export them', () => {
  const c = cExports();
  const declared = tsDeclarations();
  assert.ok(c.size >= 10, `${c.size} exports found in kernels.c`);
  assert.deepEqual([...declared.keys()].sort(), [...c.keys()].sort());
  for (const [name, params] of c) assert.deepEqual(declared.get(name), params, name);
  for (const wasm of MODULES) {
    const mod = new WebAssembly.Module(readFileSync(join(DIR, wasm)));
    const fns = WebAssembly.Module.exports(mod)
      .filter((e) => e.kind === 'function')
      .map((e) => e.name);
    for (const name of c.keys()) assert.ok(fns.includes(name), `${wasm} exports ${name}`);
  }
  // the parser sees a mismatch: one argument fewer on one side is caught
  const [first, params] = [...c][0]!;
  assert.notDeepEqual(declared.get(first), params.slice(1));
});
