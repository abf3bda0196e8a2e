// One guard for a whole organization (docs/design.md, "One guard for an organization"): what each
// member account carries. Two templates, each without Lambda code or assets and without the CDK
// bootstrap (a bootstrapless synthesizer), so that a service-managed StackSet can deploy them:
//
// - ModelGuardMemberRoles, once per account (IAM is global): the read-only role the central
//   Evaluate, sweep and scan assume, the enforce role only the central Enforce may assume, and
//   the role EventBridge sends with to the central bus.
// - ModelGuardMemberRules, in every region: the rule that forwards the covered SageMaker calls to
//   the central bus, and a heartbeat every 5 minutes, whose absence the central stack alarms on.
//
// Both take the central account, region and stack name as parameters (a StackSet's parameter
// values, or `cdk deploy --parameters`).
import { readFileSync } from 'fs';
import * as path from 'path';
import { Aws, BootstraplessSynthesizer, CfnParameter, Duration, Stack, StackProps } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { acknowledgeWildcards, describing, enforcing } from './permissions';

const STATEMACHINE_DIR = path.join(__dirname, '..', '..', 'statemachine');

/** The member roles' names (the functions' defaults: functions/aws/src/members.rs). */
export const MEMBER_ROLE = 'ModelGuardMember';
export const MEMBER_ENFORCE_ROLE = 'ModelGuardMemberEnforce';
/** The role EventBridge forwards with, in each member account. */
export const FORWARDER_ROLE = 'ModelGuardForwarder';
/** The heartbeat rule's name in each member region. */
export const HEARTBEAT_RULE = 'ModelGuardHeartbeat';
/** The central bus's name. */
export const BUS_NAME = (stackName: string) => `${stackName}-Bus`;
/** The name of a central function's role that member roles trust. */
export const CENTRAL_ROLE = (stackName: string, fn: 'Evaluate' | 'Enforce' | 'Sweep' | 'Scan') =>
  `${stackName}-${fn}Role`;
/** Minutes between heartbeats. */
export const HEARTBEAT_MINUTES = 5;

/** The event pattern of the covered calls, as the central rule uses it. */
export function sageMakerCallsPattern(): events.EventPattern {
  return JSON.parse(readFileSync(path.join(STATEMACHINE_DIR, 'event-pattern.json'), 'utf8'));
}

/** Where the central guard is: parameters of both member templates. */
class Central {
  readonly account: string;
  readonly region: string;
  readonly stackName: string;

  constructor(scope: Construct) {
    this.account = new CfnParameter(scope, 'CentralAccount', {
      type: 'String',
      allowedPattern: '^\\d{12}$',
      description: 'The account of the central Model Guard stack',
    }).valueAsString;
    this.region = new CfnParameter(scope, 'CentralRegion', {
      type: 'String',
      allowedPattern: '^[a-z]{2}(-[a-z]+)+-\\d$',
      description: 'The region of the central Model Guard stack (its event bus)',
    }).valueAsString;
    this.stackName = new CfnParameter(scope, 'CentralStackName', {
      type: 'String',
      default: 'ModelGuard',
      allowedPattern: '^[A-Za-z][A-Za-z0-9-]{0,39}$',
      description: 'The name of the central Model Guard stack',
    }).valueAsString;
  }

  roleArn(fn: 'Evaluate' | 'Enforce' | 'Sweep' | 'Scan'): string {
    return `arn:${Aws.PARTITION}:iam::${this.account}:role/${CENTRAL_ROLE(this.stackName, fn)}`;
  }

  busArn(): string {
    return `arn:${Aws.PARTITION}:events:${this.region}:${this.account}:event-bus/${BUS_NAME(this.stackName)}`;
  }
}

/** A role only the named central roles may assume: the central account, and only those roles. */
function trustingCentral(central: Central, roles: ('Evaluate' | 'Enforce' | 'Sweep' | 'Scan')[]): iam.IPrincipal {
  return new iam.AccountPrincipal(central.account).withConditions({
    ArnEquals: { 'aws:PrincipalArn': roles.map((r) => central.roleArn(r)) },
  });
}

export class ModelGuardMemberRolesStack extends Stack {
  constructor(scope: Construct, id: string, props: StackProps = {}) {
    super(scope, id, { synthesizer: new BootstraplessSynthesizer(), ...props });
    const central = new Central(this);
    // In this account, every region: the statements name resources in any region (`*`) of this
    // account only.
    const here = (service: string, resource: string) =>
      `arn:${Aws.PARTITION}:${service}:*:${Aws.ACCOUNT_ID}:${resource}`;

    const reader = new iam.Role(this, 'Member', {
      roleName: MEMBER_ROLE,
      description: 'Model Guard: what the central Evaluate, sweep and scan read in this account',
      assumedBy: trustingCentral(central, ['Evaluate', 'Sweep', 'Scan']),
      maxSessionDuration: Duration.hours(1),
    });
    const reads = [
      ...describing(here),
      new iam.PolicyStatement({
        // The path of a caller's role when its event names only its session.
        sid: 'LookUpRolePaths',
        actions: ['iam:GetRole'],
        resources: [`arn:${Aws.PARTITION}:iam::${Aws.ACCOUNT_ID}:role/*`],
      }),
      new iam.PolicyStatement({
        // The sweep's and the scan's history of calls. AWS requires "*": LookupEvents supports
        // no resource-level permissions (Service Authorization Reference).
        sid: 'LookUpCalls',
        actions: ['cloudtrail:LookupEvents'],
        resources: ['*'],
      }),
    ];
    for (const statement of reads) reader.addToPolicy(statement);
    acknowledgeWildcards(reader, reads);

    const enforcer = new iam.Role(this, 'MemberEnforce', {
      roleName: MEMBER_ENFORCE_ROLE,
      description: 'Model Guard: what the central Enforce does to a violation in this account',
      assumedBy: trustingCentral(central, ['Enforce']),
      maxSessionDuration: Duration.hours(1),
    });
    const acts = enforcing(here);
    for (const statement of acts) enforcer.addToPolicy(statement);
    acknowledgeWildcards(enforcer, acts);

    const forwarder = new iam.Role(this, 'Forwarder', {
      roleName: FORWARDER_ROLE,
      description: 'Model Guard: EventBridge sends the covered SageMaker calls to the central bus',
      // Only this account's rules (the confused-deputy guard EventBridge documents).
      assumedBy: new iam.ServicePrincipal('events.amazonaws.com').withConditions({
        StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
      }),
    });
    forwarder.addToPolicy(new iam.PolicyStatement({
      sid: 'ForwardToTheGuard',
      actions: ['events:PutEvents'],
      resources: [central.busArn()],
    }));
  }
}

export class ModelGuardMemberRulesStack extends Stack {
  constructor(scope: Construct, id: string, props: StackProps = {}) {
    super(scope, id, { synthesizer: new BootstraplessSynthesizer(), ...props });
    const central = new Central(this);
    const forwarder = `arn:${Aws.PARTITION}:iam::${Aws.ACCOUNT_ID}:role/${FORWARDER_ROLE}`;
    const toCentral = { arn: central.busArn(), id: 'ModelGuard', roleArn: forwarder };
    const forward = new events.CfnRule(this, 'ForwardSageMakerCalls', {
      name: 'ModelGuardForwardSageMakerCalls',
      description: 'Covered SageMaker calls, from CloudTrail, to the central Model Guard bus',
      eventPattern: sageMakerCallsPattern(),
      // Read-only management events too (CreatePresigned*Url), as the central rule receives them.
      state: 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS',
      targets: [toCentral],
    });
    forward.overrideLogicalId('ForwardSageMakerCalls');
    const heartbeat = new events.CfnRule(this, 'Heartbeat', {
      name: HEARTBEAT_RULE,
      description: 'Model Guard: this region still forwards (the central stack alarms when it stops)',
      scheduleExpression: `rate(${HEARTBEAT_MINUTES} minutes)`,
      state: 'ENABLED',
      targets: [toCentral],
    });
    heartbeat.overrideLogicalId('Heartbeat');
  }
}
