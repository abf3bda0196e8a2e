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
