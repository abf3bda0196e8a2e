// The synthesized template, with Lambda bundling skipped (issue 5 adds IAM, alarms and cdk-nag).
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { readFileSync } from 'fs';
import * as path from 'path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { ModelGuardStack } from '../lib/model-guard-stack';

const ROOT = path.join(__dirname, '..', '..');

function template(): Template {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  return Template.fromStack(new ModelGuardStack(app, 'Test'));
}

test('both state machines come from the files, every placeholder filled', () => {
  const t = template();
  const machines = t.findResources('AWS::StepFunctions::StateMachine');
  assert.equal(Object.keys(machines).length, 2);
  for (const [id, machine] of Object.entries(machines)) {
    const substitutions = (machine as any).Properties.DefinitionSubstitutions ?? {};
    const definition = JSON.stringify((machine as any).Properties.DefinitionString);
    const placeholders = definition.match(/\$\{[A-Za-z]+\}/g) ?? [];
    assert.ok(placeholders.length >= 2, `${id}: the definition's placeholders were not found`);
    for (const placeholder of placeholders) {
      const name = placeholder.slice(2, -1);
      assert.ok(name in substitutions, `${id}: ${placeholder} has no substitution`);
    }
  }
});

test("the rule's pattern is the file's", () => {
  const pattern = JSON.parse(readFileSync(path.join(ROOT, 'statemachine', 'event-pattern.json'), 'utf8'));
  template().hasResourceProperties('AWS::Events::Rule', { EventPattern: pattern });
});

test('the tables keep their data', () => {
  const t = template();
  t.resourceCountIs('AWS::DynamoDB::GlobalTable', 2);
  t.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
    KeySchema: [{ AttributeName: 'eventId', KeyType: 'HASH' }],
    GlobalSecondaryIndexes: [{ IndexName: 'byResource' }],
  });
  for (const table of Object.values(t.findResources('AWS::DynamoDB::GlobalTable'))) {
    assert.equal((table as any).DeletionPolicy, 'Retain');
  }
});
