#!/usr/bin/env node
import { App } from 'aws-cdk-lib';
import { ModelGuardStack } from '../lib/model-guard-stack';

const app = new App();
new ModelGuardStack(app, 'ModelGuardStack', {
  defaultGraceSeconds: Number(app.node.tryGetContext('modelGuard:defaultGraceSeconds') ?? 900),
  defaultApprovers: app.node.tryGetContext('modelGuard:defaultApprovers') ?? [],
});
