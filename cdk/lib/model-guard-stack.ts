// Model Guard's stack: the policy and decisions tables, the alert topic, the five functions, the
// two state machines from statemachine/, and the EventBridge rule from statemachine/.
//
// Issue 5 in progress: the resources are here; IAM review, alarms, the trail, the approval URL's
// invokers, cdk-nag and the tests come next.
import { readFileSync } from 'fs';
import * as path from 'path';
import { Duration, RemovalPolicy, Stack, StackProps } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { RustFunction } from 'cargo-lambda-cdk';
import { Construct } from 'constructs';

const ROOT = path.join(__dirname, '..', '..');

export interface ModelGuardProps extends StackProps {
  readonly defaultGraceSeconds?: number;
  readonly defaultApprovers?: string[];
}

export class ModelGuardStack extends Stack {
  constructor(scope: Construct, id: string, props: ModelGuardProps = {}) {
    super(scope, id, props);

    const policies = new dynamodb.TableV2(this, 'Policies', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const decisions = new dynamodb.TableV2(this, 'Decisions', {
      partitionKey: { name: 'eventId', type: dynamodb.AttributeType.STRING },
      globalSecondaryIndexes: [{
        indexName: 'byResource',
        partitionKey: { name: 'resourceKey', type: dynamodb.AttributeType.STRING },
        sortKey: { name: 'decidedAt', type: dynamodb.AttributeType.STRING },
      }],
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    const key = new kms.Key(this, 'AlertsKey', { enableKeyRotation: true });
    const topic = new sns.Topic(this, 'Alerts', { masterKey: key });

    const fn = (name: string, environment: Record<string, string>) =>
      new RustFunction(this, name.replace(/(^|-)(\w)/g, (_, __, c: string) => c.toUpperCase()), {
        manifestPath: path.join(ROOT, 'Cargo.toml'),
        binaryName: name,
        architecture: lambda.Architecture.ARM_64,
        memorySize: 128,
        timeout: Duration.seconds(60),
        environment,
      });
    const parseEvent = fn('parse-event', {});
    const evaluate = fn('evaluate', {
      POLICY_TABLE: policies.tableName,
      DECISIONS_TABLE: decisions.tableName,
      DEFAULT_GRACE_SECONDS: String(props.defaultGraceSeconds ?? 900),
      DEFAULT_APPROVERS: JSON.stringify(props.defaultApprovers ?? []),
    });
    const enforce = fn('enforce', {});
    const notify = fn('notify', { TOPIC_ARN: topic.topicArn, DECISIONS_TABLE: decisions.tableName });
    fn('approve', { DECISIONS_TABLE: decisions.tableName });

    const enforcement = new sfn.StateMachine(this, 'Enforcement', {
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromString(
        readFileSync(path.join(ROOT, 'statemachine', 'enforcement.asl.json'), 'utf8')),
      definitionSubstitutions: {
        NotifyFunctionArn: notify.functionArn,
        EnforceFunctionArn: enforce.functionArn,
      },
    });
    const triage = new sfn.StateMachine(this, 'Triage', {
      stateMachineType: sfn.StateMachineType.EXPRESS,
      definitionBody: sfn.DefinitionBody.fromString(
        readFileSync(path.join(ROOT, 'statemachine', 'triage.asl.json'), 'utf8')),
      definitionSubstitutions: {
        ParseEventFunctionArn: parseEvent.functionArn,
        EvaluateFunctionArn: evaluate.functionArn,
        EnforcementStateMachineArn: enforcement.stateMachineArn,
      },
    });

    new events.Rule(this, 'SageMakerCalls', {
      eventPattern: JSON.parse(readFileSync(path.join(ROOT, 'statemachine', 'event-pattern.json'), 'utf8')),
      targets: [new targets.SfnStateMachine(triage)],
    });
  }
}
