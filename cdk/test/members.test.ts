// One guard for an organization: the central stack's bus, rules, alarms and what its functions may
// assume; the member templates (no assets, no bootstrap), their roles' trust and least privilege,
// and their rules. Read as a reviewer would: every statement as one line.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ModelGuardMemberRolesStack, ModelGuardMemberRulesStack } from '../lib/members';
import { ModelGuardProps, ModelGuardStack } from '../lib/model-guard-stack';
import { condition, list, ofType, render, resources, statementsByRole } from './template-text';

const ROOT = path.join(__dirname, '..', '..');
const PATTERN = JSON.parse(readFileSync(path.join(ROOT, 'statemachine', 'event-pattern.json'), 'utf8'));
const MEMBER = '444455556666';

function app(): App {
  return new App({ context: { 'aws:cdk:bundling-stacks': [] }, outdir: mkdtempSync(path.join(tmpdir(), 'cdk-')) });
}

function central(props: ModelGuardProps): Template {
  return Template.fromStack(new ModelGuardStack(app(), 'Test', props));
}

const env = (t: Template, logicalPrefix: string) => {
  const [, f] = ofType(t, 'AWS::Lambda::Function').find(([id]) => id.startsWith(logicalPrefix))!;
  return f.Properties.Environment.Variables;
};

// The bus's resource policy: its statements (one resource each).
const busPolicy = (t: Template) => ofType(t, 'AWS::Events::EventBusPolicy').map(([, p]) => {
  assert.equal(render(p.Properties.EventBusName), 'Bus');
  return p.Properties.Statement;
});

const assumes = (t: Template) => Object.entries(statementsByRole(t))
  .flatMap(([role, statements]) => statements.filter((s) => s.includes('sts:AssumeRole')).map((s) => `${role}: ${s}`));

test('a single-account guard has no bus, assumes no role and answers for its own account only', () => {
  const t = central({});
  assert.deepEqual(ofType(t, 'AWS::Events::EventBus'), []);
  assert.deepEqual(assumes(t), []);
  assert.equal(env(t, 'ParseEvent').MEMBER_ACCOUNTS, '');
  assert.equal(render(env(t, 'ParseEvent').GUARD_ACCOUNT), '${AccountId}');
});

test('listed members: the bus admits those accounts, the functions assume only their member roles', () => {
  const t = central({ memberAccounts: [MEMBER], memberRegions: ['us-east-1', 'eu-west-1', 'eu-central-1'] });
  const [[, bus]] = ofType(t, 'AWS::Events::EventBus');
  assert.equal(bus.Properties.Name, 'Test-Bus');
  const policy = busPolicy(t).map((s: any) =>
    `${s.Effect} ${list(s.Action).join(',')} by ${list(s.Principal.AWS).map(render).join(',')} on ${render(s.Resource)}${condition(s)}`);
  assert.deepEqual(policy, [`Allow events:PutEvents by arn:\${Partition}:iam::${MEMBER}:root on Bus.Arn`]);
  assert.equal(env(t, 'ParseEvent').MEMBER_ACCOUNTS, MEMBER);
  assert.deepEqual(assumes(t), [
    `EvaluateRole: Allow sts:AssumeRole on arn:\${Partition}:iam::\${AccountId}:role/ModelGuardMember `
      + `arn:\${Partition}:iam::${MEMBER}:role/ModelGuardMember`,
    `EnforceRole: Allow sts:AssumeRole on arn:\${Partition}:iam::\${AccountId}:role/ModelGuardMemberEnforce `
      + `arn:\${Partition}:iam::${MEMBER}:role/ModelGuardMemberEnforce`,
    `SweepRole: Allow sts:AssumeRole on arn:\${Partition}:iam::\${AccountId}:role/ModelGuardMember `
      + `arn:\${Partition}:iam::${MEMBER}:role/ModelGuardMember`,
    `ScanRole: Allow sts:AssumeRole on arn:\${Partition}:iam::\${AccountId}:role/ModelGuardMember `
      + `arn:\${Partition}:iam::${MEMBER}:role/ModelGuardMember`,
  ]);
  assert.equal(env(t, 'Scan').MEMBER_ACCOUNTS, MEMBER);
  assert.equal(env(t, 'Sweep').MEMBER_ACCOUNTS, MEMBER);
  // The roles members trust have the names the member templates name.
  const names = ofType(t, 'AWS::IAM::Role').map(([, r]) => r.Properties.RoleName).filter(Boolean).sort();
  assert.deepEqual(names, ['Test-EnforceRole', 'Test-EvaluateRole', 'Test-ScanRole', 'Test-SweepRole']);
  // The members' calls reach the triage by the same pattern as the account's own.
  const onBus = ofType(t, 'AWS::Events::Rule').filter(([, r]) => r.Properties.EventBusName !== undefined);
  const byName = Object.fromEntries(onBus.map(([, r]) => [r.Properties.Name, r.Properties]));
  assert.deepEqual(byName['Test-MemberSageMakerCalls'].EventPattern, PATTERN);
  assert.equal(render(byName['Test-MemberSageMakerCalls'].Targets[0].Arn), 'Triage');
  assert.equal(byName['Test-MemberSageMakerCalls'].Targets[0].DeadLetterConfig !== undefined, true);
  // The presigned-URL calls are read-only events: only a rule in this state gets them.
  assert.equal(byName['Test-MemberSageMakerCalls'].State, 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS');
  const beats = byName['Test-MemberHeartbeats'].EventPattern;
  assert.deepEqual([beats.source, beats['detail-type'], beats.resources.map((r: any) => render(r.wildcard))], [
    ['aws.events'], ['Scheduled Event'], ['arn:${Partition}:events:*:*:rule/ModelGuardHeartbeat'],
  ]);
  // A member account that stops beating alarms: three regions beat three times in 15 minutes.
  const [[, alarm]] = ofType(t, 'AWS::CloudWatch::Alarm').filter(([id]) => id.startsWith('MemberSilent'));
  assert.equal(alarm.Properties.AlarmName, `Test-MemberSilent${MEMBER}`);
  assert.equal(alarm.Properties.Threshold, 9);
  assert.equal(alarm.Properties.ComparisonOperator, 'LessThanThreshold');
  assert.equal(alarm.Properties.TreatMissingData, 'breaching');
  assert.deepEqual(alarm.Properties.Dimensions, [{ Name: 'Account', Value: MEMBER }]);
  assert.equal(render(alarm.Properties.AlarmActions[0]), 'GuardAlerts');
  const [[, filter]] = ofType(t, 'AWS::Logs::MetricFilter');
  assert.deepEqual(filter.Properties.MetricTransformations[0].Dimensions, [{ Key: 'Account', Value: '$.account' }]);
});

test('an organization: the bus admits its accounts only, roles are assumed only in its accounts', () => {
  const t = central({ organizationId: 'o-abcdefghij' });
  const [statement] = busPolicy(t);
  assert.equal(statement.Principal.AWS, '*');
  assert.deepEqual(statement.Condition, { StringEquals: { 'aws:PrincipalOrgID': 'o-abcdefghij' } });
  assert.equal(env(t, 'ParseEvent').MEMBER_ACCOUNTS, 'organization');
  assert.deepEqual(assumes(t), [
    'EvaluateRole: Allow sts:AssumeRole on arn:${Partition}:iam::*:role/ModelGuardMember'
      + ' if StringEquals aws:ResourceOrgID o-abcdefghij',
    'EnforceRole: Allow sts:AssumeRole on arn:${Partition}:iam::*:role/ModelGuardMemberEnforce'
      + ' if StringEquals aws:ResourceOrgID o-abcdefghij',
    'SweepRole: Allow sts:AssumeRole on arn:${Partition}:iam::*:role/ModelGuardMember'
      + ' if StringEquals aws:ResourceOrgID o-abcdefghij',
    'ScanRole: Allow sts:AssumeRole on arn:${Partition}:iam::*:role/ModelGuardMember'
      + ' if StringEquals aws:ResourceOrgID o-abcdefghij',
  ]);
  // The sweep and the scan list the organization's accounts (ListAccounts has no resource-level
  // permissions).
  assert.equal(env(t, 'Sweep').MEMBER_ACCOUNTS, 'organization');
  assert.equal(env(t, 'Scan').MEMBER_ACCOUNTS, 'organization');
  const listing = ofType(t, 'AWS::IAM::Policy').flatMap(([, p]) => p.Properties.PolicyDocument.Statement)
    .filter((st: any) => list(st.Action).includes('organizations:ListAccounts'));
  assert.equal(listing.length, 2);
  assert.ok(listing.every((st: any) => st.Resource === '*'));
  const silent = ofType(t, 'AWS::CloudWatch::Alarm').filter(([id]) => id.startsWith('MembersSilent'));
  assert.equal(silent.length, 1);
  assert.equal(silent[0][1].Properties.TreatMissingData, 'breaching');
});

function member(kind: 'roles' | 'rules'): { template: Template; json: any } {
  const a = app();
  const stack: Stack = kind === 'roles'
    ? new ModelGuardMemberRolesStack(a, 'Roles', { analyticsReporting: false })
    : new ModelGuardMemberRulesStack(a, 'Rules', { analyticsReporting: false });
  const template = Template.fromStack(stack);
  return { template, json: template.toJSON() };
}

test('member templates carry no asset, no Lambda code and need no bootstrap', () => {
  for (const kind of ['roles', 'rules'] as const) {
    const { json } = member(kind);
    const types = new Set(Object.values<any>(json.Resources).map((r) => r.Type));
    assert.ok(![...types].some((t) => t.startsWith('AWS::Lambda::') || t.startsWith('Custom::')), [...types].join());
    assert.equal(json.Parameters.BootstrapVersion, undefined, 'no bootstrap version check');
    assert.deepEqual(Object.keys(json.Parameters).sort(), ['CentralAccount', 'CentralRegion', 'CentralStackName']);
    assert.equal(json.Rules, undefined, 'no CheckBootstrapVersion rule');
    assert.ok(!JSON.stringify(json).includes('cdk-hnb659fds'), 'nothing of the bootstrap');
  }
});

test("member roles: only the central functions' roles may assume them, each with what its function needs", () => {
  const { template, json } = member('roles');
  const roles = Object.fromEntries(ofType(template, 'AWS::IAM::Role').map(([, r]) => [r.Properties.RoleName, r.Properties]));
  const trust = (name: string) => roles[name].AssumeRolePolicyDocument.Statement.map((s: any) =>
    `${list(s.Action).join(',')} by ${render(s.Principal.AWS ?? s.Principal.Service)}${condition(s)}`);
  const centralRole = (fn: string) => `arn:\${Partition}:iam::CentralAccount:role/CentralStackName-${fn}Role`;
  assert.deepEqual(trust('ModelGuardMember'), [
    `sts:AssumeRole by arn:\${Partition}:iam::CentralAccount:root if ArnEquals aws:PrincipalArn `
      + ['Evaluate', 'Sweep', 'Scan'].map(centralRole).join(','),
  ]);
  assert.deepEqual(trust('ModelGuardMemberEnforce'), [
    `sts:AssumeRole by arn:\${Partition}:iam::CentralAccount:root if ArnEquals aws:PrincipalArn ${centralRole('Enforce')}`,
  ]);
  assert.deepEqual(trust('ModelGuardForwarder'), ['sts:AssumeRole by events.amazonaws.com if StringEquals aws:SourceAccount ${AccountId}']);
  const byRole = statementsByRole(template);
  const roleOf = (name: string) => Object.entries<any>(json.Resources)
    .find(([, r]) => r.Type === 'AWS::IAM::Role' && r.Properties.RoleName === name)![0].replace(/[0-9A-F]{8}$/, '');
  const reads = byRole[roleOf('ModelGuardMember')];
  const acts = byRole[roleOf('ModelGuardMemberEnforce')];
  // Least privilege: every resource is this account's (any region), or "*" where AWS requires it.
  for (const statement of [...reads, ...acts]) {
    const on = statement.split(' on ')[1].split(' if ')[0].split(' ');
    for (const resource of on) {
      assert.ok(resource === '*' || resource.includes(':${AccountId}:') || resource.startsWith('arn:${Partition}:iam::${AccountId}:'),
        `${statement}: ${resource}`);
    }
  }
  const starred = [...reads, ...acts].filter((s) => / on \*$/.test(s)).map((s) => s.split(' on ')[0]);
  assert.deepEqual(starred, [
    'Allow sagemaker:ListNotebookInstances',
    'Allow sagemaker:ListAutoMLJobs',
    'Allow cloudtrail:LookupEvents',
    'Allow sagemaker:ListInferenceComponents,application-autoscaling:DescribeScalableTargets',
  ]);
  // The reader only reads; only the enforcer stops, deletes or updates.
  const changes = /:(Delete|Stop|Update|Deregister|Create|Put)/;
  assert.deepEqual(reads.filter((s) => changes.test(s.split(' on ')[0])), []);
  assert.ok(acts.some((s) => s.includes('sagemaker:DeleteEndpoint')));
  assert.ok(acts.some((s) => s.includes('sagemaker:UpdateEndpoint')));
  assert.deepEqual(byRole[roleOf('ModelGuardForwarder')], [
    'Allow events:PutEvents on arn:${Partition}:events:CentralRegion:CentralAccount:event-bus/CentralStackName-Bus',
  ]);
});

test('member rules: the covered calls and a heartbeat, to the central bus, sent as the forwarder', () => {
  const { json } = member('rules');
  const forward = json.Resources.ForwardSageMakerCalls.Properties;
  const heartbeat = json.Resources.Heartbeat.Properties;
  assert.deepEqual(forward.EventPattern, PATTERN);
  assert.equal(forward.State, 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS');
  assert.equal(heartbeat.Name, 'ModelGuardHeartbeat');
  assert.equal(heartbeat.ScheduleExpression, 'rate(5 minutes)');
  for (const rule of [forward, heartbeat]) {
    assert.deepEqual(rule.Targets.map((t: any) => `${render(t.Arn)} as ${render(t.RoleArn)}`), [
      'arn:${Partition}:events:CentralRegion:CentralAccount:event-bus/CentralStackName-Bus'
        + ' as arn:${Partition}:iam::${AccountId}:role/ModelGuardForwarder',
    ]);
  }
});

test("cdk-nag's AwsSolutions rules pass the member templates", () => {
  for (const kind of ['roles', 'rules'] as const) {
    const a = app();
    if (kind === 'roles') new ModelGuardMemberRolesStack(a, 'Roles');
    else new ModelGuardMemberRulesStack(a, 'Rules');
    Validations.of(a).addPlugins(new AwsSolutionsChecks(a));
    assert.doesNotThrow(() => a.synth(), kind);
  }
  assert.ok(resources);
});

test("cdk-nag's AwsSolutions rules pass the central stack of an organization", () => {
  for (const props of [{ memberAccounts: [MEMBER] }, { organizationId: 'o-abcdefghij' }]) {
    const a = app();
    new ModelGuardStack(a, 'Nag', { notificationEmails: ['ops@example.com'], ...props });
    Validations.of(a).addPlugins(new AwsSolutionsChecks(a));
    try {
      a.synth();
    } catch (e) {
      const report = readFileSync(path.join(a.outdir, 'validation-report.json'), 'utf8');
      assert.fail(`cdk-nag findings:\n${report.slice(0, 6000)}\n${e}`);
    }
  }
});
