#!/usr/bin/env node
// The `bin` entry: runs the TypeScript CLI through tsx's CommonJS require hook (tsx is a devDependency, so
// this works from a clone with `npm ci`; a published package would ship compiled JavaScript instead).
require("tsx/cjs");
require("./aai-webhooks.ts");
