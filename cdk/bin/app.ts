#!/usr/bin/env node
// `cdk deploy` entry point, checked by cdk-nag's AwsSolutions rules:
// - ModelGuard (or `modelGuard:stackName`): the guard, set from the `modelGuard:*` context keys
//   (cdk.json, or `-c modelGuard:<key>=<value>`). For an organization, in its central account.
// - ModelGuardMemberRoles and ModelGuardMemberRules: what each member account carries (README
//   "Deploy for an organization"), templates without assets or bootstrap for StackSets.
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { settingsFromContext } from '../lib/config';
import { ModelGuardMemberRolesStack, ModelGuardMemberRulesStack } from '../lib/members';
import { ModelGuardStack } from '../lib/model-guard-stack';

const app = new App();
new ModelGuardStack(app, app.node.tryGetContext('modelGuard:stackName') ?? 'ModelGuard', {
  ...settingsFromContext((key) => app.node.tryGetContext(key)),
  description: 'Model Guard: who may deploy which SageMaker model',
});
new ModelGuardMemberRolesStack(app, 'ModelGuardMemberRoles', {
  analyticsReporting: false,
  description: 'Model Guard member account: the roles the central guard acts through (once per account)',
});
new ModelGuardMemberRulesStack(app, 'ModelGuardMemberRules', {
  analyticsReporting: false,
  description: 'Model Guard member region: SageMaker calls and a heartbeat to the central guard (every region)',
});
// A finding fails the synth (and so the deploy).
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
