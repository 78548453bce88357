/** Snapshot serializer: replaces CDK asset hashes so code edits do not churn the stack snapshot. */
const ASSET_HASH = /[a-f0-9]{64}/g;
module.exports = {
  test: (value) => typeof value === "string" && /[a-f0-9]{64}/.test(value),
  serialize: (value) => `"${value.replace(ASSET_HASH, "[ASSET HASH]")}"`,
};
