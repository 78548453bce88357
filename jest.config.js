/** Unit, infrastructure and integration tests; benchmarks live in bench/ and never run here. */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  testMatch: ["**/*.test.ts"],
  setupFiles: ["<rootDir>/test/setup-env.js"],
  transform: {
    "^.+\\.ts$": ["ts-jest", { tsconfig: "tsconfig.json" }],
  },
  snapshotSerializers: ["<rootDir>/test/infra/asset-hash-serializer.js"],
  testTimeout: 30000,
};
