// The tamper rules: one per entry of statemachine/tamper-rules.json, each the file's pattern filled
// with exactly the guard's resources, delivered at once to the guard topic through the file's
// input transformer. (tests/testbed/test_tamper_rules.py plays each tampering act's CloudTrail
// record through the same patterns and transformer with moto's EventBridge matcher.)
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { mkdtempSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { ModelGuardProps, ModelGuardStack } from '../lib/model-guard-stack';
import { fillPattern, readTamperRules } from '../lib/tamper';

function template(props: ModelGuardProps = {}, name = 'Test'): Template {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] }, outdir: mkdtempSync(path.join(tmpdir(), 'cdk-')) });
  return Template.fromStack(new ModelGuardStack(app, name, props));
}

type Resources = Record<string, { Type: string; Properties: any }>;
const resources = (t: Template): Resources => t.toJSON().Resources;
const id = (logical: string) => logical.replace(/[0-9A-F]{8}$/, '');

// Every CloudFormation value in `value` rendered by `as` (a Ref, a GetAtt, a Join of them).
function deepRender(value: any, as: (intrinsic: any) => string): any {
  if (Array.isArray(value)) return value.map((v) => deepRender(v, as));
  if (value && typeof value === 'object') {
    if (value.Ref || value['Fn::GetAtt'] || value['Fn::Join']) return as(value);
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, deepRender(v, as)]));
  }
  return value;
}

// Readable: {"Ref": "Policies1A2B3C4D"} → "Policies", GetAtt → "Policies.Arn", pseudo parameters → "${AccountId}".
function readable(value: any): string {
  if (typeof value === 'string') return value;
  if (value.Ref) return value.Ref.startsWith('AWS::') ? `\${${value.Ref.slice(5)}}` : id(value.Ref);
  if (value['Fn::GetAtt']) return `${id(value['Fn::GetAtt'][0])}.${value['Fn::GetAtt'][1]}`;
  return value['Fn::Join'][1].map(readable).join(value['Fn::Join'][0]);
}

const rules = (t: Template) => Object.fromEntries(Object.entries(resources(t))
  .filter(([logical, r]) => r.Type === 'AWS::Events::Rule' && logical.startsWith('Tamper'))
  .map(([logical, r]) => [id(logical).slice('Tamper'.length), r.Properties]));

test('one rule per entry of the file, each its pattern filled with exactly the guard\'s resources', () => {
  const t = template();
  const file = readTamperRules();
  const made = rules(t);
  assert.deepEqual(Object.keys(made).sort(), Object.keys(file.rules).sort());
  const logical = (type: string) => Object.entries(resources(t)).filter(([, r]) => r.Type === type).map(([l]) => id(l)).sort();
  const values = {
    StackName: 'Test',
    AccountId: '${AccountId}',
    GuardTableNames: ['Policies', 'Decisions', 'Records'],
    GuardTableArns: ['Policies.Arn', 'Decisions.Arn', 'Records.Arn'],
    PolicyTableName: 'Policies',
    PolicyTableArn: 'Policies.Arn',
    GuardTopicArns: ['Alerts', 'GuardAlerts'],
    GuardKeyIds: ['AlertsKey', 'GuardAlertsKey', 'TaskTokenKey', 'EnforcementStateKey'],
    GuardLogGroupNames: logical('AWS::Logs::LogGroup'),
    GuardRoleNames: logical('AWS::IAM::Role'),
    GuardEventSourceMappings: logical('AWS::Lambda::EventSourceMapping'),
    TrailBucketNames: ['TrailBucket'],
    DeadLetterQueueName: 'DeadLetters.QueueName',
  };
  for (const [name, spec] of Object.entries(file.rules)) {
    const pattern = deepRender(made[name].EventPattern, readable);
    // Order within a list does not matter to EventBridge; the test compares sorted lists.
    assert.deepEqual(sortLists(pattern), sortLists(fillPattern(spec.pattern, values)), name);
    assert.equal(made[name].State, 'ENABLED', name);
    assert.equal(made[name].Name, `Test-Tamper${name}`, name);
  }
  // Every role, key, table, log group of the stack is named: nothing the guard runs on is left out.
  assert.ok(values.GuardRoleNames.length >= 12, `${values.GuardRoleNames}`);
  assert.ok(values.GuardLogGroupNames.includes('SweepLogs'));
});

test('each tamper rule alerts the guard topic at once, through the file\'s transformer, with retries', () => {
  const t = template();
  const file = readTamperRules();
  for (const [name, rule] of Object.entries(rules(t))) {
    assert.equal(rule.Targets.length, 1, name);
    const [target] = rule.Targets;
    assert.equal(readable(target.Arn), 'GuardAlerts', name);
    assert.equal(readable(target.DeadLetterConfig.Arn), 'DeadLetters.Arn', name);
    assert.deepEqual(target.RetryPolicy, { MaximumEventAgeInSeconds: 86400, MaximumRetryAttempts: 185 }, name);
    assert.deepEqual(target.InputTransformer.InputPathsMap, file.inputPathsMap, name);
    assert.equal(target.InputTransformer.InputTemplate, file.inputTemplates[file.rules[name].what], name);
  }
  // A template that is JSON once each placeholder is a value: every subscriber but e-mail reads it so.
  for (const [what, template] of Object.entries(file.inputTemplates)) {
    const filled = template.replace('<aws.events.event.json>', '{"detail": {}}').replace(/<[A-Za-z]+>/g, 'x');
    assert.equal(JSON.parse(filled).kind, what === 'guard-changed' ? 'tamper' : what, what);
  }
});

test('without the stack\'s trail, no rule about its bucket; changes to any trail are still alerted', () => {
  const made = rules(template({ createTrail: false }));
  assert.equal(made.TrailBucket, undefined);
  assert.ok(made.Trails);
  assert.equal(made.Trails.EventPattern.detail.requestParameters, undefined, 'any trail');
});

// EventBridge's default quota for a rule's pattern is 2,048 characters. Each pattern with every
// name at its longest: a 30-character stack name, CloudFormation's generated names
// (<stack>-<logical id>-<13 characters>, at most 64 for roles), the longest partition and region.
// The longest a value can be once deployed: a 30-character stack name, CloudFormation's
// generated names (<stack>-<logical id>-<13 characters>, at most 64 for roles), the longest
// partition and region.
function worstCase(): { t: Template; worst: (value: any) => string } {
  const stack = 'S'.repeat(30);
  const t = template({}, stack);
  const name = (logical: string, max = 255) => `${stack}-${id(logical)}-${'R'.repeat(13)}`.slice(0, max);
  const worst = (value: any): string => {
    if (typeof value === 'string') return value;
    if (value.Ref) {
      const pseudo: Record<string, string> = {
        'AWS::AccountId': '123456789012', 'AWS::Region': 'ap-southeast-2', 'AWS::Partition': 'aws-us-gov',
      };
      if (pseudo[value.Ref]) return pseudo[value.Ref];
      const type = resources(t)[value.Ref].Type;
      if (type === 'AWS::KMS::Key') return 'k'.repeat(36);
      // Their Ref is an ARN, or a URL.
      if (['AWS::SNS::Topic', 'AWS::StepFunctions::StateMachine', 'AWS::SQS::Queue'].includes(type)) {
        return `https://sqs.ap-southeast-2.amazonaws.com.cn/arn:aws-us-gov:service:ap-southeast-2:123456789012:${name(value.Ref)}`;
      }
      if (type === 'AWS::Lambda::EventSourceMapping') return 'u'.repeat(36);
      return name(value.Ref, type === 'AWS::IAM::Role' ? 64 : 255);
    }
    if (value['Fn::GetAtt']) {
      const [logical, attribute] = value['Fn::GetAtt'];
      if (attribute === 'QueueName') return name(logical, 80);
      return `arn:aws-us-gov:service:ap-southeast-2:123456789012:type/${name(logical)}`;
    }
    return value['Fn::Join'][1].map(worst).join(value['Fn::Join'][0]);
  };
  return { t, worst };
}

test('every rule\'s pattern fits EventBridge\'s 2,048 characters with the longest names', () => {
  const { t, worst } = worstCase();
  for (const [ruleName, rule] of Object.entries(resources(t)).filter(([, r]) => r.Type === 'AWS::Events::Rule')) {
    if (!rule.Properties.EventPattern) continue;
    const length = JSON.stringify(deepRender(rule.Properties.EventPattern, worst)).length;
    assert.ok(length <= 2048, `${ruleName}: ${length} characters`);
  }
});

function sortLists(value: any): any {
  if (Array.isArray(value)) return value.map(sortLists).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, sortLists(v)]));
  return value;
}

// Lambda holds at most 4 KB of environment variables per function (keys and values): the health
// check's HEALTH_TARGETS is the largest, so it is measured with the longest names.
test('every function\'s environment fits Lambda\'s 4 KB with the longest names', () => {
  const { t, worst } = worstCase();
  for (const [id, f] of Object.entries(resources(t)).filter(([, r]) => r.Type === 'AWS::Lambda::Function')) {
    const variables = f.Properties.Environment?.Variables ?? {};
    const size = Object.entries<any>(variables)
      .reduce((n, [key, value]) => n + key.length + JSON.stringify(deepRender(value, worst)).length - 2, 0);
    assert.ok(size <= 4096, `${id}: ${size} bytes of environment`);
    if (f.Properties.Description === 'Model Guard health') assert.ok(size > 1500, `${size}: not measured?`);
  }
});
