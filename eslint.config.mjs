import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import regexp from 'eslint-plugin-regexp';
import dataAccess from './tools/lint/data-access.mjs';
import layers from './tools/lint/layers.mjs';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'data/', 'prisma/generated/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    plugins: { layers, 'data-access': dataAccess },
    rules: {
      'layers/downward-only': 'error',
      // The API reads and writes PostgreSQL through api/tenant-data only.
      'data-access/through-tenant-data': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Product code applies its regular expressions to vendor answers and user input: none may backtrack
    // super-linearly (a long run of one character must not stall the worker's main thread).
    files: ['{activities,api,catalog,dev,domain,main,platform,vendor-kit,worker,workflows}/**/*.ts'],
    plugins: { regexp },
    rules: {
      'regexp/no-super-linear-backtracking': ['error', { report: 'potential' }],
      'regexp/no-super-linear-move': ['error', { ignorePartial: false, ignoreSticky: false }],
      'regexp/no-misleading-capturing-group': 'error',
      'regexp/optimal-quantifier-concatenation': 'error',
      'regexp/no-dupe-disjunctions': ['error', { report: 'all' }],
    },
  },
  {
    // Tests read untyped JSON answers of the API; typing each one would add noise, not safety.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // Workflow code runs in Temporal's deterministic sandbox: only the workflow SDK (and its
    // @temporalio/common, for search attribute keys) and local modules.
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(?!@temporalio/(workflow|common)$|\\.)',
              message: 'workflows import only the Temporal workflow SDK and local modules',
            },
          ],
        },
      ],
    },
  },
);
