// The SageMaker permissions the guard's functions need wherever they act: in the guard's own
// account (its functions' roles) and in each member account (the member roles, cdk/lib/members.ts).
// One list, so that a member role can do exactly what the central function does at home.
import { Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';

/** An ARN of `service`'s `resource` where the statements apply. */
export type ArnOf = (service: string, resource: string) => string;

// The job types Model Guard stops (their ARNs' resource types), in the order of the core's table.
export const JOB_TYPES = [
  'training-job', 'transform-job', 'processing-job', 'hyper-parameter-tuning-job', 'automl-job',
  'compilation-job', 'edge-packaging-job', 'labeling-job', 'inference-recommendations-job',
  'optimization-job',
];

/** What Evaluate (and the scan) describe to learn what a call deploys and under which role. */
export function describing(arn: ArnOf): iam.PolicyStatement[] {
  return [
    new iam.PolicyStatement({
      sid: 'ResolveSubjects',
      actions: ['sagemaker:DescribeEndpointConfig', 'sagemaker:DescribeModel', 'sagemaker:DescribeInferenceComponent'],
      resources: [
        arn('sagemaker', 'endpoint-config/*'),
        arn('sagemaker', 'model/*'),
        arn('sagemaker', 'inference-component/*'),
      ],
    }),
    new iam.PolicyStatement({
      // A container's model package: its group, approval and content. This account's
      // registry only; a package shared from another account is denied, so unresolved.
      sid: 'ResolvePackages',
      actions: ['sagemaker:DescribeModelPackage'],
      resources: [arn('sagemaker', 'model-package/*')],
    }),
    new iam.PolicyStatement({
      // What an event lost (requestParameters CloudTrail left out), from the resource itself;
      // and what SageMaker resolved an endpoint's image tags to (DeployedImages).
      sid: 'RecoverFromTheResource',
      actions: [
        'sagemaker:DescribeEndpoint', 'sagemaker:DescribeTrainingJob', 'sagemaker:DescribeTransformJob',
        'sagemaker:DescribeProcessingJob', 'sagemaker:DescribeHyperParameterTuningJob',
        'sagemaker:DescribeNotebookInstance', 'sagemaker:DescribeAutoMLJobV2',
        'sagemaker:DescribeCompilationJob', 'sagemaker:DescribeEdgePackagingJob',
        'sagemaker:DescribeLabelingJob', 'sagemaker:DescribeInferenceRecommendationsJob',
        'sagemaker:DescribeOptimizationJob',
      ],
      resources: [
        arn('sagemaker', 'notebook-instance/*'),
        arn('sagemaker', 'endpoint/*'),
        ...JOB_TYPES.map((type) => arn('sagemaker', `${type}/*`)),
      ],
    }),
    new iam.PolicyStatement({
      // A pipeline's role (at an execution's version); who started an execution and what its
      // steps made, to judge a step's job for that person (the children rule).
      sid: 'ResolvePipelines',
      actions: [
        'sagemaker:DescribePipeline', 'sagemaker:DescribePipelineExecution',
        'sagemaker:ListPipelineExecutionSteps',
      ],
      // `pipeline/*` covers a pipeline and its executions (`pipeline/NAME/execution/ID`).
      resources: [arn('sagemaker', 'pipeline/*')],
    }),
    new iam.PolicyStatement({
      // The notebook instances that use a changed lifecycle configuration. `*`: a List* call
      // acts on no resource, and IAM accepts no other resource for it.
      sid: 'FindLifecycleConfigUsers',
      actions: ['sagemaker:ListNotebookInstances'],
      resources: ['*'],
    }),
    new iam.PolicyStatement({
      // The AutoML job whose deployment names a violating endpoint (its describe is under the
      // jobs' statement). `*`: a List* call acts on no resource, and IAM accepts no other
      // resource for it.
      sid: 'FindAutoMLDeployers',
      actions: ['sagemaker:ListAutoMLJobs'],
      resources: ['*'],
    }),
    new iam.PolicyStatement({
      // The role a monitoring schedule's jobs run under: its inline definition's, or its named
      // definition's.
      sid: 'ResolveMonitoring',
      actions: [
        'sagemaker:DescribeMonitoringSchedule', 'sagemaker:DescribeDataQualityJobDefinition',
        'sagemaker:DescribeModelQualityJobDefinition', 'sagemaker:DescribeModelBiasJobDefinition',
        'sagemaker:DescribeModelExplainabilityJobDefinition',
      ],
      resources: [
        arn('sagemaker', 'monitoring-schedule/*'),
        arn('sagemaker', 'data-quality-job-definition/*'),
        arn('sagemaker', 'model-quality-job-definition/*'),
        arn('sagemaker', 'model-bias-job-definition/*'),
        arn('sagemaker', 'model-explainability-job-definition/*'),
      ],
    }),
    new iam.PolicyStatement({
      // The role an MLflow tracking server runs under (a start names none).
      sid: 'ResolveTrackingServers',
      actions: ['sagemaker:DescribeMlflowTrackingServer'],
      resources: [arn('sagemaker', 'mlflow-tracking-server/*')],
    }),
    new iam.PolicyStatement({
      // The roles a HyperPod cluster's instance groups run under (an event that lost them).
      sid: 'ResolveClusters',
      actions: ['sagemaker:DescribeCluster'],
      resources: [arn('sagemaker', 'cluster/*')],
    }),
    new iam.PolicyStatement({
      // The role a project's template providers re-run their stacks under (UpdateProject).
      sid: 'ResolveProjects',
      actions: ['sagemaker:DescribeProject'],
      resources: [arn('sagemaker', 'project/*')],
    }),
    new iam.PolicyStatement({
      // An experiment's role and variants, what a promotion deploys (its shadow variants), and
      // the endpoint it deploys on.
      sid: 'ResolveInferenceExperiments',
      actions: ['sagemaker:DescribeInferenceExperiment'],
      resources: [arn('sagemaker', 'inference-experiment/*')],
    }),
    new iam.PolicyStatement({
      // The role a Studio profile, space or app runs under: its own, its owner's, or its
      // domain's default.
      sid: 'ResolveStudio',
      actions: [
        'sagemaker:DescribeDomain', 'sagemaker:DescribeUserProfile', 'sagemaker:DescribeSpace',
      ],
      resources: [
        arn('sagemaker', 'domain/*'),
        arn('sagemaker', 'user-profile/*'),
        arn('sagemaker', 'space/*'),
      ],
    }),
    new iam.PolicyStatement({
      // The `sagemaker:pipeline-execution-arn` tag of what a step made, when the event did not
      // carry it: only the resource types a pipeline step makes (`children::made_by_steps`).
      sid: 'ReadStepTags',
      actions: ['sagemaker:ListTags'],
      resources: [
        arn('sagemaker', 'endpoint/*'),
        arn('sagemaker', 'inference-component/*'),
        arn('sagemaker', 'model/*'),
        arn('sagemaker', 'training-job/*'),
        arn('sagemaker', 'transform-job/*'),
        arn('sagemaker', 'processing-job/*'),
        arn('sagemaker', 'hyper-parameter-tuning-job/*'),
        arn('sagemaker', 'automl-job/*'),
      ],
    }),
  ];
}

/** What Enforce does to a violating resource: describe, stop, delete, roll back. */
export function enforcing(arn: ArnOf): iam.PolicyStatement[] {
  return [
    new iam.PolicyStatement({
      sid: 'DeleteEndpoints',
      actions: ['sagemaker:DescribeEndpoint', 'sagemaker:DeleteEndpoint'],
      resources: [arn('sagemaker', 'endpoint/*')],
    }),
    new iam.PolicyStatement({
      // A violating UpdateEndpoint is rolled back to its last allowed config, once that config
      // and its models are shown to be the ones allowed. UpdateEndpoint is authorized on the
      // endpoint and on the config it deploys.
      sid: 'RollBackEndpoints',
      actions: ['sagemaker:UpdateEndpoint', 'sagemaker:DescribeEndpointConfig'],
      resources: [arn('sagemaker', 'endpoint/*'), arn('sagemaker', 'endpoint-config/*')],
    }),
    new iam.PolicyStatement({
      // A CreateModel violation whose binding opted into enforcement (onCreateModel).
      sid: 'DeleteModels',
      actions: ['sagemaker:DescribeModel', 'sagemaker:DeleteModel'],
      resources: [arn('sagemaker', 'model/*')],
    }),
    new iam.PolicyStatement({
      sid: 'StopNotebookInstances',
      actions: ['sagemaker:DescribeNotebookInstance', 'sagemaker:StopNotebookInstance'],
      resources: [arn('sagemaker', 'notebook-instance/*')],
    }),
    new iam.PolicyStatement({
      sid: 'StopMonitoringSchedules',
      actions: ['sagemaker:DescribeMonitoringSchedule', 'sagemaker:StopMonitoringSchedule'],
      resources: [arn('sagemaker', 'monitoring-schedule/*')],
    }),
    new iam.PolicyStatement({
      sid: 'StopTrackingServers',
      actions: ['sagemaker:DescribeMlflowTrackingServer', 'sagemaker:StopMlflowTrackingServer'],
      resources: [arn('sagemaker', 'mlflow-tracking-server/*')],
    }),
    new iam.PolicyStatement({
      sid: 'DeleteClusters',
      actions: ['sagemaker:DescribeCluster', 'sagemaker:DeleteCluster'],
      resources: [arn('sagemaker', 'cluster/*')],
    }),
    new iam.PolicyStatement({
      // Stop an experiment; a promotion's endpoint (which its describe names) is deleted under
      // the endpoints' statement.
      sid: 'StopInferenceExperiments',
      actions: ['sagemaker:DescribeInferenceExperiment', 'sagemaker:StopInferenceExperiment'],
      resources: [arn('sagemaker', 'inference-experiment/*')],
    }),
    new iam.PolicyStatement({
      sid: 'DeleteStudioApps',
      actions: ['sagemaker:DescribeApp', 'sagemaker:DeleteApp'],
      resources: [arn('sagemaker', 'app/*')],
    }),
    new iam.PolicyStatement({
      sid: 'StopPipelineExecutions',
      actions: ['sagemaker:DescribePipelineExecution', 'sagemaker:StopPipelineExecution'],
      resources: [arn('sagemaker', 'pipeline/*')],
    }),
    new iam.PolicyStatement({
      // UpdateInferenceComponent: a violating update is rolled back to the last allowed
      // specification (its model is checked with DescribeModel, granted in DeleteModels).
      sid: 'DeleteOrRollBackInferenceComponents',
      actions: [
        'sagemaker:DescribeInferenceComponent',
        'sagemaker:DeleteInferenceComponent',
        'sagemaker:UpdateInferenceComponent',
      ],
      resources: [arn('sagemaker', 'inference-component/*')],
    }),
    new iam.PolicyStatement({
      sid: 'StopJobs',
      actions: [
        'sagemaker:StopTrainingJob', 'sagemaker:DescribeTrainingJob',
        'sagemaker:StopTransformJob', 'sagemaker:DescribeTransformJob',
        'sagemaker:StopProcessingJob', 'sagemaker:DescribeProcessingJob',
        'sagemaker:StopHyperParameterTuningJob', 'sagemaker:DescribeHyperParameterTuningJob',
        'sagemaker:StopAutoMLJob', 'sagemaker:DescribeAutoMLJobV2',
        'sagemaker:StopCompilationJob', 'sagemaker:DescribeCompilationJob',
        'sagemaker:StopEdgePackagingJob', 'sagemaker:DescribeEdgePackagingJob',
        'sagemaker:StopLabelingJob', 'sagemaker:DescribeLabelingJob',
        'sagemaker:StopInferenceRecommendationsJob', 'sagemaker:DescribeInferenceRecommendationsJob',
        'sagemaker:StopOptimizationJob', 'sagemaker:DescribeOptimizationJob',
      ],
      resources: JOB_TYPES.map((type) => arn('sagemaker', `${type}/*`)),
    }),
    new iam.PolicyStatement({
      sid: 'DeregisterAutoscaling',
      actions: ['application-autoscaling:DeregisterScalableTarget'],
      resources: [arn('application-autoscaling', 'scalable-target/*')],
    }),
    new iam.PolicyStatement({
      // AWS requires "*": ListInferenceComponents and DescribeScalableTargets support no
      // resource-level permissions (Service Authorization Reference).
      sid: 'ListWhatBlocksDeletion',
      actions: ['sagemaker:ListInferenceComponents', 'application-autoscaling:DescribeScalableTargets'],
      resources: ['*'],
    }),
  ];
}

// Each wildcard resource a function's statements name, acknowledged with its reason: SageMaker and
// Application Auto Scaling resources belong to the users being guarded, so the statement names
// the resource type, not the names; "*" only where the action accepts nothing else.
export function acknowledgeWildcards(role: iam.Role, statements: iam.PolicyStatement[]) {
  const seen = new Set<string>();
  for (const statement of statements) {
    for (const resource of statement.resources) {
      const rendered = resource
        .replace(/\$\{Token\[AWS\.Partition\.\d+\]\}/, '<AWS::Partition>')
        .replace(/\$\{Token\[AWS\.Region\.\d+\]\}/, '<AWS::Region>')
        .replace(/\$\{Token\[AWS\.AccountId\.\d+\]\}/, '<AWS::AccountId>');
      if (!rendered.includes('*') || seen.has(rendered)) continue;
      seen.add(rendered);
      const reason = rendered === '*'
        ? `${statement.actions.join(', ')} accept no resource other than "*" (Service Authorization Reference).`
        : rendered.includes(':cloudtrail:')
        ? `${statement.actions.join(', ')} on every trail that may deliver this region's calls: the account's, `
          + 'a multi-region or an organization trail, made outside the stack under names (and accounts) unknown here.'
        : rendered.includes(':states:')
        ? `${statement.actions.join(', ')} on the executions of the guard's own enforcement machine: they are `
          + 'named at run time by the CloudTrail eventIDs of the violations.'
        : rendered.includes(':iam::*:role/')
        ? `${statement.actions.join(', ')} on the member role of each account of the organization (the `
          + 'condition aws:ResourceOrgID): its accounts are not known at deploy time.'
        : rendered.includes(':iam::')
        ? `${statement.actions.join(', ')} on this account's roles: a caller's role, named by the call, unknown at `
          + 'deploy time.'
        : rendered.split(':')[3] === '*'
        ? `${statement.actions.join(', ')} on every ${rendered.split(':').pop()?.replace('/*', '')} of this account, in `
          + 'every region the guard forwards from: created by the users being guarded, under names unknown at deploy time.'
        : `${statement.actions.join(', ')} on every ${rendered.split(':').pop()?.replace('/*', '')} of this account and `
          + 'region: they are created by the users being guarded, under names unknown at deploy time.';
      Validations.of(role).acknowledge({ id: `AwsSolutions::AwsSolutions-IAM5[Resource::${rendered}]`, reason });
    }
  }
}
