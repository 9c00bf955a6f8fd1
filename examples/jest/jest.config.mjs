// Plain ESM test files, so no transpiler is needed. Jest runs ES modules when
// Node is started with --experimental-vm-modules:
//   NODE_OPTIONS=--experimental-vm-modules npx jest --config examples/jest/jest.config.mjs
export default {
  testEnvironment: 'node',
  testMatch: ['<rootDir>/*.test.mjs'],
  transform: {},
  globalSetup: '<rootDir>/global-setup.mjs',
  globalTeardown: '<rootDir>/global-teardown.mjs',
};
