#!/usr/bin/env node
// The command's `bin` (bin/package.json: npm ci links it as node_modules/.bin/aai-webhooks, which
// `npx aai-webhooks` runs): the TypeScript CLI through tsx's CommonJS require hook. tsx is a devDependency,
// so this works from a clone with `npm ci`; the command operates the standalone stack, not in the package.
require("tsx/cjs");
require("./aai-webhooks.ts");
