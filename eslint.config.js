// ESLint flat config. `npx eslint .` (or `npm run lint`).
// typescript-eslint's recommended rules without type information (fast: no TS program is built),
// plus the local `seva` plugin that enforces module boundaries (eslint/module-boundaries.js).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, globalIgnores } from 'eslint/config';
import tseslint from 'typescript-eslint';
import seva from './eslint/module-boundaries.js';

const root = path.dirname(fileURLToPath(import.meta.url));

export default defineConfig(
  globalIgnores(['**/node_modules/', '.seva/', 'coverage/', 'dist/', 'web/dist/']),

  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommended],
    plugins: { seva },
    rules: {
      // The db layer is typed Kysely<any>; `any` is a deliberate escape hatch here.
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          args: 'after-used',
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          caughtErrorsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
        },
      ],
      // Root = the folder of this file, so the rule works whatever directory eslint runs from.
      'seva/module-boundaries': ['error', { root }],
    },
  },

  // Kernel and module code log through the kernel logger; the CLI, tests, benches may print.
  {
    files: ['src/kernel/**/*.ts', 'src/modules/**/*.ts'],
    rules: {
      'no-console': 'error',
    },
  },
);
