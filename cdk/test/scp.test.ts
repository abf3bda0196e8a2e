// The service control policy shipped beside the stack (cdk/scp/): IAM documents no reserved path
// for customer roles but /aws-service-role/, so without it anyone who may create roles can create
// one under /aws-reserved/sso.amazonaws.com/ or named AWSReservedSSO_…. IAM Identity Center
// creates its roles through its service-linked role, which SCPs do not restrict.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { readFileSync } from 'fs';
import * as path from 'path';

const SCP = path.join(__dirname, '..', 'scp', 'deny-identity-center-look-alikes.json');

// IAM's wildcards, as IAM matches a Resource: `*` any run, `?` one character, case-sensitive.
function matches(pattern: string, arn: string): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
  return re.test(arn);
}

function denied(arn: string): boolean {
  const policy = JSON.parse(readFileSync(SCP, 'utf8'));
  return policy.Statement.some((s: any) => s.Effect === 'Deny' && s.Action.includes('iam:CreateRole')
    && s.Resource.some((r: string) => matches(r, arn)));
}

test('the SCP denies creating roles under /aws-reserved/ or with Identity Center names, and nothing else', () => {
  const policy = JSON.parse(readFileSync(SCP, 'utf8'));
  assert.equal(policy.Version, '2012-10-17');
  for (const s of policy.Statement) {
    assert.equal(s.Effect, 'Deny');
    assert.deepEqual(s.Action, ['iam:CreateRole']);
  }
  for (const look of [
    'arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_Admin_0a1b',
    'arn:aws:iam::111122223333:role/aws-reserved/anything',
    'arn:aws:iam::111122223333:role/AWSReservedSSO_MLPlatformAdmin_impostor',
    'arn:aws:iam::111122223333:role/team/AWSReservedSSO_MLPlatformAdmin_impostor',
    'arn:aws-us-gov:iam::111122223333:role/AWSReservedSSO_X',
  ]) {
    assert.ok(denied(look), look);
  }
  for (const ordinary of [
    'arn:aws:iam::111122223333:role/MLDeployer',
    'arn:aws:iam::111122223333:role/service-role/SageMakerExecution-Prod',
    'arn:aws:iam::111122223333:role/teams/ml/PipelineRunner',
  ]) {
    assert.ok(!denied(ordinary), ordinary);
  }
});

// The SCP that backs the guard up (README "Tampering"): only the deployers change the guard's
// resources; only the guard invokes its inner functions and starts its machines. Checked against
// the names the stack gives its resources, so a renamed resource cannot slip out of it.
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { GUARD_TAG, ModelGuardStack } from '../lib/model-guard-stack';

// Two SCPs, each under Organizations' 5,120 characters: who may change the guard, and who may
// call its functions and machines.
const PROTECT = path.join(__dirname, '..', 'scp', 'protect-model-guard.json');
const CALLERS = path.join(__dirname, '..', 'scp', 'model-guard-callers.json');

function guardTemplate(): any {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  return Template.fromStack(new ModelGuardStack(app, 'ModelGuard', { notificationEmails: ['ops@example.com'] })).toJSON();
}

const protect = () => ({
  Statement: [PROTECT, CALLERS].flatMap((file) => JSON.parse(readFileSync(file, 'utf8')).Statement),
});
const statement = (sid: string) => protect().Statement.find((s: any) => s.Sid === sid);
const list = (v: any) => (Array.isArray(v) ? v : [v]);
const denies = (s: any, arn: string) => list(s.Resource).some((r: string) => matches(r, arn));

test('the protecting SCP covers every named resource of the stack, and no look-alike of another', () => {
  const t = guardTemplate();
  const named = (type: string, property: string) => Object.values<any>(t.Resources)
    .filter((r) => r.Type === type && typeof r.Properties?.[property] === 'string').map((r) => r.Properties[property]);
  const arns = [
    ...named('AWS::Lambda::Function', 'FunctionName').map((n) => `arn:aws:lambda:us-east-1:111122223333:function:${n}`),
    ...named('AWS::StepFunctions::StateMachine', 'StateMachineName').map((n) => `arn:aws:states:us-east-1:111122223333:stateMachine:${n}`),
    ...named('AWS::Events::Rule', 'Name').map((n) => `arn:aws:events:us-east-1:111122223333:rule/${n}`),
    ...named('AWS::CloudWatch::Alarm', 'AlarmName').map((n) => `arn:aws:cloudwatch:us-east-1:111122223333:alarm:${n}`),
    ...named('AWS::CloudTrail::Trail', 'TrailName').map((n) => `arn:aws:cloudtrail:us-east-1:111122223333:trail/${n}`),
  ];
  assert.ok(arns.length >= 40, `${arns.length}`);
  const changes = statement('OnlyDeployersChangeTheGuardsFunctionsRulesAlarmsMachinesAndTrail');
  for (const arn of arns) assert.ok(denies(changes, arn), arn);
  // The central bus of an organization: who may put events on it is its policy.
  assert.ok(denies(changes, 'arn:aws:events:us-east-1:111122223333:event-bus/ModelGuard-Bus'));
  for (const action of ['events:PutPermission', 'events:RemovePermission', 'events:DeleteEventBus']) {
    assert.ok(list(changes.Action).includes(action), action);
  }
  for (const other of ['arn:aws:lambda:us-east-1:111122223333:function:ModelGuardStaging-evaluate',
    'arn:aws:events:us-east-1:111122223333:rule/nightly-report',
    'arn:aws:cloudtrail:us-east-1:111122223333:trail/organization-trail']) {
    assert.ok(!denies(changes, other), other);
  }
  // What carries no name to match carries the stack's tag, and the second statement keys on it.
  const tagged = statement('OnlyDeployersChangeTheGuardsTablesKeysQueueLogsRolesAndStreamMapping');
  assert.deepEqual(Object.keys(tagged.Condition.StringLike), [`aws:ResourceTag/${GUARD_TAG}`]);
  for (const type of ['AWS::DynamoDB::GlobalTable', 'AWS::KMS::Key', 'AWS::SQS::Queue', 'AWS::Logs::LogGroup',
    'AWS::IAM::Role', 'AWS::Lambda::EventSourceMapping', 'AWS::SNS::Topic']) {
    const resources = Object.values<any>(t.Resources).filter((r) => r.Type === type);
    assert.ok(resources.length > 0, type);
    for (const r of resources) {
      const tags = r.Properties.Tags ?? r.Properties.Replicas?.[0]?.Tags ?? [];
      assert.ok(tags.some((tag: any) => tag.Key === GUARD_TAG && tag.Value === 'ModelGuard'), `${type} untagged`);
    }
  }
  // Every statement denies, and spares the deployers (or the guard's own roles).
  for (const s of protect().Statement) {
    assert.equal(s.Effect, 'Deny', s.Sid);
    assert.ok(s.Condition.ArnNotLike['aws:PrincipalArn'].length > 0, s.Sid);
  }
});

test('the protecting SCP lets only the guard invoke its inner functions and start its machines', () => {
  const t = guardTemplate();
  const functions = Object.values<any>(t.Resources)
    .filter((r) => r.Type === 'AWS::Lambda::Function' && r.Properties.Runtime === 'provided.al2023')
    .map((r) => r.Properties.FunctionName);
  // Every function but the approval function, which approvers call through its URL, and the scan
  // function, which operators invoke (`guardctl scan --enforce`; it judges by itself).
  const inner = statement('NoOneButTheGuardInvokesItsInnerFunctions');
  assert.deepEqual([...new Set(list(inner.Resource).map((r: string) => r.split(':function:')[1].replace(/:\*$/, '')))].sort(),
    functions.filter((f) => f !== 'ModelGuard-approve' && f !== 'ModelGuard-scan').sort());
  // The roles spared are the stack's roles that start each machine (by CloudFormation's names:
  // <stack>-<logical ID>-<suffix>).
  const starters = (machine: string) => Object.entries<any>(t.Resources)
    .filter(([, r]) => r.Type === 'AWS::IAM::Policy' && r.Properties.PolicyDocument.Statement.some((s: any) =>
      list(s.Action).includes('states:StartExecution') && JSON.stringify(s.Resource).includes(machine)))
    .flatMap(([, r]) => r.Properties.Roles.map((role: any) => role.Ref.replace(/[0-9A-F]{8}$/, ''))).sort();
  const spared = (sid: string) => statement(sid).Condition.ArnNotLike['aws:PrincipalArn']
    .map((p: string) => p.replace('arn:*:iam::*:role/ModelGuard-', '').replace(/\*$/, '')).sort();
  // The scan: its operators and the deployers. The seed (CDK's custom resource function, which
  // writes to the policy table whatever its event says): the deployers alone.
  const every = Object.values<any>(t.Resources).filter((r) => r.Type === 'AWS::Lambda::Function')
    .map((r) => r.Properties.FunctionName);
  const invokeDenied = (name: string) => protect().Statement.filter((s: any) => list(s.Action).includes('lambda:InvokeFunction')
    && denies(s, `arn:aws:lambda:us-east-1:111122223333:function:${name}`)).map((s: any) => s.Sid);
  for (const name of every) {
    const expected = name === 'ModelGuard-approve' ? [] // its URL's callers: the function's own check
      : name === 'ModelGuard-scan' ? ['OnlyScanOperatorsInvokeTheScan']
        : name === 'ModelGuard-seed' ? ['OnlyTheDeployersInvokeTheSeed']
          : ['NoOneButTheGuardInvokesItsInnerFunctions'];
    assert.deepEqual(invokeDenied(name), expected, name);
    // An invoke that names a qualifier is judged against the qualified ARN.
    assert.deepEqual(invokeDenied(`${name}:$LATEST`), expected, `${name}:$LATEST`);
  }
  assert.ok(every.includes('ModelGuard-seed') && every.includes('ModelGuard-scan'));
  const deployers = statement('OnlyDeployersChangeTheGuardsFunctionsRulesAlarmsMachinesAndTrail').Condition.ArnNotLike['aws:PrincipalArn'];
  assert.deepEqual(statement('OnlyTheDeployersInvokeTheSeed').Condition.ArnNotLike['aws:PrincipalArn'], deployers);
  // The scan: its operators, the deployers, and the drift scan machine, whose role invokes it.
  assert.deepEqual(statement('OnlyScanOperatorsInvokeTheScan').Condition.ArnNotLike['aws:PrincipalArn'],
    ['arn:*:iam::*:role/ModelGuardDeployer', 'arn:*:iam::*:role/ModelGuardScanOperator',
      'arn:*:iam::*:role/ModelGuard-ScanMachineRole*']);
  const scanInvokers = Object.entries<any>(t.Resources)
    .filter(([, r]) => r.Type === 'AWS::IAM::Policy' && r.Properties.PolicyDocument.Statement.some((s: any) =>
      list(s.Action).includes('lambda:InvokeFunction') && JSON.stringify(s.Resource).includes('"Scan')))
    .flatMap(([, r]) => r.Properties.Roles.map((role: any) => role.Ref.replace(/[0-9A-F]{8}$/, '')));
  assert.deepEqual(scanInvokers, ['ScanMachineRole']);
  assert.deepEqual(spared('NoOneButEventBridgeAndTheSweepStartsTheTriage'), starters('Triage'));
  assert.deepEqual(spared('NoOneButTheGuardStartsOrStopsEnforcements'), starters('Enforcement'));
  // The sweep: its schedule starts it, and it starts and stops its Map's children; anyone else
  // stopping a run (or a child) would leave missed calls unfound.
  assert.deepEqual(spared('NoOneButTheScheduleRunsOrStopsTheSweep'),
    [...new Set([...starters('SweepMachine'), ...starters('stateMachine:ModelGuard-Sweep')])].sort());
  const sweepRun = 'arn:aws:states:us-east-1:111122223333:execution:ModelGuard-Sweep:run-1';
  const child = 'arn:aws:states:us-east-1:111122223333:execution:ModelGuard-Sweep/LookInEachPlace:abc';
  for (const arn of [sweepRun, child, 'arn:aws:states:us-east-1:111122223333:stateMachine:ModelGuard-Sweep']) {
    assert.ok(denies(statement('NoOneButTheScheduleRunsOrStopsTheSweep'), arn), arn);
  }
  // The drift scan likewise: a run stopped from outside would leave places unscanned.
  assert.deepEqual(spared('NoOneButTheScheduleRunsOrStopsTheDriftScan'),
    [...new Set([...starters('ScanMachine'), ...starters('stateMachine:ModelGuard-Scan')])].sort());
  for (const arn of ['arn:aws:states:us-east-1:111122223333:execution:ModelGuard-Scan:run-1',
    'arn:aws:states:us-east-1:111122223333:execution:ModelGuard-Scan/ScanEachPlace:abc',
    'arn:aws:states:us-east-1:111122223333:stateMachine:ModelGuard-Scan']) {
    assert.ok(denies(statement('NoOneButTheScheduleRunsOrStopsTheDriftScan'), arn), arn);
  }
});

test('the README carries each SCP as it is shipped', () => {
  const readme = readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');
  for (const file of [PROTECT, CALLERS]) {
    assert.ok(readme.includes(readFileSync(file, 'utf8').trimEnd()), `README: ${path.basename(file)} differs`);
  }
});

const MEMBERS = path.join(__dirname, '..', 'scp', 'protect-model-guard-members.json');

test("the members' SCP keeps their administrators off the guard's member roles and rules, and only those", () => {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const members = require('../lib/members');
  const policy = JSON.parse(readFileSync(MEMBERS, 'utf8'));
  const deniedOn = (arn: string, action: string) => policy.Statement.some((s: any) => s.Effect === 'Deny'
    && s.Action.includes(action) && s.Resource.some((r: string) => matches(r, arn)));
  const account = '444455556666';
  for (const role of [members.MEMBER_ROLE, members.MEMBER_ENFORCE_ROLE, members.FORWARDER_ROLE]) {
    for (const action of ['iam:DeleteRole', 'iam:UpdateAssumeRolePolicy', 'iam:PutRolePolicy', 'iam:CreateRole']) {
      assert.ok(deniedOn(`arn:aws:iam::${account}:role/${role}`, action), `${action} ${role}`);
    }
  }
  for (const rule of ['ModelGuardForwardSageMakerCalls', members.HEARTBEAT_RULE]) {
    for (const action of ['events:DisableRule', 'events:DeleteRule', 'events:RemoveTargets', 'events:PutTargets']) {
      assert.ok(deniedOn(`arn:aws:events:eu-west-1:${account}:rule/${rule}`, action), `${action} ${rule}`);
    }
  }
  // The names are the member templates' own.
  const rules = readFileSync(path.join(__dirname, '..', 'lib', 'members.ts'), 'utf8');
  assert.ok(rules.includes("name: 'ModelGuardForwardSageMakerCalls'"));
  // On any path: a role made under the name on another path cannot squat it.
  assert.ok(deniedOn(`arn:aws:iam::${account}:role/x/${members.MEMBER_ENFORCE_ROLE}`, 'iam:CreateRole'));
  // Nothing else of the member's: its own roles and rules stay its own.
  assert.ok(!deniedOn(`arn:aws:iam::${account}:role/ModelGuardMemberX`, 'iam:DeleteRole'));
  assert.ok(!deniedOn(`arn:aws:events:eu-west-1:${account}:rule/TeamRule`, 'events:DisableRule'));
  // Only StackSets' execution role (service-managed) is spared, and no one may make or bend a role
  // of its name (AWS makes it through a service-linked role, which SCPs do not bind): a member's
  // administrators cannot make themselves StackSets, nor a "ModelGuardDeployer" of their own.
  const spares = policy.Statement.filter((s: any) => s.Condition).map((s: any) => s.Condition);
  assert.equal(spares.length, 2);
  for (const c of spares) {
    assert.deepEqual(c, { ArnNotLike: { 'aws:PrincipalArn': ['arn:*:iam::*:role/stacksets-exec-*'] } });
  }
  for (const action of ['iam:CreateRole', 'iam:UpdateAssumeRolePolicy', 'iam:AttachRolePolicy', 'iam:PutRolePolicy']) {
    for (const name of ['stacksets-exec-0123abcd', 'team/stacksets-exec-x']) {
      const arn = `arn:aws:iam::${account}:role/${name}`;
      assert.ok(policy.Statement.some((s: any) => !s.Condition && s.Action.includes(action)
        && s.Resource.some((r: string) => matches(r, arn))), `${action} ${name}`);
    }
  }
  const readme = readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');
  assert.ok(readme.includes(readFileSync(MEMBERS, 'utf8').trimEnd()), 'README: protect-model-guard-members.json differs');
});

test('the regions SCP denies SageMaker wherever the guard does not look, and only SageMaker', () => {
  const policy = JSON.parse(readFileSync(path.join(__dirname, '..', 'scp', 'sagemaker-in-guarded-regions.json'), 'utf8'));
  assert.equal(policy.Statement.length, 1);
  const [s] = policy.Statement;
  assert.equal(s.Effect, 'Deny');
  assert.deepEqual(s.Action, ['sagemaker:*']);
  // The README's example deployment: the bus in us-east-1, members forwarding from eu-west-1 too.
  const readme = readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');
  const example = JSON.parse(readme.match(/memberRegions='(\[[^\]]*\])'/)![1]);
  assert.deepEqual([...s.Condition.StringNotEquals['aws:RequestedRegion']].sort(), [...example].sort());
  assert.ok(readme.includes(readFileSync(path.join(__dirname, '..', 'scp', 'sagemaker-in-guarded-regions.json'), 'utf8').trimEnd()));
});
