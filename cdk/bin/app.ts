#!/usr/bin/env node
// `cdk deploy` entry point: one ModelGuardStack, set from the `modelGuard:*` context keys
// (cdk.json, or `-c modelGuard:<key>=<value>`), checked by cdk-nag's AwsSolutions rules.
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { settingsFromContext } from '../lib/config';
import { ModelGuardStack } from '../lib/model-guard-stack';

const app = new App();
new ModelGuardStack(app, app.node.tryGetContext('modelGuard:stackName') ?? 'ModelGuard', {
  ...settingsFromContext((key) => app.node.tryGetContext(key)),
  description: 'Model Guard: who may deploy which SageMaker model',
});
// A finding fails the synth (and so the deploy).
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
