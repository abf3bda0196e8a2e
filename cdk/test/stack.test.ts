// The synthesized template, with Lambda bundling skipped: every resource and setting the stack
// promises, every IAM statement, and cdk-nag's AwsSolutions rules with no unacknowledged finding.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { App, Validations } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ModelGuardProps, ModelGuardStack } from '../lib/model-guard-stack';
import { readTamperRules } from '../lib/tamper';
import { list, ofType, render, resources, statementsByRole } from './template-text';

const ROOT = path.join(__dirname, '..', '..');
const FUNCTIONS = ['parse-event', 'record', 'evaluate', 'claim', 'enforce', 'notify', 'approve', 'sweep', 'scan', 'watch', 'health'];

function app(): App {
  return new App({ context: { 'aws:cdk:bundling-stacks': [] }, outdir: mkdtempSync(path.join(tmpdir(), 'cdk-')) });
}

function template(props: ModelGuardProps = {}): Template {
  return Template.fromStack(new ModelGuardStack(app(), 'Test', props));
}

const SM = 'arn:${Partition}:sagemaker:${Region}:${AccountId}';
// The rules that may publish to the guard topic: the end of an enforcement, and the tamper rules.
const GUARD_RULES = ['EnforcementEnded', ...Object.keys(readTamperRules().rules).map((r) => `Tamper${r}`)]
  .map((r) => `${r}.Arn`).join(',');
const TOKEN_CONTEXT = 'kms:EncryptionContext:modelGuardPurpose approval-task-token';
const ENFORCEMENT_ARN = 'arn:${Partition}:states:${Region}:${AccountId}:stateMachine:Test-Enforcement';
const STEP_FUNCTIONS_LOGGING = 'Allow logs:CreateLogDelivery,logs:GetLogDelivery,logs:UpdateLogDelivery,'
  + 'logs:DeleteLogDelivery,logs:ListLogDeliveries,logs:PutResourcePolicy,logs:DescribeResourcePolicies,'
  + 'logs:DescribeLogGroups on *';
const STEP_FUNCTIONS_TRACING = 'Allow xray:PutTraceSegments,xray:PutTelemetryRecords,xray:GetSamplingRules,'
  + 'xray:GetSamplingTargets on *';

// The whole of what each role may do. A change here is a change of privilege: review it as such.
// What a decision reads (Evaluate's role, and the scan's): describes, the records, role paths.
const RESOLVING = [
    'Allow sagemaker:DescribeEndpointConfig,sagemaker:DescribeModel,sagemaker:DescribeInferenceComponent on '
      + `${SM}:endpoint-config/* ${SM}:model/* ${SM}:inference-component/*`,
    `Allow sagemaker:DescribeModelPackage on ${SM}:model-package/*`,
    'Allow sagemaker:DescribeEndpoint,sagemaker:DescribeTrainingJob,sagemaker:DescribeTransformJob,'
      + 'sagemaker:DescribeProcessingJob,sagemaker:DescribeHyperParameterTuningJob,sagemaker:DescribeNotebookInstance,'
      + 'sagemaker:DescribeAutoMLJobV2,sagemaker:DescribeCompilationJob,sagemaker:DescribeEdgePackagingJob,'
      + 'sagemaker:DescribeLabelingJob,sagemaker:DescribeInferenceRecommendationsJob,sagemaker:DescribeOptimizationJob on '
      + `${SM}:notebook-instance/* ${SM}:endpoint/* ${SM}:training-job/* ${SM}:transform-job/* ${SM}:processing-job/* `
      + `${SM}:hyper-parameter-tuning-job/* ${SM}:automl-job/* ${SM}:compilation-job/* ${SM}:edge-packaging-job/* `
      + `${SM}:labeling-job/* ${SM}:inference-recommendations-job/* ${SM}:optimization-job/*`,
    'Allow sagemaker:DescribePipeline,sagemaker:DescribePipelineExecution,sagemaker:ListPipelineExecutionSteps on '
      + `${SM}:pipeline/*`,
    'Allow sagemaker:ListNotebookInstances on *',
    'Allow sagemaker:ListAutoMLJobs on *',
    'Allow sagemaker:DescribeMonitoringSchedule,sagemaker:DescribeDataQualityJobDefinition,'
      + 'sagemaker:DescribeModelQualityJobDefinition,sagemaker:DescribeModelBiasJobDefinition,'
      + 'sagemaker:DescribeModelExplainabilityJobDefinition on '
      + `${SM}:monitoring-schedule/* ${SM}:data-quality-job-definition/* ${SM}:model-quality-job-definition/* `
      + `${SM}:model-bias-job-definition/* ${SM}:model-explainability-job-definition/*`,
    `Allow sagemaker:DescribeMlflowTrackingServer on ${SM}:mlflow-tracking-server/*`,
    `Allow sagemaker:DescribeCluster on ${SM}:cluster/*`,
    `Allow sagemaker:DescribeProject on ${SM}:project/*`,
    `Allow sagemaker:DescribeInferenceExperiment on ${SM}:inference-experiment/*`,
    'Allow sagemaker:DescribeDomain,sagemaker:DescribeUserProfile,sagemaker:DescribeSpace on '
      + `${SM}:domain/* ${SM}:user-profile/* ${SM}:space/*`,
    'Allow sagemaker:ListTags on '
      + `${SM}:endpoint/* ${SM}:inference-component/* ${SM}:model/* ${SM}:training-job/* ${SM}:transform-job/* `
      + `${SM}:processing-job/* ${SM}:hyper-parameter-tuning-job/* ${SM}:automl-job/*`,
    'Allow dynamodb:Query on Records.Arn',
    'Allow iam:GetRole on arn:${Partition}:iam::${AccountId}:role/*',
];

const EXPECTED_STATEMENTS: Record<string, string[]> = {
  ParseEventRole: ['Allow logs:CreateLogStream,logs:PutLogEvents on ParseEventLogs.Arn'],
  RecordRole: [
    'Allow logs:CreateLogStream,logs:PutLogEvents on RecordLogs.Arn',
    'Allow dynamodb:PutItem on Records.Arn',
  ],
  EvaluateRole: [
    'Allow logs:CreateLogStream,logs:PutLogEvents on EvaluateLogs.Arn',
    'Allow dynamodb:Scan on Policies.Arn',
    'Allow dynamodb:PutItem,dynamodb:GetItem,dynamodb:BatchGetItem on Decisions.Arn',
    'Allow dynamodb:Query on Decisions.Arn/index/byResource',
    ...RESOLVING,
  ],
  ClaimRole: [
    'Allow logs:CreateLogStream,logs:PutLogEvents on ClaimLogs.Arn',
    'Allow dynamodb:GetItem,dynamodb:UpdateItem on Decisions.Arn',
    'Allow sns:Publish on Alerts GuardAlerts',
    'Allow kms:GenerateDataKey,kms:Decrypt on AlertsKey.Arn GuardAlertsKey.Arn',
  ],
  EnforceRole: [
    'Allow logs:CreateLogStream,logs:PutLogEvents on EnforceLogs.Arn',
    'Allow dynamodb:GetItem,dynamodb:UpdateItem on Decisions.Arn',
    `Allow sagemaker:DescribeEndpoint,sagemaker:DeleteEndpoint on ${SM}:endpoint/*`,
    `Allow sagemaker:UpdateEndpoint,sagemaker:DescribeEndpointConfig on ${SM}:endpoint/* ${SM}:endpoint-config/*`,
    `Allow sagemaker:DescribeModel,sagemaker:DeleteModel on ${SM}:model/*`,
    `Allow sagemaker:DescribeNotebookInstance,sagemaker:StopNotebookInstance on ${SM}:notebook-instance/*`,
    `Allow sagemaker:DescribeMonitoringSchedule,sagemaker:StopMonitoringSchedule on ${SM}:monitoring-schedule/*`,
    `Allow sagemaker:DescribeMlflowTrackingServer,sagemaker:StopMlflowTrackingServer on ${SM}:mlflow-tracking-server/*`,
    `Allow sagemaker:DescribeCluster,sagemaker:DeleteCluster on ${SM}:cluster/*`,
    `Allow sagemaker:DescribeInferenceExperiment,sagemaker:StopInferenceExperiment on ${SM}:inference-experiment/*`,
    `Allow sagemaker:DescribeApp,sagemaker:DeleteApp on ${SM}:app/*`,
    `Allow sagemaker:DescribePipelineExecution,sagemaker:StopPipelineExecution on ${SM}:pipeline/*`,
    'Allow sagemaker:DescribeInferenceComponent,sagemaker:DeleteInferenceComponent,sagemaker:UpdateInferenceComponent '
      + `on ${SM}:inference-component/*`,
    'Allow sagemaker:StopTrainingJob,sagemaker:DescribeTrainingJob,sagemaker:StopTransformJob,'
      + 'sagemaker:DescribeTransformJob,sagemaker:StopProcessingJob,sagemaker:DescribeProcessingJob,'
      + 'sagemaker:StopHyperParameterTuningJob,sagemaker:DescribeHyperParameterTuningJob,'
      + 'sagemaker:StopAutoMLJob,sagemaker:DescribeAutoMLJobV2,sagemaker:StopCompilationJob,'
      + 'sagemaker:DescribeCompilationJob,sagemaker:StopEdgePackagingJob,sagemaker:DescribeEdgePackagingJob,'
      + 'sagemaker:StopLabelingJob,sagemaker:DescribeLabelingJob,sagemaker:StopInferenceRecommendationsJob,'
      + 'sagemaker:DescribeInferenceRecommendationsJob,sagemaker:StopOptimizationJob,'
      + 'sagemaker:DescribeOptimizationJob on '
      + `${SM}:training-job/* ${SM}:transform-job/* ${SM}:processing-job/* ${SM}:hyper-parameter-tuning-job/* `
      + `${SM}:automl-job/* ${SM}:compilation-job/* ${SM}:edge-packaging-job/* ${SM}:labeling-job/* `
      + `${SM}:inference-recommendations-job/* ${SM}:optimization-job/*`,
    'Allow application-autoscaling:DeregisterScalableTarget on '
      + 'arn:${Partition}:application-autoscaling:${Region}:${AccountId}:scalable-target/*',
    'Allow sagemaker:ListInferenceComponents,application-autoscaling:DescribeScalableTargets on *',
  ],
  NotifyRole: [
    'Allow logs:CreateLogStream,logs:PutLogEvents on NotifyLogs.Arn',
    'Allow sns:Publish on Alerts GuardAlerts',
    'Allow kms:GenerateDataKey,kms:Decrypt on AlertsKey.Arn GuardAlertsKey.Arn',
    'Allow dynamodb:GetItem,dynamodb:UpdateItem on Decisions.Arn',
    `Allow kms:Encrypt on TaskTokenKey.Arn if StringEquals ${TOKEN_CONTEXT}`,
  ],
  ApproveRole: [
    'Allow logs:CreateLogStream,logs:PutLogEvents on ApproveLogs.Arn',
    `Allow kms:Decrypt on TaskTokenKey.Arn if StringEquals ${TOKEN_CONTEXT}`,
    'Allow dynamodb:PutItem on Decisions.Arn if ForAllValues:StringLike dynamodb:LeadingKeys approval-nonce#*',
    'Allow sns:Publish on GuardAlerts',
    'Allow kms:GenerateDataKey,kms:Decrypt on GuardAlertsKey.Arn',
    'Allow iam:GetRole on arn:${Partition}:iam::${AccountId}:role/*',
    'Allow dynamodb:Query on Decisions.Arn/index/byResource',
    'Allow dynamodb:GetItem,dynamodb:UpdateItem,dynamodb:BatchGetItem on Decisions.Arn',
    'Allow states:SendTaskSuccess,states:SendTaskFailure on *',
  ],
  EnforcementRole: [
    'Allow lambda:InvokeFunction on Claim.Arn Notify.Arn Enforce.Arn',
    'Allow kms:Decrypt,kms:GenerateDataKey on EnforcementStateKey.Arn if StringEquals '
      + `kms:EncryptionContext:aws:states:stateMachineArn ${ENFORCEMENT_ARN}`,
    'Allow kms:GenerateDataKey on EnforcementStateKey.Arn if StringEquals kms:EncryptionContext:SourceArn '
      + 'arn:${Partition}:logs:${Region}:${AccountId}:*',
    STEP_FUNCTIONS_LOGGING,
    STEP_FUNCTIONS_TRACING,
    `Allow states:StartExecution on ${ENFORCEMENT_ARN}`,
  ],
  TriageRole: [
    'Allow lambda:InvokeFunction on ParseEvent.Arn Record.Arn Evaluate.Arn',
    STEP_FUNCTIONS_LOGGING,
    'Allow states:StartExecution on Enforcement',
    'Allow dynamodb:UpdateItem,dynamodb:DeleteItem on Decisions.Arn if ForAllValues:StringLike dynamodb:LeadingKeys undecided#*',
  ],
  TriageEventsRole: ['Allow states:StartExecution on Triage'],
  SweepRole: [
    'Allow logs:CreateLogStream,logs:PutLogEvents on SweepLogs.Arn',
    'Allow dynamodb:Scan on Decisions.Arn/index/byUndecided',
    'Allow dynamodb:Query on Decisions.Arn/index/byState Decisions.Arn/index/byAlertOwed',
    'Allow dynamodb:UpdateItem on Decisions.Arn',
    'Allow states:DescribeExecution on arn:${Partition}:states:${Region}:${AccountId}:execution:Test-Enforcement:*',
    'Allow states:StartExecution on Enforcement',
    `Allow kms:Decrypt on EnforcementStateKey.Arn if StringEquals kms:EncryptionContext:aws:states:stateMachineArn Enforcement`,
    'Allow sns:Publish on Alerts GuardAlerts',
    'Allow kms:GenerateDataKey,kms:Decrypt on AlertsKey.Arn GuardAlertsKey.Arn',
    'Allow cloudtrail:LookupEvents on *',
    'Allow dynamodb:GetItem,dynamodb:BatchGetItem on Decisions.Arn',
    'Allow dynamodb:PutItem on Decisions.Arn if ForAllValues:StringLike dynamodb:LeadingKeys '
      + 'sweep#checkpoint,sweep#checkpoint@*,undecided#*',
    'Allow dynamodb:GetItem on Records.Arn',
    'Allow states:StartExecution on Triage',
  ],
  SweepMachineRole: [
    'Allow lambda:InvokeFunction on Sweep.Arn',
    STEP_FUNCTIONS_LOGGING,
    STEP_FUNCTIONS_TRACING,
    'Allow states:StartExecution on arn:${Partition}:states:${Region}:${AccountId}:stateMachine:Test-Sweep',
    'Allow states:DescribeExecution,states:StopExecution on '
      + 'arn:${Partition}:states:${Region}:${AccountId}:execution:Test-Sweep/*',
  ],
  SweepMachineEventsRole: ['Allow states:StartExecution on SweepMachine'],
  ScanMachineRole: [
    'Allow lambda:InvokeFunction on Scan.Arn',
    STEP_FUNCTIONS_LOGGING,
    STEP_FUNCTIONS_TRACING,
    'Allow states:StartExecution on arn:${Partition}:states:${Region}:${AccountId}:stateMachine:Test-Scan',
    'Allow states:DescribeExecution,states:StopExecution on '
      + 'arn:${Partition}:states:${Region}:${AccountId}:execution:Test-Scan/*',
  ],
  ScanMachineEventsRole: ['Allow states:StartExecution on ScanMachine'],
  ScanRole: [
    'Allow logs:CreateLogStream,logs:PutLogEvents on ScanLogs.Arn',
    'Allow dynamodb:Scan on Policies.Arn',
    'Allow dynamodb:GetItem on Decisions.Arn',
    'Allow dynamodb:PutItem on Decisions.Arn if ForAllValues:StringLike dynamodb:LeadingKeys scan-*,drift#scan-*',
    'Allow sagemaker:ListEndpoints,sagemaker:ListInferenceComponents,sagemaker:ListInferenceExperiments,'
      + 'sagemaker:ListTrainingJobs,sagemaker:ListProcessingJobs,sagemaker:ListTransformJobs,'
      + 'sagemaker:ListHyperParameterTuningJobs,sagemaker:ListAutoMLJobs,sagemaker:ListCompilationJobs,'
      + 'sagemaker:ListNotebookInstances,sagemaker:ListApps,sagemaker:ListPipelines,sagemaker:ListPipelineExecutions,'
      + 'sagemaker:ListClusters,sagemaker:ListMonitoringSchedules,sagemaker:ListMlflowTrackingServers on *',
    'Allow cloudtrail:LookupEvents on *',
    'Allow states:StartExecution on Enforcement',
    'Allow sns:Publish on Alerts GuardAlerts',
    'Allow kms:GenerateDataKey,kms:Decrypt on AlertsKey.Arn GuardAlertsKey.Arn',
    // What a decision reads, as Evaluate's role: its SageMaker describes in one statement.
    `Allow ${[...new Set(RESOLVING.filter((st) => st.includes(':sagemaker:')).flatMap((st) =>
      st.slice('Allow '.length, st.indexOf(' on ')).split(',')))].sort().join(',')} on ${SM}:*`,
    ...RESOLVING.filter((st) => !st.includes(':sagemaker:')),
  ],
  WatchRole: [
    'Allow logs:CreateLogStream,logs:PutLogEvents on WatchLogs.Arn',
    'Allow sns:Publish on GuardAlerts',
    'Allow kms:GenerateDataKey,kms:Decrypt on GuardAlertsKey.Arn',
    'Allow dynamodb:DescribeStream,dynamodb:GetRecords,dynamodb:GetShardIterator on Policies.StreamArn',
    'Allow dynamodb:ListStreams on *',
    'Allow dynamodb:PutItem on Decisions.Arn if ForAllValues:StringLike dynamodb:LeadingKeys guard-alert#*',
    // The event source mapping keeps a record it could never alert in the dead-letter queue.
    'Allow sqs:SendMessage,sqs:GetQueueAttributes,sqs:GetQueueUrl on DeadLetters.Arn',
  ],
  HealthRole: [
    'Allow logs:CreateLogStream,logs:PutLogEvents on HealthLogs.Arn',
    'Allow events:DescribeRule,events:ListTargetsByRule on '
      + ['SweepSchedule', 'DriftScanSchedule', 'SageMakerCalls', 'EnforcementEnded', 'HealthSchedule',
        ...Object.keys(readTamperRules().rules).map((r) => `Tamper${r}`)]
        .map((r) => `arn:\${Partition}:events:\${Region}:\${AccountId}:rule/Test-${r}`).join(' '),
    'Allow cloudtrail:DescribeTrails on *',
    'Allow cloudtrail:GetTrailStatus,cloudtrail:GetEventSelectors on arn:${Partition}:cloudtrail:*:*:trail/*',
    'Allow lambda:GetFunctionConcurrency on '
      + ['parse-event', 'record', 'evaluate', 'claim', 'enforce', 'notify', 'approve', 'sweep', 'scan', 'watch', 'health']
        .map((f) => `arn:\${Partition}:lambda:\${Region}:\${AccountId}:function:Test-${f}`).join(' '),
    'Allow lambda:GetEventSourceMapping on arn:${Partition}:lambda:${Region}:${AccountId}:event-source-mapping:PolicyStream',
    'Allow sns:GetTopicAttributes on Alerts GuardAlerts',
    'Allow dynamodb:GetItem,dynamodb:BatchGetItem on Decisions.Arn',
    'Allow dynamodb:Query on Decisions.Arn/index/byState',
    'Allow dynamodb:PutItem on Decisions.Arn if ForAllValues:StringLike dynamodb:LeadingKeys health#last',
    'Allow sns:Publish on Alerts GuardAlerts',
    'Allow kms:GenerateDataKey,kms:Decrypt on AlertsKey.Arn GuardAlertsKey.Arn',
  ],
  SeedDefaultPolicyRole: [
    'Allow logs:CreateLogStream,logs:PutLogEvents on SeedDefaultPolicyLogs.Arn',
    'Allow dynamodb:PutItem,dynamodb:ConditionCheckItem on Policies.Arn',
  ],
};

// The only actions a "*" resource may carry, and why AWS leaves no choice.
const STAR_ALLOWED: Record<string, string> = {
  'states:SendTaskSuccess': 'takes a task token, not an ARN',
  'states:SendTaskFailure': 'takes a task token, not an ARN',
  'sagemaker:ListInferenceComponents': 'no resource-level permissions',
  'sagemaker:ListNotebookInstances': 'no resource-level permissions',
  'sagemaker:ListAutoMLJobs': 'no resource-level permissions',
  // The scan's inventory: List* calls act on no resource.
  ...Object.fromEntries(['Endpoints', 'InferenceExperiments', 'TrainingJobs', 'ProcessingJobs', 'TransformJobs',
    'HyperParameterTuningJobs', 'CompilationJobs', 'Apps', 'Pipelines', 'PipelineExecutions', 'Clusters',
    'MonitoringSchedules', 'MlflowTrackingServers'].map((what) => [`sagemaker:List${what}`, 'no resource-level permissions'])),
  'application-autoscaling:DescribeScalableTargets': 'no resource-level permissions',
  'cloudtrail:LookupEvents': 'no resource-level permissions',
  'cloudtrail:DescribeTrails': 'no resource-level permissions',
  'dynamodb:ListStreams': 'no resource-level permissions',
  'logs:CreateLogDelivery': 'Step Functions vended logs', 'logs:GetLogDelivery': 'vended logs',
  'logs:UpdateLogDelivery': 'vended logs', 'logs:DeleteLogDelivery': 'vended logs',
  'logs:ListLogDeliveries': 'vended logs', 'logs:PutResourcePolicy': 'vended logs',
  'logs:DescribeResourcePolicies': 'vended logs', 'logs:DescribeLogGroups': 'vended logs',
  'xray:PutTraceSegments': 'X-Ray', 'xray:PutTelemetryRecords': 'X-Ray',
  'xray:GetSamplingRules': 'X-Ray', 'xray:GetSamplingTargets': 'X-Ray',
};

test('every role may do exactly what its function or machine calls, and no more', () => {
  assert.deepEqual(statementsByRole(template()), EXPECTED_STATEMENTS);
});

test('a "*" resource only on the actions that accept nothing else, SendTask* only for approve', () => {
  const t = template();
  for (const [, policy] of ofType(t, 'AWS::IAM::Policy')) {
    for (const s of policy.Properties.PolicyDocument.Statement) {
      assert.equal(s.Effect, 'Allow');
      for (const action of list(s.Action)) {
        assert.ok(!action.includes('*'), `wildcard action ${action}`);
        if (list(s.Resource).includes('*')) {
          assert.ok(action in STAR_ALLOWED, `${action} on "*" in ${render(policy.Properties.Roles[0])}`);
        }
      }
    }
  }
  const sendTask = Object.entries(statementsByRole(t))
    .filter(([, statements]) => statements.some((s) => s.includes('states:SendTask')))
    .map(([role]) => role);
  assert.deepEqual(sendTask, ['ApproveRole']);
  // No managed policies anywhere: each role's statements above are all it has.
  for (const [id, role] of ofType(t, 'AWS::IAM::Role')) {
    assert.equal(role.Properties.ManagedPolicyArns, undefined, `${id} has a managed policy`);
  }
});

// Synthesizes a stack under cdk-nag's AwsSolutions checks (a finding fails the test, naming it) and
// returns every acknowledgement in it.
function nagged(settings: ModelGuardProps): { path: string; id: string; reason: string }[] {
  const a = app();
  const stack = new ModelGuardStack(a, 'Nag', settings);
  Validations.of(a).addPlugins(new AwsSolutionsChecks(a));
  // A finding makes synth throw, and the report names it.
  try {
    a.synth();
  } catch (e) {
    const report = readFileSync(path.join(a.outdir, 'validation-report.json'), 'utf8');
    assert.fail(`cdk-nag findings:\n${report.slice(0, 4000)}\n${e}`);
  }
  const acknowledged: { path: string; id: string; reason: string }[] = [];
  const visit = (node: any) => {
    for (const entry of node.node.metadata) {
      if (entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY) {
        for (const [id, reason] of Object.entries<string>(entry.data)) {
          acknowledged.push({ path: node.node.path, id, reason });
        }
      }
    }
    node.node.children.forEach(visit);
  };
  visit(stack);
  return acknowledged;
}

test("cdk-nag's AwsSolutions rules: no unacknowledged finding, every acknowledgement with a reason", () => {
  const acknowledged = nagged({ notificationEmails: ['ops@example.com'] });
  // Every acknowledgement is for one AwsSolutions rule and says why in a sentence or more.
  const ids = acknowledged.map((a) => a.id.replace(/\[.*/, '')).sort();
  // The list a reviewer signs off: S1 on the trail bucket, SQS3 on the dead-letter queue, SF1 on the
  // triage machine (it logs failures only, by default), SF2 on the triage machine alone (not traced:
  // it runs for every call), IAM5 on each role whose statements name a resource type or "*" (see
  // EXPECTED_STATEMENTS).
  assert.deepEqual([...new Set(ids)], [
    'AwsSolutions::AwsSolutions-IAM5', 'AwsSolutions::AwsSolutions-S1', 'AwsSolutions::AwsSolutions-SF1',
    'AwsSolutions::AwsSolutions-SF2', 'AwsSolutions::AwsSolutions-SQS3']);
  assert.deepEqual(acknowledged.filter((a) => a.id.endsWith('SF2')).map((a) => a.path), ['Nag/Triage']);
  for (const a of acknowledged) {
    assert.ok(a.reason.length >= 60, `${a.path} ${a.id}: the reason is too short: ${a.reason}`);
  }
  // SF1 (log ALL) is waived for the triage, sweep and scan machines alone, so a finding on the
  // enforcement machine still fails; and not for the triage machine when it logs ALL.
  assert.deepEqual(acknowledged.filter((a) => a.id.endsWith('SF1')).map((a) => a.path).sort(),
    ['Nag/ScanMachine', 'Nag/SweepMachine', 'Nag/Triage']);
  assert.deepEqual(nagged({ triageLogLevel: 'ALL' }).filter((a) => a.id.endsWith('SF1')).map((a) => a.path).sort(),
    ['Nag/ScanMachine', 'Nag/SweepMachine']);
});

test('the state machines come from the files, every placeholder filled, logged, and traced but for the triage', () => {
  const t = template();
  const machines = ofType(t, 'AWS::StepFunctions::StateMachine');
  const files: Record<string, [string, string]> = {
    Triage: ['triage', 'EXPRESS'], Enforcement: ['enforcement', 'STANDARD'], SweepMachine: ['sweep', 'STANDARD'],
    ScanMachine: ['scan', 'STANDARD'],
  };
  const idOf = (logical: string) => logical.replace(/[0-9A-F]{8}$/, '');
  assert.deepEqual(machines.map(([id]) => idOf(id)).sort(), Object.keys(files).sort());
  for (const [id, machine] of machines) {
    const [file, type] = files[idOf(id)];
    assert.equal(machine.Properties.StateMachineType, type, id);
    const definition = readFileSync(path.join(ROOT, 'statemachine', `${file}.asl.json`), 'utf8');
    assert.equal(render(machine.Properties.DefinitionString), definition, `${id} is not ${file}.asl.json`);
    const placeholders = new Set((definition.match(/\$\{[A-Za-z]+\}/g) ?? []).map((p) => p.slice(2, -1)));
    assert.ok(placeholders.size >= 1, `${id}: the definition's placeholders were not found`);
    assert.deepEqual(new Set(Object.keys(machine.Properties.DefinitionSubstitutions)), placeholders);
    // Traced, but for the triage, which runs for every call (X-Ray would be a seventh of an
    // allowed event's cost at 10 calls a second).
    assert.deepEqual(machine.Properties.TracingConfiguration, { Enabled: idOf(id) !== 'Triage' }, id);
  }
  // The enforcement machine logs every state; its input carries task tokens, so without the data.
  // The sweep machine runs every few minutes with a child per place: failures only.
  const logging = (id: string) => machines.find(([m]) => idOf(m) === id)![1].Properties.LoggingConfiguration;
  assert.deepEqual([logging('Enforcement').Level, logging('Enforcement').IncludeExecutionData], ['ALL', false]);
  assert.deepEqual([logging('SweepMachine').Level, logging('SweepMachine').IncludeExecutionData], ['ERROR', false]);
  assert.deepEqual([logging('ScanMachine').Level, logging('ScanMachine').IncludeExecutionData], ['ERROR', false]);
  // The triage machine runs for every call: by default it logs failed executions, with their data.
  t.hasResourceProperties('AWS::StepFunctions::StateMachine', {
    StateMachineType: 'EXPRESS',
    LoggingConfiguration: Match.objectLike({ Level: 'ERROR', IncludeExecutionData: true }),
  });
  template({ triageLogLevel: 'ALL' }).hasResourceProperties('AWS::StepFunctions::StateMachine', {
    StateMachineType: 'EXPRESS',
    LoggingConfiguration: Match.objectLike({ Level: 'ALL', IncludeExecutionData: true }),
  });
});

test("the rule's pattern is the file's, delivered to the triage with retries and a dead-letter queue", () => {
  const pattern = JSON.parse(readFileSync(path.join(ROOT, 'statemachine', 'event-pattern.json'), 'utf8'));
  const t = template();
  const [[, rule]] = ofType(t, 'AWS::Events::Rule').filter(([id]) => id.startsWith('SageMakerCalls'));
  assert.deepEqual(rule.Properties.EventPattern, pattern);
  // The presigned URL calls may be recorded as read-only: the rule receives those too.
  assert.equal(rule.Properties.State, 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS');
  const [target] = rule.Properties.Targets;
  assert.equal(render(target.Arn), 'Triage');
  assert.equal(render(target.DeadLetterConfig.Arn), 'DeadLetters.Arn');
  assert.deepEqual(target.RetryPolicy, { MaximumEventAgeInSeconds: 86400, MaximumRetryAttempts: 185 });
  t.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true, MessageRetentionPeriod: 1209600 });
});

test('the tables keep their data, encrypted, with the indexes guardctl and approve query', () => {
  const t = template();
  const tables = ofType(t, 'AWS::DynamoDB::GlobalTable');
  assert.equal(tables.length, 3);
  for (const [id, table] of tables) {
    assert.equal(table.DeletionPolicy, 'Retain', id);
    assert.deepEqual(table.Properties.SSESpecification, { SSEEnabled: true, SSEType: 'KMS' }, id);
    for (const replica of table.Properties.Replicas) {
      assert.equal(replica.DeletionProtectionEnabled, true, id);
      assert.equal(replica.PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled, true, id);
    }
  }
  t.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
    KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
  });
  // The records: every version of a name in one partition, one item per call.
  t.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
    KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }, { AttributeName: 'sk', KeyType: 'RANGE' }],
  });
  t.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
    KeySchema: [{ AttributeName: 'eventId', KeyType: 'HASH' }],
    GlobalSecondaryIndexes: [
      // Every audit item is in these two: keys only, so each index write is one unit.
      Match.objectLike({ IndexName: 'byResource', KeySchema: [
        { AttributeName: 'resourceKey', KeyType: 'HASH' }, { AttributeName: 'decidedAt', KeyType: 'RANGE' }],
      Projection: { ProjectionType: 'KEYS_ONLY' } }),
      Match.objectLike({ IndexName: 'byState', KeySchema: [
        { AttributeName: 'state', KeyType: 'HASH' }, { AttributeName: 'decidedAt', KeyType: 'RANGE' }],
      Projection: { ProjectionType: 'KEYS_ONLY' } }),
      // Sparse: the items that owe an alert.
      Match.objectLike({ IndexName: 'byAlertOwed', KeySchema: [
        { AttributeName: 'alertOwed', KeyType: 'HASH' }, { AttributeName: 'decidedAt', KeyType: 'RANGE' }] }),
      // Sparse: the ledger of events seen and not settled.
      Match.objectLike({ IndexName: 'byUndecided', KeySchema: [{ AttributeName: 'undecided', KeyType: 'HASH' }] }),
    ],
  });
});

test('each function: arm64 provided.al2023, sized, JSON logs into its own retained log group', () => {
  const t = template({ logRetentionDays: 30 });
  const fns = ofType(t, 'AWS::Lambda::Function').filter(([, f]) => f.Properties.Runtime === 'provided.al2023');
  assert.deepEqual(fns.map(([, f]) => f.Properties.Description).sort(),
    FUNCTIONS.map((n) => `Model Guard ${n}`).sort());
  const groups = Object.fromEntries(ofType(t, 'AWS::Logs::LogGroup'));
  for (const [id, f] of fns) {
    assert.deepEqual(f.Properties.Architectures, ['arm64'], id);
    assert.equal(f.Properties.MemorySize, 128, id);
    // The scan has Lambda's longest timeout: a large account's scan takes minutes (bench/REPORT.md).
    const longest = f.Properties.Description === 'Model Guard scan' ? 900 : 300;
    assert.ok(f.Properties.Timeout >= 10 && f.Properties.Timeout <= longest, id);
    assert.equal(f.Properties.LoggingConfig.LogFormat, 'JSON', id);
    // Lambda's start and report records are left out for the functions every call runs.
    const perCall = ['Model Guard parse-event', 'Model Guard record', 'Model Guard evaluate'].includes(f.Properties.Description);
    assert.equal(f.Properties.LoggingConfig.SystemLogLevel, perCall ? 'WARN' : 'INFO', id);
    assert.equal(f.Properties.LoggingConfig.ApplicationLogLevel, 'INFO', id);
    const group = Object.entries(groups).find(([gid]) => gid.startsWith(render(f.Properties.LoggingConfig.LogGroup)));
    assert.ok(group, `${id} has no log group of its own`);
    assert.equal((group[1] as any).Properties.RetentionInDays, 30, id);
    assert.equal((group[1] as any).DeletionPolicy, 'Retain', id);
  }
  // enforce waits up to 30 s for inference components, after its SDK calls.
  t.hasResourceProperties('AWS::Lambda::Function', { Description: 'Model Guard enforce', Timeout: 90 });
  t.hasResourceProperties('AWS::Lambda::Function', {
    Description: 'Model Guard evaluate',
    Environment: { Variables: Match.objectLike({
      DEFAULT_GRACE_SECONDS: '900', DEFAULT_APPROVERS: '[]', UNRESOLVED_ACTION: 'enforce' }) },
  });
  // Evaluate knows the enforce function's role: an UpdateEndpoint it made may be its rollback.
  const enforceRole = Object.keys(t.findResources('AWS::IAM::Role')).find((id) => id.startsWith('EnforceRole'));
  assert.ok(enforceRole);
  for (const name of ['evaluate', 'scan']) {
    t.hasResourceProperties('AWS::Lambda::Function', {
      Description: `Model Guard ${name}`,
      Environment: { Variables: Match.objectLike({ ENFORCE_ROLE_ARN: { 'Fn::GetAtt': [enforceRole, 'Arn'] } }) },
    });
  }
  for (const name of ['record', 'evaluate', 'sweep']) {
    t.hasResourceProperties('AWS::Lambda::Function', {
      Description: `Model Guard ${name}`,
      Environment: { Variables: Match.objectLike({ RECORDS_TABLE: Match.anyValue() }) },
    });
  }
});

test('settings reach the functions, the topic and the approval URL', () => {
  const t = template({
    defaultGraceSeconds: 60,
    defaultApprovers: ['arn:aws:iam::*:role/SecurityOps*'],
    notificationEmails: ['ops@example.com', 'ml@example.com'],
    guardAlertEmails: ['sec@example.com'],
    approvalInvokers: ['arn:aws:iam::123456789012:role/Approver'],
    unresolvedAction: 'notify',
    busyRetrySeconds: 5,
  });
  t.hasResourceProperties('AWS::Lambda::Function', {
    Description: 'Model Guard claim',
    Environment: { Variables: Match.objectLike({ BUSY_RETRY_SECONDS: '5' }) },
  });
  t.hasResourceProperties('AWS::Lambda::Function', {
    Description: 'Model Guard evaluate',
    Environment: { Variables: Match.objectLike({
      DEFAULT_GRACE_SECONDS: '60', DEFAULT_APPROVERS: '["arn:aws:iam::*:role/SecurityOps*"]',
      UNRESOLVED_ACTION: 'notify' }) },
  });
  const subscribers = ofType(t, 'AWS::SNS::Subscription')
    .map(([, s]) => [render(s.Properties.TopicArn), s.Properties.Protocol, render(s.Properties.Endpoint)]);
  // The e-mails given; and the watch function, which keeps every guard-topic message.
  assert.deepEqual(subscribers.sort(), [['Alerts', 'email', 'ml@example.com'], ['Alerts', 'email', 'ops@example.com'],
    ['GuardAlerts', 'email', 'sec@example.com'], ['GuardAlerts', 'lambda', 'Watch.Arn']]);
  const permissions = ofType(t, 'AWS::Lambda::Permission').map(([, p]) => p.Properties)
    .filter((p) => render(p.FunctionName) === 'Approve');
  assert.deepEqual(permissions.map((p) => [p.Action, p.Principal, p.FunctionUrlAuthType ?? null, p.InvokedViaFunctionUrl ?? null]).sort(), [
    ['lambda:InvokeFunction', 'arn:aws:iam::123456789012:role/Approver', null, true],
    ['lambda:InvokeFunctionUrl', 'arn:aws:iam::123456789012:role/Approver', 'AWS_IAM', null],
  ]);
});

test('the approval URL is SigV4-only and, by default, open to the account principals IAM allows', () => {
  const t = template();
  const urls = ofType(t, 'AWS::Lambda::Url');
  assert.equal(urls.length, 1);
  assert.equal(urls[0][1].Properties.AuthType, 'AWS_IAM');
  assert.equal(render(urls[0][1].Properties.TargetFunctionArn), 'Approve.Arn');
  const permissions = ofType(t, 'AWS::Lambda::Permission').map(([, p]) => p.Properties);
  // The approval function: the account's principals, through the URL. The sweep: its schedule, and
  // the end of an enforcement execution (to restart one stopped from outside). The health check:
  // its schedule. The scan: none (its machine's role and operators invoke it with their IAM
  // rights). The watch function: the guard topic.
  assert.deepEqual(permissions.map((p) => [render(p.FunctionName), p.Action, render(p.Principal),
    p.SourceArn ? render(p.SourceArn) : null]).sort(), [
    ['Approve', 'lambda:InvokeFunction', 'arn:${Partition}:iam::${AccountId}:root', null],
    ['Approve', 'lambda:InvokeFunctionUrl', 'arn:${Partition}:iam::${AccountId}:root', null],
    ['Health.Arn', 'lambda:InvokeFunction', 'events.amazonaws.com', 'HealthSchedule.Arn'],
    ['Sweep.Arn', 'lambda:InvokeFunction', 'events.amazonaws.com', 'EnforcementEnded.Arn'],
    ['Watch.Arn', 'lambda:InvokeFunction', 'sns.amazonaws.com', 'GuardAlerts'],
  ]);
});

test('two topics, each with its own rotated key; only the guard topic takes alarms and EventBridge', () => {
  const t = template();
  const topics = ofType(t, 'AWS::SNS::Topic').map(([id, topic]) => [id.replace(/[0-9A-F]{8}$/, ''),
    render(topic.Properties.KmsMasterKeyId)]);
  assert.deepEqual(topics.sort(), [['Alerts', 'AlertsKey.Arn'], ['GuardAlerts', 'GuardAlertsKey.Arn']]);
  const keys = Object.fromEntries(ofType(t, 'AWS::KMS::Key').map(([id, key]) => [id.replace(/[0-9A-F]{8}$/, ''), key]));
  for (const id of ['AlertsKey', 'GuardAlertsKey']) assert.equal(keys[id].Properties.EnableKeyRotation, true, id);
  const services = (id: string) => keys[id].Properties.KeyPolicy.Statement
    .filter((s: any) => s.Principal.Service)
    .map((s: any) => [s.Principal.Service, s.Action]);
  // Breaking the violations topic's key or policy then silences neither the alarms nor the rule.
  assert.deepEqual(services('AlertsKey'), []);
  assert.deepEqual(services('GuardAlertsKey'), [
    [['cloudwatch.amazonaws.com', 'events.amazonaws.com'], ['kms:Decrypt', 'kms:GenerateDataKey*']],
  ]);
  // Which alarms and rules may publish is the topic policy's: this account's alarms, and the one
  // rule; no other EventBridge rule, and only over TLS.
  const policies = Object.fromEntries(ofType(t, 'AWS::SNS::TopicPolicy').map(([, p]) => [
    render(p.Properties.Topics[0]),
    p.Properties.PolicyDocument.Statement.map((s: any) => {
      const [[operator, condition]] = Object.entries<any>(s.Condition);
      const [[key, value]] = Object.entries<any>(condition);
      return `${s.Effect} ${s.Principal === '*' ? '*' : s.Principal.Service} ${s.Action} if ${operator} ${key} ${list(value).map(render).join(',')}`;
    }),
  ]));
  assert.deepEqual(policies, {
    Alerts: ['Deny * sns:Publish if Bool aws:SecureTransport false'],
    GuardAlerts: [
      'Deny * sns:Publish if Bool aws:SecureTransport false',
      // The guard's own alarms, by their ARNs' names.
      'Allow cloudwatch.amazonaws.com sns:Publish if ArnLike aws:SourceArn '
        + 'arn:${Partition}:cloudwatch:${Region}:${AccountId}:alarm:Test-*',
      `Allow events.amazonaws.com sns:Publish if ArnEquals aws:SourceArn ${GUARD_RULES}`,
    ],
  });
  // Each function is told the topics it publishes to.
  for (const [name, variables] of [['notify', ['TOPIC_ARN', 'GUARD_TOPIC_ARN']], ['sweep', ['TOPIC_ARN', 'GUARD_TOPIC_ARN']],
    ['claim', ['TOPIC_ARN', 'GUARD_TOPIC_ARN']], ['approve', ['GUARD_TOPIC_ARN']]] as const) {
    const [[, f]] = ofType(t, 'AWS::Lambda::Function').filter(([, f]) => f.Properties.Description === `Model Guard ${name}`);
    const given = Object.keys(f.Properties.Environment.Variables).filter((v) => v.endsWith('TOPIC_ARN')).sort();
    assert.deepEqual(given, [...variables].sort(), name);
  }
});

test('alarms on failed executions, dead letters and function errors, all to the guard topic', () => {
  const t = template();
  const alarms = ofType(t, 'AWS::CloudWatch::Alarm');
  const ids = alarms.map(([id]) => id.replace(/[0-9A-F]{8}$/, '')).sort();
  assert.deepEqual(ids, [
    'ApproveErrors', 'ClaimErrors', 'DeadLettersWaiting', 'EnforceErrors', 'EnforcementExecutionsFailed', 'EvaluateErrors',
    'EventsMissedByEventBridge', 'HealthCheckFailing', 'HealthErrors', 'NotifyErrors', 'ParseEventErrors', 'RecordErrors', 'ScanErrors',
    'ScanExecutionsFailed', 'SweepErrors', 'SweepExecutionsFailed', 'TriageExecutionsFailed', 'UndecidedEvents', 'UnprocessableRecords', 'WatchErrors']);
  for (const [id, alarm] of alarms) {
    assert.deepEqual(alarm.Properties.AlarmActions.map(render), ['GuardAlerts'], id);
    assert.equal(alarm.Properties.Threshold, 1, id);
  }
  const [[, failed]] = alarms.filter(([id]) => id.startsWith('TriageExecutionsFailed'));
  assert.deepEqual(failed.Properties.Metrics.filter((m: any) => m.MetricStat).map((m: any) => m.MetricStat.Metric.MetricName),
    ['ExecutionsFailed', 'ExecutionsTimedOut', 'ExecutionsAborted']);
  // The sweep's count of undecided events, from its chores' "sweep done" line, and of
  // unprocessable records, from that line and each place's "looked in a place".
  const filters = Object.fromEntries(ofType(t, 'AWS::Logs::MetricFilter').map(([, f]) => [
    f.Properties.MetricTransformations[0].MetricName, f.Properties]));
  for (const [metric, field] of [['UndecidedEvents', 'undecided'], ['UnprocessableRecords', 'unprocessable']]) {
    assert.equal(render(filters[metric].LogGroupName), 'SweepLogs', metric);
    assert.equal(filters[metric].FilterPattern, field === 'undecided' ? '{ $.message = "sweep done" }'
      : '{ ($.message = "sweep done") || ($.message = "looked in a place") }', metric);
    assert.equal(filters[metric].MetricTransformations[0].MetricValue, `$.${field}`, metric);
    const [[, alarm]] = alarms.filter(([id]) => id.startsWith(metric));
    assert.equal(alarm.Properties.MetricName, metric);
    assert.equal(alarm.Properties.Namespace, 'ModelGuard');
  }
  // A failed enforcement is also named in its own alert.
  const [[, ended]] = ofType(t, 'AWS::Events::Rule').filter(([id]) => id.startsWith('EnforcementEnded'));
  assert.deepEqual(ended.Properties.EventPattern.detail.status, ['FAILED', 'TIMED_OUT', 'ABORTED']);
  assert.equal(render(ended.Properties.Targets[0].Arn), 'GuardAlerts');
});

test('a trail of write management events, the policy table\'s writes and its own files\' readers', () => {
  const t = template();
  const [[, trail]] = ofType(t, 'AWS::CloudTrail::Trail');
  assert.equal(trail.Properties.IsLogging, true);
  assert.equal(trail.Properties.EnableLogFileValidation, true);
  assert.equal(trail.Properties.IsMultiRegionTrail, false);
  // IAM's events (global) reach EventBridge in us-east-1, from a trail that includes them.
  assert.equal(trail.Properties.IncludeGlobalServiceEvents, true);
  assert.equal(trail.Properties.EventSelectors, undefined, 'basic and advanced selectors exclude each other');
  const selectors = trail.Properties.AdvancedEventSelectors.map((sel: any) => sel.FieldSelectors.map((f: any) => {
    const [op, values] = Object.entries<any>(f).find(([k]) => k !== 'Field')!;
    return `${f.Field} ${op} ${values.map(render).join(',')}`;
  }));
  assert.deepEqual(selectors, [
    ['eventCategory Equals Management', 'readOnly Equals false'],
    // Who wrote the policy table: its data events, writes only (the functions only Scan it).
    ['eventCategory Equals Data', 'resources.type Equals AWS::DynamoDB::Table', 'readOnly Equals false',
      'resources.ARN Equals Policies.Arn'],
    // Who read or deleted the log files (what S1's server access logs would say); not PutObject,
    // CloudTrail's own deliveries, which would log themselves without end.
    ['eventCategory Equals Data', 'resources.type Equals AWS::S3::Object', 'resources.ARN StartsWith TrailBucket.Arn/',
      'eventName NotEquals PutObject'],
  ]);
  t.hasResourceProperties('AWS::S3::Bucket', {
    PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
  });
  const without = template({ createTrail: false });
  without.resourceCountIs('AWS::CloudTrail::Trail', 0);
  without.resourceCountIs('AWS::S3::Bucket', 0);
});

test('the default policy and the enforcement setting are seeded once, never overwriting an edit', () => {
  const seeded = (props: ModelGuardProps = {}) => ofType(template(props), 'Custom::AWS')
    .map(([id, seed]) => [id.replace(/[0-9A-F]{8}$/, ''), seed] as [string, any]);
  const seeds = (props: ModelGuardProps = {}) => Object.fromEntries(seeded(props).map(([id, seed]) => [id, seed.Properties]));
  const create = (seed: any) => JSON.parse(render(seed.Create));
  const all = seeds();
  assert.deepEqual(Object.keys(all).sort(), ['SeedDefaultPolicyOnce', 'SeedEnforcementSettingOnce']);
  for (const seed of Object.values(all)) {
    assert.equal(seed.Update, undefined);
    assert.equal(seed.Delete, undefined);
  }
  const policy = create(all.SeedDefaultPolicyOnce);
  assert.equal(policy.action, 'putItem');
  assert.equal(policy.parameters.ConditionExpression, 'attribute_not_exists(pk)');
  assert.equal(policy.ignoreErrorCodesMatching, 'ConditionalCheckFailedException');
  assert.deepEqual(policy.parameters.Item, {
    pk: { S: 'default' }, principals: { L: [] }, mode: { S: 'notify' },
    description: { S: 'Seeded by the stack: requests no other binding covers are reported, not stopped. Edit to enforce.' },
  });
  // The setting: written only where it is not, into a table without a `default` item (an
  // upgrade of a stack that guards already keeps enforcing), before the default item is seeded.
  const setting = create(all.SeedEnforcementSettingOnce);
  assert.equal(setting.action, 'transactWriteItems');
  assert.equal(setting.ignoreErrorCodesMatching, 'TransactionCanceledException');
  const [check, put] = setting.parameters.TransactItems;
  assert.deepEqual(check.ConditionCheck.Key, { pk: { S: 'default' } });
  assert.equal(check.ConditionCheck.ConditionExpression, 'attribute_not_exists(pk)');
  assert.equal(put.Put.ConditionExpression, 'attribute_not_exists(pk)');
  const [, defaultSeed] = seeded().find(([id]) => id === 'SeedDefaultPolicyOnce')!;
  const [settingId] = ofType(template(), 'Custom::AWS').find(([id]) => id.startsWith('SeedEnforcementSettingOnce'))!;
  assert.ok((defaultSeed.DependsOn ?? []).includes(settingId), JSON.stringify(defaultSeed.DependsOn));
  // A first deploy observes (README "First day"); the setting chooses enforce from the start.
  const mode = (props: ModelGuardProps) =>
    create(seeds(props).SeedEnforcementSettingOnce).parameters.TransactItems[1].Put.Item.mode.S;
  assert.equal(mode({}), 'observe');
  assert.equal(mode({ enforcement: 'enforce' }), 'enforce');
  assert.deepEqual(Object.keys(seeds({ seedDefaultPolicy: false })), ['SeedEnforcementSettingOnce']);
  // The seed function has a name the SCP can deny invoking.
  const names = ofType(template(), 'AWS::Lambda::Function').map(([, f]) => f.Properties.FunctionName);
  assert.ok(names.includes('Test-seed'), JSON.stringify(names));
});

test('the drift scan machine runs on a schedule, each place in a child; the function runs as many scans as it does', () => {
  const t = template({ driftScanIntervalHours: 12 });
  const [[, rule]] = ofType(t, 'AWS::Events::Rule').filter(([id]) => id.startsWith('DriftScanSchedule'));
  assert.equal(rule.Properties.ScheduleExpression, 'rate(12 hours)');
  assert.equal(render(rule.Properties.Targets[0].Arn), 'ScanMachine');
  const definition = JSON.parse(readFileSync(path.join(ROOT, 'statemachine', 'scan.asl.json'), 'utf8'));
  const map = definition.States.ScanEachPlace;
  // A scan may run the function's 15 minutes: longer than an Express child may.
  assert.deepEqual(map.ItemProcessor.ProcessorConfig, { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' });
  const [, scan] = ofType(t, 'AWS::Lambda::Function').find(([, f]) => f.Properties.FunctionName === 'Test-scan')!;
  assert.equal(scan.Properties.Timeout, 900);
  // As many scans at once as the Map runs: a child is never throttled for want of concurrency.
  assert.equal(scan.Properties.ReservedConcurrentExecutions, map.MaxConcurrency);
  assert.equal(scan.Properties.Environment.Variables.MEMBER_ACCOUNTS, '', 'a single-account guard has no members');
  const configs = ofType(t, 'AWS::Lambda::EventInvokeConfig')
    .filter(([, c]) => JSON.stringify(c.Properties.FunctionName).includes('Scan'));
  assert.equal(configs.length, 1);
  assert.equal(configs[0][1].Properties.MaximumRetryAttempts, 0);
});

test('the sweep machine runs on a schedule, each place in a child execution of its distributed Map', () => {
  const t = template({ sweepIntervalMinutes: 30 });
  const [[, rule]] = ofType(t, 'AWS::Events::Rule').filter(([id]) => id.startsWith('SweepSchedule'));
  assert.equal(rule.Properties.ScheduleExpression, 'rate(30 minutes)');
  assert.equal(render(rule.Properties.Targets[0].Arn), 'SweepMachine');
  const sweepEnv = ofType(t, 'AWS::Lambda::Function')
    .find(([, f]) => f.Properties.Description === 'Model Guard sweep')![1].Properties.Environment.Variables;
  assert.equal(render(sweepEnv.TRIAGE_STATE_MACHINE_ARN), 'Triage');
  assert.equal(render(sweepEnv.DECISIONS_TABLE), 'Decisions');
  assert.equal(render(sweepEnv.RECORDS_TABLE), 'Records');
  assert.equal(sweepEnv.MEMBER_ACCOUNTS, '', 'a single-account guard has no members');
  const [[, machine]] = ofType(t, 'AWS::StepFunctions::StateMachine').filter(([id]) => id.startsWith('SweepMachine'));
  assert.equal(machine.Properties.StateMachineType, 'STANDARD');
  const definition = JSON.parse(readFileSync(path.join(__dirname, '../../statemachine/sweep.asl.json'), 'utf8'));
  const map = definition.States.LookInEachPlace;
  // Express children: one per place, a few seconds each; at an organization's scale a Standard
  // child would cost 25 times as much per state transition.
  assert.deepEqual(map.ItemProcessor.ProcessorConfig, { Mode: 'DISTRIBUTED', ExecutionType: 'EXPRESS' });
  // Under the five minutes an Express child may run.
  const sweepFn = ofType(t, 'AWS::Lambda::Function').find(([, f]) => f.Properties.Description === 'Model Guard sweep')![1];
  assert.ok(sweepFn.Properties.Timeout < 300, `${sweepFn.Properties.Timeout}`);
});

test('outputs name what guardctl and operators need', () => {
  const outputs = template().toJSON().Outputs;
  assert.deepEqual(Object.keys(outputs).sort(), [
    'AlertTopicArn', 'ApprovalUrl', 'DecisionsTableName', 'EnforcementStateMachineArn', 'GuardAlertTopicArn',
    'HealthTargets', 'PolicyTableName', 'RecordsTableName', 'ScanFunctionName', 'TriageStateMachineArn']);
});

// A key policy's or resource policy's Deny statements, as text: "Deny actions unless principal in
// roles [and condition]".
function denials(document: any): string[] {
  return document.Statement.filter((st: any) => st.Effect === 'Deny').map((st: any) => {
    const arns = list(st.Condition.ArnNotEquals['aws:PrincipalArn']).map(render).sort().join(' ');
    const service = st.Condition.Bool ? ' unless an AWS service' : '';
    return `${st.Sid}: Deny ${list(st.Action).join(',')} to ${render(st.Principal.AWS ?? st.Principal)} but ${arns}${service}`;
  });
}

test("the task token key and the enforcement key may be used by the guard's roles only", () => {
  const t = template();
  const keys = Object.fromEntries(ofType(t, 'AWS::KMS::Key').map(([id, k]) => [id.replace(/[0-9A-F]{8}$/, ''), k]));
  assert.deepEqual(denials(keys.TaskTokenKey.Properties.KeyPolicy), [
    'OnlyNotifySealsTaskTokens: Deny kms:Encrypt to * but NotifyRole.Arn unless an AWS service',
    'OnlyApproveOpensTaskTokens: Deny kms:Decrypt to * but ApproveRole.Arn unless an AWS service',
  ]);
  assert.deepEqual(denials(keys.EnforcementStateKey.Properties.KeyPolicy), [
    'OnlyTheGuardReadsEnforcements: Deny kms:Decrypt to * but EnforcementRole.Arn SweepRole.Arn '
      + 'arn:${Partition}:iam::${AccountId}:role/cdk-hnb659fds-cfn-exec-role-${AccountId}-${Region} unless an AWS service',
  ]);
  for (const key of Object.values<any>(keys)) assert.equal(key.Properties.EnableKeyRotation, true);
  // The enforcement machine (whose history holds AwaitApproval's token) is encrypted with it;
  // the triage machine, which holds none, keeps the AWS-owned key.
  const machines = Object.fromEntries(ofType(t, 'AWS::StepFunctions::StateMachine')
    .map(([id, m]) => [id.replace(/[0-9A-F]{8}$/, ''), m.Properties]));
  assert.deepEqual(machines.Enforcement.EncryptionConfiguration.Type, 'CUSTOMER_MANAGED_KMS_KEY');
  assert.equal(render(machines.Enforcement.EncryptionConfiguration.KmsKeyId), 'EnforcementStateKey.Arn');
  assert.equal(machines.Triage.EncryptionConfiguration, undefined);
  // Notify seals and approve opens with the key the stack made.
  const env = (name: string) => ofType(t, 'AWS::Lambda::Function')
    .find(([id]) => id.startsWith(name))![1].Properties.Environment.Variables;
  assert.equal(render(env('Notify').TOKEN_KEY_ID), 'TaskTokenKey.Arn');
  assert.equal(render(env('Approve').TOKEN_KEY_ID), 'TaskTokenKey.Arn');
});

test("only the guard's roles write the decisions table; only they and the administrators the policies", () => {
  const tables = (props: ModelGuardProps) => Object.fromEntries(ofType(template(props), 'AWS::DynamoDB::GlobalTable')
    .map(([id, table]) => [id.replace(/[0-9A-F]{8}$/, ''), table.Properties.Replicas[0].ResourcePolicy?.PolicyDocument]));
  const writes = 'dynamodb:PutItem,dynamodb:UpdateItem,dynamodb:DeleteItem,dynamodb:BatchWriteItem,'
    + 'dynamodb:PartiQLInsert,dynamodb:PartiQLUpdate,dynamodb:PartiQLDelete';
  const admin = 'arn:aws:iam::111122223333:role/PolicyAdmin';
  const t = tables({ policyAdministrators: [admin] });
  assert.deepEqual(denials(t.Decisions), [`OnlyTheGuardWritesDecisions: Deny ${writes} to * but `
    + 'ApproveRole.Arn ClaimRole.Arn EnforceRole.Arn EvaluateRole.Arn HealthRole.Arn NotifyRole.Arn ScanRole.Arn '
    + 'SweepRole.Arn TriageRole.Arn WatchRole.Arn']);
  assert.deepEqual(denials(t.Policies), [`OnlyAdministratorsWritePolicies: Deny ${writes} to * but `
    + `SeedDefaultPolicyRole.Arn ${admin}`]);
  assert.equal(t.Records, undefined, 'records are written only by record, and hold no decision');
  // No administrators: nobody but the seed writes policies (fail closed), and the synth says so.
  assert.deepEqual(denials(tables({}).Policies), [`OnlyAdministratorsWritePolicies: Deny ${writes} to * but `
    + 'SeedDefaultPolicyRole.Arn']);
});

test('termination protection is on: deleting the stack is a deliberate act', () => {
  const a = app();
  assert.equal(new ModelGuardStack(a, 'Protected').terminationProtection, true);
  // The cloud assembly carries it to `cdk deploy`.
  const artifact = a.synth().getStackByName('Protected');
  assert.equal(artifact.terminationProtection, true);
  // A user may still choose otherwise in code.
  assert.equal(new ModelGuardStack(app(), 'Unprotected', { terminationProtection: false }).terminationProtection, false);
});

// `cdk destroy` keeps what is retained (tables, log groups, the trail bucket, keys); `cdk deploy`
// under the same stack name must then find none of their names taken. A retained resource is
// either unnamed (CloudFormation generates a name) or named with this creation's stack ID.
test('what cdk destroy keeps never holds a name the next cdk deploy needs', () => {
  const t = template();
  const nameProperties = ['LogGroupName', 'TableName', 'BucketName', 'QueueName', 'TopicName', 'KeyAlias'];
  let named = 0;
  for (const [logical, r] of Object.entries(resources(t))) {
    const kept = r.DeletionPolicy === 'Retain' || r.DeletionPolicy === 'RetainExceptOnCreate';
    if (!kept) continue;
    for (const property of nameProperties) {
      const value = r.Properties?.[property];
      if (value === undefined) continue;
      named++;
      const text = JSON.stringify(value);
      assert.ok(text.includes('{"Fn::Select":[2,{"Fn::Split":["/",{"Ref":"AWS::StackId"}]}]}'),
        `${logical}.${property} is a fixed name a later deploy would collide with: ${text}`);
    }
  }
  assert.equal(named, 4, 'the four state machines\' log groups are the named ones');
});

test('a synth warning when no one would read the alerts', () => {
  const warnings = (props: ModelGuardProps) => Annotations.fromStack(new ModelGuardStack(app(), 'Warned', props))
    .findWarning('*', Match.stringLikeRegexp('no one is subscribed')).map((w) => w.id);
  assert.deepEqual(warnings({}), ['/Warned/Alerts', '/Warned/GuardAlerts']);
  assert.deepEqual(warnings({ notificationEmails: ['ops@example.com'] }), []);
  assert.deepEqual(warnings({ notificationEmails: ['ops@example.com'], guardAlertEmails: [] }), ['/Warned/GuardAlerts']);
});

test('the stack name fits the names it starts (functions and rules: 64 characters)', () => {
  for (const bad of ['1abc', 'a'.repeat(31), 'with_underscore', '']) {
    assert.throws(() => new ModelGuardStack(app(), 'X', { stackName: bad }), /stack name/i, bad);
  }
  const t = template();
  const names = ofType(t, 'AWS::Lambda::Function').filter(([, f]) => f.Properties.Runtime === 'provided.al2023')
    .map(([, f]) => f.Properties.FunctionName).sort();
  assert.deepEqual(names, FUNCTIONS.map((f) => `Test-${f}`).sort());
  const machines = ofType(t, 'AWS::StepFunctions::StateMachine').map(([, m]) => m.Properties.StateMachineName).sort();
  assert.deepEqual(machines, ['Test-Enforcement', 'Test-Scan', 'Test-Sweep', 'Test-Triage']);
  for (const [logical, alarm] of ofType(t, 'AWS::CloudWatch::Alarm')) {
    assert.equal(alarm.Properties.AlarmName, `Test-${logical.replace(/[0-9A-F]{8}$/, '')}`);
  }
});

test('the health check: scheduled, told exactly what to check, its alarm counting silence as failure', () => {
  const t = template({ healthIntervalMinutes: 10 });
  const [[, schedule]] = ofType(t, 'AWS::Events::Rule').filter(([id]) => id.startsWith('HealthSchedule'));
  assert.equal(schedule.Properties.ScheduleExpression, 'rate(10 minutes)');
  assert.equal(render(schedule.Properties.Targets[0].Arn), 'Health.Arn');
  // HEALTH_TARGETS is the HealthTargets output guardctl status reads: one list, two readers.
  const [[, health]] = ofType(t, 'AWS::Lambda::Function').filter(([, f]) => f.Properties.Description === 'Model Guard health');
  const env = health.Properties.Environment.Variables;
  assert.deepEqual(env.HEALTH_TARGETS, t.toJSON().Outputs.HealthTargets.Value);
  const targets = JSON.parse(render(env.HEALTH_TARGETS));
  assert.deepEqual(targets.functions.sort(), FUNCTIONS.map((f) => `Test-${f}`).sort());
  const rules = Object.fromEntries(targets.rules.flatMap((r: any) => r.names.map((n: string) => [n, r.targets])));
  assert.deepEqual(rules['Test-SageMakerCalls'], ['Triage']);
  assert.deepEqual(rules['Test-SweepSchedule'], ['SweepMachine']);
  assert.deepEqual(rules['Test-DriftScanSchedule'], ['ScanMachine']);
  assert.deepEqual(rules['Test-EnforcementEnded'], ['GuardAlerts', 'Sweep.Arn']);
  assert.deepEqual(rules['Test-HealthSchedule'], ['arn:${Partition}:lambda:${Region}:${AccountId}:function:Test-health']);
  for (const id of Object.keys(readTamperRules().rules)) assert.deepEqual(rules[`Test-Tamper${id}`], ['GuardAlerts'], id);
  assert.deepEqual(targets.eventSourceMappings, ['PolicyStream']);
  assert.equal(targets.trail, 'Trail.Arn');
  assert.equal(targets.policyTableArn, 'Policies.Arn');
  assert.deepEqual(targets.topics, ['Alerts', 'GuardAlerts']);
  assert.equal(targets.sweepIntervalMinutes, 15);
  assert.equal(JSON.parse(render(template({ createTrail: false }).toJSON().Outputs.HealthTargets.Value)).trail, null);
  // Its alarm: two of three periods failing, or without data (the check switched off).
  const [[, alarm]] = ofType(t, 'AWS::CloudWatch::Alarm').filter(([id]) => id.startsWith('HealthCheckFailing'));
  assert.equal(alarm.Properties.TreatMissingData, 'breaching');
  assert.equal(alarm.Properties.EvaluationPeriods, 3);
  assert.equal(alarm.Properties.DatapointsToAlarm, 2);
  assert.equal(alarm.Properties.Period, 600);
  assert.equal(alarm.Properties.MetricName, 'HealthChecksFailed');
  const [[, filter]] = ofType(t, 'AWS::Logs::MetricFilter').filter(([, f]) =>
    f.Properties.MetricTransformations[0].MetricName === 'HealthChecksFailed');
  assert.equal(render(filter.Properties.LogGroupName), 'HealthLogs');
  assert.equal(filter.Properties.FilterPattern, '{ $.message = "health done" }');
  assert.equal(filter.Properties.MetricTransformations[0].MetricValue, '$.failed');
  // Every other alarm stays quiet without data: only a missing health check is news.
  for (const [id, a] of ofType(t, 'AWS::CloudWatch::Alarm').filter(([i]) => !i.startsWith('HealthCheckFailing'))) {
    assert.equal(a.Properties.TreatMissingData, 'notBreaching', id);
  }
});

test('the watch function reads the policy table\'s stream, one change at a time, and hears the guard topic', () => {
  const t = template();
  t.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
    KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
    StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
  });
  const [[, mapping]] = ofType(t, 'AWS::Lambda::EventSourceMapping');
  assert.equal(render(mapping.Properties.FunctionName), 'Watch');
  assert.equal(render(mapping.Properties.EventSourceArn), 'Policies.StreamArn');
  assert.equal(mapping.Properties.StartingPosition, 'TRIM_HORIZON');
  assert.equal(mapping.Properties.BatchSize, 1);
  assert.equal(mapping.Properties.BisectBatchOnFunctionError, true);
  assert.equal(render(mapping.Properties.DestinationConfig.OnFailure.Destination), 'DeadLetters.Arn');
  // Retried until the record leaves the stream: no attempt count, no age limit that would drop it.
  assert.equal(mapping.Properties.MaximumRetryAttempts, undefined);
  assert.equal(mapping.Properties.MaximumRecordAgeInSeconds, undefined);
  const [[, watch]] = ofType(t, 'AWS::Lambda::Function').filter(([, f]) => f.Properties.Description === 'Model Guard watch');
  assert.deepEqual(Object.keys(watch.Properties.Environment.Variables).sort(), ['DECISIONS_TABLE', 'GUARD_TOPIC_ARN']);
});

test('a chat channel shows both topics, and its role and guardrail allow next to nothing', () => {
  assert.equal(ofType(template(), 'AWS::Chatbot::SlackChannelConfiguration').length, 0, 'none unless set');
  const slack = template({ chatChannel: { slack: { workspaceId: 'T07EA123LEP', channelId: 'C07EZ1ABC23' } } });
  const [[, channel]] = ofType(slack, 'AWS::Chatbot::SlackChannelConfiguration');
  assert.deepEqual(
    [channel.Properties.SlackWorkspaceId, channel.Properties.SlackChannelId, channel.Properties.ConfigurationName],
    ['T07EA123LEP', 'C07EZ1ABC23', 'Test-Alerts']);
  assert.deepEqual(channel.Properties.SnsTopicArns.map(render).sort(), ['Alerts', 'GuardAlerts']);
  assert.equal(channel.Properties.UserRoleRequired, false);
  // Its role may do nothing; its guardrail (without one, AWS applies AdministratorAccess) lets a
  // member read the guard's alarms and nothing else.
  const roles = ofType(slack, 'AWS::IAM::Role').filter(([id]) => id.startsWith('ChatRole'));
  assert.equal(roles.length, 1);
  assert.equal(roles[0][1].Properties.Policies, undefined);
  assert.equal(roles[0][1].Properties.ManagedPolicyArns, undefined);
  assert.ok(!ofType(slack, 'AWS::IAM::Policy').some(([, p]) =>
    JSON.stringify(p.Properties.Roles).includes('ChatRole')), 'no policy on the chat role');
  const [[, guardrail]] = ofType(slack, 'AWS::IAM::ManagedPolicy').filter(([id]) => id.startsWith('ChatGuardrail'));
  assert.deepEqual(guardrail.Properties.PolicyDocument.Statement.map((st: any) =>
    `${st.Effect} ${list(st.Action).join(',')} on ${render(st.Resource)}`),
  ['Allow cloudwatch:DescribeAlarms on arn:${Partition}:cloudwatch:${Region}:${AccountId}:alarm:Test-*']);
  assert.deepEqual(channel.Properties.GuardrailPolicies.map(render), ['ChatGuardrail']);
  // cdk-nag passes a stack with a channel (its acknowledgements carry reasons).
  const chat = nagged({ chatChannel: { slack: { workspaceId: 'T07EA123LEP', channelId: 'C07EZ1ABC23' } } })
    .filter((a) => a.path.includes('Chat'));
  assert.ok(chat.every((a) => a.reason.length >= 60), JSON.stringify(chat));
  const teams = template({ chatChannel: { teams: { teamId: '9a1b2c3d-0000-4000-8000-000000000001',
    tenantId: '9a1b2c3d-0000-4000-8000-000000000002', channelId: '19%3Aabc%40thread.tacv2' } } });
  const [[, teamsChannel]] = ofType(teams, 'AWS::Chatbot::MicrosoftTeamsChannelConfiguration');
  assert.equal(teamsChannel.Properties.TeamsChannelId, '19%3Aabc%40thread.tacv2');
  assert.deepEqual(teamsChannel.Properties.SnsTopicArns.map(render).sort(), ['Alerts', 'GuardAlerts']);
});

test('the dashboard shows the metrics the functions write and every alarm', () => {
  const t = template();
  const [[, board]] = ofType(t, 'AWS::CloudWatch::Dashboard');
  assert.equal(board.Properties.DashboardName, 'Test-Dashboard');
  const body = render(board.Properties.DashboardBody);
  // The names are the ones functions/core/src/metrics.rs writes.
  const core = readFileSync(path.join(ROOT, 'functions/core/src/metrics.rs'), 'utf8');
  const written = [...core.matchAll(/pub const [A-Z_]+: &str = "([A-Za-z]+)";/g)].map((m) => m[1]).sort();
  assert.deepEqual(written, ['Decisions', 'Enforcements', 'ModelGuard', 'PendingApprovals', 'RecoveredEvents',
    'TimeToEnforcement', 'TimeToVerdict']);
  for (const name of written) assert.ok(body.includes(name), `the dashboard does not show ${name}`);
  // The dimensions the records carry.
  for (const search of ['{ModelGuard,Decision,ResourceType} MetricName=\\"Decisions\\"',
    '{ModelGuard,Outcome,ResourceType} MetricName=\\"Enforcements\\"']) {
    assert.ok(body.includes(search), `${search} not in ${body.slice(0, 600)}`);
  }
  // Every alarm of the stack is on it.
  const alarms = ofType(t, 'AWS::CloudWatch::Alarm').map(([id]) => id);
  assert.ok(alarms.length >= 20);
  const missing = alarms.map((id) => id.replace(/[0-9A-F]{8}$/, '')).filter((id) => !body.includes(`"${id}.Arn"`));
  assert.deepEqual(missing, [], body.slice(body.indexOf("alarms"), body.indexOf("alarms") + 3000));
  // A lossy event path alarms: the sweep found calls EventBridge never delivered.
  const [[, missed]] = ofType(t, 'AWS::CloudWatch::Alarm').filter(([id]) => id.startsWith('EventsMissedByEventBridge'));
  assert.deepEqual([missed.Properties.Namespace, missed.Properties.MetricName, missed.Properties.Period],
    ['ModelGuard', 'RecoveredEvents', 3600]);
});
