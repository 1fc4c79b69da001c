// CommonJS like the rest of the project; the eslint config has no node globals for .js files.
/* global module */
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  transform: {
    '^.+\\.[tj]s$': [
      '@swc/jest',
      { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } },
    ],
  },
  // These packages ship ES modules only; Node loads them natively, Jest needs them transformed.
  transformIgnorePatterns: ['/node_modules/(?!(jose|content-disposition|cookie)/)'],
  testTimeout: 120000,
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
};
