// ESLint for the whole repository (flat config), run by `npm run lint`. Type-aware rules use the TypeScript project
// service, which reuses tsconfig.json (server, libs, bench) and apps/admin-ui/tsconfig.json (the web UI), so no
// second program is built. Formatting is Prettier's job alone: eslint-config-prettier goes last and turns off every
// stylistic rule that would fight it.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import reactHooks from 'eslint-plugin-react-hooks';
import tseslint from 'typescript-eslint';

/** Code that only tests and measures: specs, test harnesses, the benchmarks. */
const TEST_CODE = [
  '**/*.spec.ts',
  '**/*.int-spec.ts',
  '**/*.e2e-spec.ts',
  '**/*.e2e-failing.ts',
  '**/testing/**',
  'libs/testing/**',
  'apps/gateway/src/conformance/**',
  'apps/command-api/src/agents/strict-agent.ts',
  'apps/command-api/contract/**',
  'bench/**',
];

export default defineConfig(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'coverage/**',
      'artifacts/**',
      '.local/**',
      'data/**',
      'bench/results/**',
      '.schemathesis/**',
    ],
  },
  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['*.js', '*.mjs', 'scripts/*.js'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // A leading underscore marks a deliberately unused binding; `...rest` siblings are how an object drops a key.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      // Off: ports and Nest lifecycle hooks are `async` to honour a Promise-returning contract without awaiting
      // anything; the promise bugs that matter are caught by no-floating-promises and no-misused-promises.
      '@typescript-eslint/require-await': 'off',
      // Numbers and booleans print as expected in messages; objects and unknowns still need an explicit String().
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      // A caught error (`unknown`) is passed on as it came; constructing new values must still use Error.
      '@typescript-eslint/only-throw-error': ['error', { allowThrowingUnknown: true }],
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true }],
      eqeqeq: ['error', 'always', { null: 'ignore' }],
    },
  },
  {
    files: TEST_CODE,
    rules: {
      // Off in tests: supertest bodies, JSON.parse and raw pg rows are `any` by design there, and each spec's
      // expectations check their shape; narrowing every one would add casts, not checks.
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    // Off in the data layer too: the driver hands rows over as `any`; each query declares its row type where the
    // rows are read, the one place that knows the SELECT list.
    files: ['libs/persistence/src/**'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    files: ['apps/admin-ui/web/**/*.{ts,tsx}'],
    ...reactHooks.configs.flat['recommended-latest'],
  },
  {
    // Plain scripts, and the contract client whose types (./api.d.ts) exist only once the contract spec has
    // generated them (that spec type-checks it with tsc): linted without type information.
    files: ['**/*.js', '**/*.mjs', 'apps/command-api/contract/*.mts'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    files: ['**/*.js'],
    languageOptions: { sourceType: 'commonjs', globals: globals.node },
    // Off: these scripts are CommonJS run by plain `node` before anything is built; require() is their import.
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  { files: ['**/*.mjs'], languageOptions: { globals: globals.node } },
  prettier,
  {
    // After eslint-config-prettier, which turns max-len off.
    rules: {
      // Prettier wraps code at 120 but leaves comments and literals alone: code and comments stay within 120; a line
      // that holds a string, template (SQL), regex or URL may run past it rather than be cut mid-message.
      'max-len': [
        'error',
        {
          code: 120,
          ignoreStrings: true,
          ignoreTemplateLiterals: true,
          ignoreRegExpLiterals: true,
          ignoreUrls: true,
        },
      ],
    },
  },
);
