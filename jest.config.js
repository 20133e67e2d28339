/** Jest: unit tests of lib/ and integration tests over real loopback sockets. */
const tsJest = ['ts-jest', { tsconfig: 'test/tsconfig.json' }];
module.exports = {
  projects: [
    {
      displayName: 'unit',
      testMatch: ['<rootDir>/test/unit/**/*.test.ts'],
      transform: { '^.+\\.ts$': tsJest },
      testEnvironment: 'node',
    },
    {
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
      transform: { '^.+\\.ts$': tsJest },
      testEnvironment: 'node',
    },
    {
      displayName: 'browser',
      testMatch: ['<rootDir>/test/browser/**/*.test.ts'],
      transform: { '^.+\\.ts$': tsJest },
      testEnvironment: 'node',
    },
  ],
  testTimeout: 30000,
  // No forceExit: every test closes what it opens, and `npx jest --detectOpenHandles`
  // names anything left behind.
};
