// ESLint flat config: typescript-eslint's recommended rules plus the house rules, and the import
// boundaries between projects (docs/architecture.md, "Boundaries"), enforced by
// @nx/enforce-module-boundaries on the Nx project tags plus file-pattern rules for what tags cannot see.
import tseslint from 'typescript-eslint';
import nx from '@nx/eslint-plugin';
import { createProjectGraphAsync } from '@nx/devkit';

// The boundaries rule reads Nx's cached project graph and silently skips itself when there is none
// (a clean clone). Build the graph here, so lint never passes without checking the boundaries.
process.env.NX_DAEMON ??= 'false';
process.env.NX_NO_CLOUD ??= 'true';
await createProjectGraphAsync({ exitOnError: false });

const TESTS = ['**/*.spec.ts', '**/*.int-spec.ts', '**/*.e2e-spec.ts'];
/** Where the test-only libraries (the emulator, the test kit) may be used besides tests. */
const TEST_TOOLING = [...TESTS, 'bench/**/*.ts', 'test/**/*.ts', 'tools/**/*.ts', 'libs/kube-emulator/**/*.ts', 'libs/testing/**/*.ts'];
const TEST_LIBS_MESSAGE = 'is a test-only library (type:lib-test): import it only from tests (*.spec.ts, *.int-spec.ts, *.e2e-spec.ts), bench/ or tools/.';

/** Tags: type:service (services/*), type:lib (libs/*), type:lib-test (libs/kube-emulator, libs/testing). */
const boundaries = (testFiles) => [
  'error',
  {
    enforceBuildableLibDependency: false,
    allow: [],
    depConstraints: [
      // Services use libs, never another service (no constraint lets one depend on type:service).
      { sourceTag: 'type:service', onlyDependOnLibsWithTags: testFiles ? ['type:lib', 'type:lib-test'] : ['type:lib'] },
      { sourceTag: 'type:lib', onlyDependOnLibsWithTags: testFiles ? ['type:lib', 'type:lib-test'] : ['type:lib'] },
      { sourceTag: 'type:lib-test', onlyDependOnLibsWithTags: ['type:lib', 'type:lib-test'] },
    ],
  },
];

/**
 * No reaching into a lib's files: import it by its name (@flotilla/x), its index.ts being its public API.
 * (Inside projects the boundaries rule also refuses relative imports that cross a project's root;
 * this catches them in test/, bench/ and tools/ too, which belong to no project. Those may start a
 * service in-process from services/<name>/src/main.)
 */
const DEEP_IMPORTS = {
  group: ['**/libs/*/src', '**/libs/*/src/**', '@flotilla/*/*', '@flotilla/*/*/**'],
  message: "Import a lib by its name (e.g. '@flotilla/kube'), never a file inside another project's src/; export what you need from its index.ts.",
};

export default tseslint.config(
  {
    ignores: ['dist/**', 'node_modules/**', '.cache/**', '.flotilla/**', '.nx/**', 'coverage/**', 'libs/contracts/src/generated/**', 'libs/kube-emulator/test/golden/**'],
  },
  ...tseslint.configs.recommended,
  { plugins: { '@nx': nx } },
  {
    files: ['**/*.ts'],
    rules: {
      // House rule: no `export *` barrels; export names explicitly.
      'no-restricted-syntax': ['error', { selector: 'ExportAllDeclaration', message: 'Export names explicitly; `export *` barrels hide what a module offers.' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/no-explicit-any': 'warn',
      '@nx/enforce-module-boundaries': boundaries(false),
      'no-restricted-imports': [
        'error',
        {
          paths: [
            { name: '@flotilla/kube-emulator', message: `@flotilla/kube-emulator ${TEST_LIBS_MESSAGE}` },
            { name: '@flotilla/testing', message: `@flotilla/testing ${TEST_LIBS_MESSAGE}` },
          ],
          patterns: [DEEP_IMPORTS],
        },
      ],
    },
  },
  {
    files: TEST_TOOLING,
    rules: {
      '@nx/enforce-module-boundaries': boundaries(true),
      'no-restricted-imports': ['error', { patterns: [DEEP_IMPORTS] }],
    },
  },
  {
    files: [...TESTS, 'bench/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off', '@typescript-eslint/no-non-null-assertion': 'off' },
  },
  {
    files: ['**/*.mjs', '**/*.js', '**/*.cjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', require: 'readonly', module: 'writable', __dirname: 'readonly', Buffer: 'readonly', fetch: 'readonly', setTimeout: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
