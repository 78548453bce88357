/** The consumer's app with one bucket cdk-nag refuses (no access logs, no TLS-only policy): its synth must fail. */
const s3 = require("aws-cdk-lib/aws-s3");
const { consumerApp } = require("./app");

const { app, stack } = consumerApp();
new s3.Bucket(stack, "Noncompliant");
app.synth();
