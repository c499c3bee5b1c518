// ESLint flat config: typescript-eslint's recommended rules on the TypeScript sources, and the module
// graph: cli → export → train → {schedule, model, data, backend, report} → core, the five in the middle siblings
// (what two of them share, as the head-layer kinds or the plan's data section, is in core). An import against that
// direction fails `npm run lint` (CI runs it).
import tseslint from 'typescript-eslint';

export const FOLDERS = ['cli', 'export', 'train', 'model', 'data', 'schedule', 'backend', 'report', 'core'];
// what each folder may import besides itself
export const ALLOWED = {
  cli: FOLDERS,
  // export reads a trained run (train's loader) and writes it in other formats; nothing below imports it
  export: ['train', 'model', 'data', 'schedule', 'backend', 'report', 'core'],
  train: ['model', 'data', 'schedule', 'backend', 'report', 'core'],
  model: ['core'],
  data: ['core'],
  schedule: ['core'],
  backend: ['core'],
  report: ['core'],
  core: [],
};

const graph = Object.entries(ALLOWED).map(([folder, allowed]) => ({
  files: [`src/${folder}/**/*.ts`],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: FOLDERS.filter((f) => f !== folder && !allowed.includes(f)).map((f) => ({
          group: [`../${f}/*`, `../../${f}/*`],
          message: `src/${folder} may not import src/${f} (module graph: see eslint.config.js)`,
        })),
      },
    ],
  },
}));

// tfjs internals are touched in src/core/tfjs-internals.ts only (the wasm kernels keep their own typed
// view of the wasm backend): reading these properties anywhere else fails lint.
const INTERNALS = [
  'containerNodes',
  'inboundNodes',
  '_trainableWeights',
  '_nonTrainableWeights',
  'readSync',
  'PThread',
];
const internals = {
  files: ['src/**/*.ts'],
  ignores: ['src/core/tfjs-internals.ts'],
  rules: {
    'no-restricted-properties': [
      'error',
      ...INTERNALS.map((property) => ({ property, message: 'tfjs internals go through src/core/tfjs-internals.ts' })),
    ],
  },
};

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'runs/', 'models/', 'bin/', 'schemas/*.cjs'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  // promises that nobody awaits lose their errors (a reporter's close, a checkpoint write): type-checked
  {
    files: ['src/**/*.ts', 'test/**/*.ts', 'scripts/**/*.ts'],
    languageOptions: {
      // src/*/x.ts: the graph test lints imagined files there
      parserOptions: { projectService: { allowDefaultProject: ['src/*/x.ts'] }, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'it', 'describe'] }] },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
    },
  },
  ...graph,
  internals,
);
