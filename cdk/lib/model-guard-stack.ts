// Model Guard's stack: the policy, decisions and records tables, the two alert topics, the functions, the
// two state machines and the EventBridge rule from statemachine/, the approval URL, the alarms,
// and (unless the account has one) the trail that makes CloudTrail events reach EventBridge.
//
// Every role is written out here with only the actions its function or machine calls, on named
// resources; the few `*` resources are the ones AWS accepts nothing else for, each with a comment.
import { readFileSync } from 'fs';
import * as path from 'path';
import { Annotations, Aws, CfnOutput, Duration, Fn, Lazy, RemovalPolicy, Stack, StackProps, Tags, Validations } from 'aws-cdk-lib';
import * as cloudtrail from 'aws-cdk-lib/aws-cloudtrail';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as lambdaEvents from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as cr from 'aws-cdk-lib/custom-resources';
import { RustFunction } from 'cargo-lambda-cdk';
import { Construct } from 'constructs';
import { ModelGuardSettings, ResolvedSettings, resolveSettings } from './config';
import { chatChannel } from './chat';
import { dashboard, METRICS, plain } from './dashboard';
import { BUS_NAME, CENTRAL_ROLE, HEARTBEAT_MINUTES, HEARTBEAT_RULE, MEMBER_ENFORCE_ROLE, MEMBER_ROLE, sageMakerCallsPattern } from './members';
import { acknowledgeWildcards, describing, enforcing } from './permissions';
import { tamperRules } from './tamper';

const ROOT = path.join(__dirname, '..', '..');
const STATEMACHINE_DIR = path.join(ROOT, 'statemachine');

/** Names the functions read (functions/aws/src/lib.rs `decisions_table`). */
export const DECISIONS_KEY = 'eventId';
export const RESOURCE_INDEX = 'byResource';
export const STATE_INDEX = 'byState';
export const ALERT_INDEX = 'byAlertOwed';
export const SWEEP_CHECKPOINT_KEY = 'sweep#checkpoint';
/** The ledger of unsettled events: keys `undecided#<eventID>`, in the sparse index below. */
export const UNDECIDED_PREFIX = 'undecided#';
/** How many scans run at once: the scan function's reserved concurrency, and the scan machine's
 * MaxConcurrency (statemachine/scan.asl.json; tests/statemachine holds them equal). */
const SCAN_CONCURRENCY = 10;
export const UNDECIDED_INDEX = 'byUndecided';
/**
 * The enforcement machine's name: fixed, so that the sweep's permission names its executions
 * (`execution:<name>:*`) without a token.
 */
export const ENFORCEMENT_NAME = (stackName: string) => `${stackName}-Enforcement`;
/** The key prefix of a used approval nonce (functions/aws/src/audit_store.rs `NONCE_PREFIX`). */
export const NONCE_PREFIX = 'approval-nonce#';
/**
 * The health check's memory (functions/aws/src/lib.rs `HEALTH_KEY`), and the kept guard-topic
 * messages (functions/core/src/guard_log.rs `GUARD_ALERT_PREFIX`).
 */
export const HEALTH_KEY = 'health#last';
export const GUARD_ALERT_PREFIX = 'guard-alert#';
/** The records table's keys (functions/aws/src/lib.rs `records_table`). */
export const RECORDS_KEY = 'pk';
export const RECORDS_SORT = 'sk';

export interface ModelGuardProps extends StackProps, ModelGuardSettings {}

/** The functions the triage runs for every covered call. */
const PER_CALL_FUNCTIONS = ['parse-event', 'record', 'evaluate'];

/**
 * Memory and timeout per function. 128 MB is Lambda's smallest size: every function is a Rust
 * binary whose peak RSS stays far below it (README "Performance"), and none is CPU-bound; the work
 * is waiting on AWS APIs. Timeouts cover the SDK's standard retries (3 attempts, backoff up to 20 s)
 * of each call the function makes, and enforce's wait of up to 30 s for inference components.
 */
const SIZING: Record<string, { memoryMb: number; timeoutSeconds: number }> = {
  'parse-event': { memoryMb: 128, timeoutSeconds: 10 }, // no AWS calls
  record: { memoryMb: 128, timeoutSeconds: 30 }, // a PutItem
  // A GetRole, a describe of the resource, up to 4 describes and records Queries, a Scan, a PutItem.
  evaluate: { memoryMb: 128, timeoutSeconds: 60 },
  claim: { memoryMb: 128, timeoutSeconds: 30 }, // a GetItem, an UpdateItem, maybe a Publish
  enforce: { memoryMb: 128, timeoutSeconds: 90 }, // a GetItem, deregister, delete, wait ≤ 30 s, an UpdateItem
  notify: { memoryMb: 128, timeoutSeconds: 30 }, // a GetItem, an Encrypt, an UpdateItem, a Publish
  // GetCallerIdentity (10 s at most), a PutItem, a Query, a Decrypt, an UpdateItem, a SendTask*.
  approve: { memoryMb: 128, timeoutSeconds: 30 },
  // One step of the sweep machine: in one place, pages of LookupEvents (by the SageMaker source)
  // at 2 a second, a GetItem and maybe a StartExecution for each call the rule matches. Under the
  // five minutes an Express child of the Map may run.
  sweep: { memoryMb: 128, timeoutSeconds: 240 },
  // About 40 describes (rules, trails, functions, topics), two Queries, a GetItem, maybe a Publish.
  health: { memoryMb: 128, timeoutSeconds: 120 },
  // One stream record (a Publish) or one guard-topic message (a PutItem) per invocation.
  watch: { memoryMb: 128, timeoutSeconds: 30 },
  // Lists, LookupEvents (2 a second) and about three describes per resource: bench/REPORT.md
  // measured 1,200 resources; judging stops 30 s before the timeout and reports what it did.
  scan: { memoryMb: 128, timeoutSeconds: 900 },
};

export class ModelGuardStack extends Stack {
  readonly settings: ResolvedSettings;

  constructor(scope: Construct, id: string, props: ModelGuardProps = {}) {
    // Termination protection: deleting the stack is one more thing only a deliberate act does
    // (README "Remove" says how to lift it).
    super(scope, id, { terminationProtection: true, ...props });
    const settings = resolveSettings(props);
    this.settings = settings;
    checkStackName(this.stackName);
    // The guard's resources carry the stack's name as a tag, for the SCPs that protect them
    // (cdk/scp/protect-model-guard.json), where their ARNs hold no name to match.
    Tags.of(this).add(GUARD_TAG, this.stackName);
    // Names the guard gives its own functions, rules, alarms and machines: `<stack>-<id>`, so that
    // the tamper rules and the SCPs can name them (none is retained when the stack is deleted,
    // so a later deploy under the same name finds none of them in its way).
    const named = (suffix: string) => `${this.stackName}-${suffix}`;
    // What changes with each creation of the stack: the UUID at the end of its ID. A resource
    // kept after `cdk destroy` (a log group) carries it in its name, so the next deploy's does
    // not collide with it.
    const deployment = Fn.select(2, Fn.split('/', this.stackId));
    const retention = retentionDays(settings.logRetentionDays);
    const arn = (service: string, resource: string) =>
      `arn:${Aws.PARTITION}:${service}:${Aws.REGION}:${Aws.ACCOUNT_ID}:${resource}`;

    // ---- Tables ------------------------------------------------------------------------------
    // Encrypted with the AWS-managed key: every use is in CloudTrail, and no key policy has to
    // follow each function's role.
    const policies = new dynamodb.TableV2(this, 'Policies', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      // Each change, old and new: the watch function alerts it field by field.
      dynamoStream: dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryptionV2.awsManagedKey(),
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // The audit trail. No TTL: it is the record of who deployed what and what the guard did, and
    // DynamoDB keeps a few hundred bytes per decision cheaply.
    const auditIndexProjection = settings.auditIndexProjection === 'ALL'
      ? dynamodb.ProjectionType.ALL : dynamodb.ProjectionType.KEYS_ONLY;
    const decisions = new dynamodb.TableV2(this, 'Decisions', {
      partitionKey: { name: DECISIONS_KEY, type: dynamodb.AttributeType.STRING },
      globalSecondaryIndexes: [
        {
          // `guardctl history --resource` and the approval function's target lookup. It and
          // byState hold every item: keys only by default, so each of their writes is one unit
          // (functions/aws/src/keyed_reads.rs reads the items from the table).
          indexName: RESOURCE_INDEX,
          partitionKey: { name: 'resourceKey', type: dynamodb.AttributeType.STRING },
          sortKey: { name: 'decidedAt', type: dynamodb.AttributeType.STRING },
          projectionType: auditIndexProjection,
        },
        {
          // `guardctl pending` (state = pending) and `history --since` (one query per state).
          indexName: STATE_INDEX,
          partitionKey: { name: 'state', type: dynamodb.AttributeType.STRING },
          sortKey: { name: 'decidedAt', type: dynamodb.AttributeType.STRING },
          projectionType: auditIndexProjection,
        },
        {
          // Sparse: only the items whose alert was not published yet. The sweep sends them.
          indexName: ALERT_INDEX,
          partitionKey: { name: 'alertOwed', type: dynamodb.AttributeType.STRING },
          sortKey: { name: 'decidedAt', type: dynamodb.AttributeType.STRING },
        },
        {
          // Sparse: only the ledger's entries, events seen and not settled. The sweep scans it.
          indexName: UNDECIDED_INDEX,
          partitionKey: { name: 'undecided', type: dynamodb.AttributeType.STRING },
        },
      ],
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryptionV2.awsManagedKey(),
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    // What each model and endpoint config contained when it was created, one item per call, so
    // that a deployment is judged by the version current at its call. Kept like the audit trail.
    const records = new dynamodb.TableV2(this, 'Records', {
      partitionKey: { name: RECORDS_KEY, type: dynamodb.AttributeType.STRING },
      sortKey: { name: RECORDS_SORT, type: dynamodb.AttributeType.STRING },
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryptionV2.awsManagedKey(),
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    // ---- Alert topics -----------------------------------------------------------------------
    // Two topics, each with its own key: violations and what became of them; and the guard's own
    // health (tampering, alarms, failed enforcement executions). Breaking the first (its policy,
    // its key) then silences neither the alarms nor the tamper alerts that say so.
    const alertTopic = (id: string, keyId: string, description: string, emails: string[]) => {
      const key = new kms.Key(this, keyId, { description: `${description} alert topic`, enableKeyRotation: true });
      const t = new sns.Topic(this, id, { displayName: description, masterKey: key, enforceSSL: true });
      for (const email of emails) t.addSubscription(new subscriptions.EmailSubscription(email));
      return { topic: t, key };
    };
    // What the health check checks of each rule: groups of rules that must each deliver to the
    // same targets (HEALTH_TARGETS must fit Lambda's 4 KB of environment).
    const healthRules: { names: string[]; targets: string[] }[] = [];
    const { topic, key: alertsKey } = alertTopic('Alerts', 'AlertsKey', 'Model Guard',
      settings.notificationEmails);
    const { topic: guardTopic, key: guardKey } = alertTopic('GuardAlerts', 'GuardAlertsKey',
      'Model Guard health', settings.guardAlertEmails);
    // Both topics in chat, where one is set: every alert as a card.
    if (settings.chatChannel !== undefined) {
      chatChannel(this, settings.chatChannel, [topic, guardTopic], this.stackName);
    }
    // CloudWatch alarms and the EnforcementEnded rule publish to the encrypted guard topic as
    // services; SNS asks KMS for a data key on their behalf, so the key must let them (as AWS
    // documents it, without conditions; the topic policy says which account's alarms and which
    // rule may publish).
    guardKey.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'AlarmsAndRulesPublishToTheTopic',
      principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com'), new iam.ServicePrincipal('events.amazonaws.com')],
      actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      resources: ['*'], // In a key policy, "*" means this key.
    }));
    // The guard's own alarms only (they are named <stack>-<id>): the SNS guide's policy for
    // CloudWatch alarms conditions on the alarm ARN (aws:SourceArn), which CloudWatch sends.
    guardTopic.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'GuardAlarmsPublish',
      principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
      actions: ['sns:Publish'],
      resources: [guardTopic.topicArn],
      conditions: { ArnLike: { 'aws:SourceArn': `arn:${Aws.PARTITION}:cloudwatch:${Aws.REGION}:${Aws.ACCOUNT_ID}:alarm:${this.stackName}-*` } },
    }));

    // ---- Keys only the guard may use --------------------------------------------------------
    // The approval task token is stored on the audit item sealed with this key: Notify encrypts,
    // the approval function decrypts, and the key policy denies both to every other principal
    // (PowerUserAccess includes kms:*), so reading the table gives no token.
    const tokenKey = new kms.Key(this, 'TaskTokenKey', {
      description: 'Model Guard: seals approval task tokens',
      enableKeyRotation: true,
    });
    // The enforcement machine's definition and history (AwaitApproval's input holds the token)
    // are encrypted with this key; reading them takes kms:Decrypt, which only the guard's roles
    // (and CloudFormation, which deploys the machine) have.
    const enforcementKey = new kms.Key(this, 'EnforcementStateKey', {
      description: 'Model Guard: encrypts the enforcement state machine and its executions',
      enableKeyRotation: true,
    });
    // CDK's default synthesizer deploys with this role; it must keep managing the keys' users.
    const deployRole = `arn:${Aws.PARTITION}:iam::${Aws.ACCOUNT_ID}:role/cdk-hnb659fds-cfn-exec-role-${Aws.ACCOUNT_ID}-${Aws.REGION}`;
    const onlyFor = (key: kms.Key, sid: string, actions: string[], roles: () => string[]) => {
      key.addToResourcePolicy(new iam.PolicyStatement({
        sid,
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions,
        resources: ['*'], // In a key policy, "*" means this key.
        conditions: {
          ArnNotEquals: { 'aws:PrincipalArn': Lazy.list({ produce: roles }) },
          // AWS services acting as themselves (log delivery) have no principal ARN to compare.
          Bool: { 'aws:PrincipalIsAWSService': 'false' },
        },
      }));
    };

    // ---- Functions ---------------------------------------------------------------------------
    const functions: Record<string, lambda.Function> = {};
    const functionLogs: Record<string, logs.LogGroup> = {};
    const fn = (name: string, environment: Record<string, string>, statements: iam.PolicyStatement[],
      roleName?: string) => {
      const id = pascal(name);
      const logGroup = new logs.LogGroup(this, `${id}Logs`, {
        retention,
        removalPolicy: RemovalPolicy.RETAIN,
      });
      // Its own role instead of the AWSLambdaBasicExecutionRole managed policy, whose log
      // permissions cover every log group in the account.
      const role = new iam.Role(this, `${id}Role`, {
        assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
        description: `Model Guard ${name}`,
        roleName,
      });
      role.addToPolicy(new iam.PolicyStatement({
        sid: 'WriteOwnLogs',
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [`${logGroup.logGroupArn}`],
      }));
      statements.forEach((s) => role.addToPolicy(s));
      const sizing = SIZING[name];
      const f = new RustFunction(this, id, {
        manifestPath: path.join(ROOT, 'Cargo.toml'),
        binaryName: name,
        architecture: lambda.Architecture.ARM_64,
        memorySize: sizing.memoryMb,
        timeout: Duration.seconds(sizing.timeoutSeconds),
        role,
        logGroup,
        functionName: named(name),
        // The binaries write JSON lines with a "level" field, so Lambda's JSON format can filter
        // them by level and Logs Insights can query them; AWS_LAMBDA_LOG_LEVEL sets the filter.
        loggingFormat: lambda.LoggingFormat.JSON,
        applicationLogLevelV2: lambda.ApplicationLogLevel.INFO,
        // The triage's functions run for every SageMaker call: Lambda's own start and report
        // records (INFO) would be about half of what they log (bench/REPORT.md, "Cost"). A crash
        // or a timeout still fails the invocation, which the triage catches (the ledger, its
        // alarm) and Lambda's Errors metric counts; duration stays in its metrics.
        systemLogLevelV2: PER_CALL_FUNCTIONS.includes(name) ? lambda.SystemLogLevel.WARN : lambda.SystemLogLevel.INFO,
        environment,
        description: `Model Guard ${name}`,
      });
      functions[name] = f;
      functionLogs[name] = logGroup;
      acknowledgeWildcards(role, statements);
      return f;
    };

    // Publishing to an encrypted alert topic (SNS encrypts with the topic's key on the
    // publisher's behalf). `violations`: also the violations topic (Notify and the sweep, which
    // sends what is owed); every publisher may raise a tamper alert on the guard topic.
    const alerting = (violations: boolean) => {
      const topics = violations ? [topic.topicArn, guardTopic.topicArn] : [guardTopic.topicArn];
      const keys = violations ? [alertsKey.keyArn, guardKey.keyArn] : [guardKey.keyArn];
      return [
        new iam.PolicyStatement({ sid: 'PublishAlerts', actions: ['sns:Publish'], resources: topics }),
        new iam.PolicyStatement({ sid: 'EncryptAlerts', actions: ['kms:GenerateDataKey', 'kms:Decrypt'], resources: keys }),
      ];
    };
    // One guard for an organization: the member accounts it answers for ("organization", a list,
    // or none), and what the central functions may assume in them.
    const memberAccounts = settings.organizationId !== undefined ? 'organization' : settings.memberAccounts.join(',');
    const hasMembers = memberAccounts !== '';
    const assumeInMembers = (sid: string, roleName: string): iam.PolicyStatement[] => {
      if (!hasMembers) return [];
      if (settings.organizationId !== undefined) {
        return [new iam.PolicyStatement({
          // The organization's accounts are not known here: any account's role of this name,
          // only if that account is in the organization (aws:ResourceOrgID).
          sid,
          actions: ['sts:AssumeRole'],
          resources: [`arn:${Aws.PARTITION}:iam::*:role/${roleName}`],
          conditions: { StringEquals: { 'aws:ResourceOrgID': settings.organizationId } },
        })];
      }
      // The guard's own account too: in its other regions it acts through its member role there
      // (its functions' own roles are scoped to this region).
      return [new iam.PolicyStatement({
        sid,
        actions: ['sts:AssumeRole'],
        resources: [Aws.ACCOUNT_ID, ...settings.memberAccounts]
          .map((a) => `arn:${Aws.PARTITION}:iam::${a}:role/${roleName}`),
      })];
    };
    // Its own account is its home; calls from any other account are ignored unless they are
    // members'.
    const parseEvent = fn('parse-event', { GUARD_ACCOUNT: this.account, MEMBER_ACCOUNTS: memberAccounts }, []);
    const record = fn('record', { RECORDS_TABLE: records.tableName }, [
      new iam.PolicyStatement({
        sid: 'KeepRecords',
        actions: ['dynamodb:PutItem'],
        resources: [records.tableArn],
      }),
    ]);
    // IAM role ARNs: a caller's role path, where the event names only the session.
    const roleArns = `arn:${Aws.PARTITION}:iam::${Aws.ACCOUNT_ID}:role/*`;
    // What a decision reads: SageMaker's describes, the records, IAM's role paths. Evaluate's, and
    // the scan's (which judges what exists as Evaluate judges a call).
    const resolving = (): iam.PolicyStatement[] => [
      ...describing(arn),
      new iam.PolicyStatement({
        sid: 'ReadRecords',
        actions: ['dynamodb:Query'],
        resources: [records.tableArn],
      }),
      new iam.PolicyStatement({
        sid: 'LookUpRolePaths',
        actions: ['iam:GetRole'],
        resources: [roleArns],
      }),
    ];
    // The scan reads what Evaluate reads, of whatever exists: Evaluate's SageMaker describes as one
    // statement on the account's SageMaker resources in this region (read-only; as many
    // statements as Evaluate's would overflow the role's inline policy), the rest as Evaluate's.
    const scanReads = (): iam.PolicyStatement[] => {
      const statements = resolving();
      const onSageMaker = (st: iam.PolicyStatement) =>
        st.resources.length > 0 && st.resources.every((r) => r.includes(':sagemaker:'));
      const describes = [...new Set(statements.filter(onSageMaker).flatMap((st) => st.actions))].sort();
      return [
        new iam.PolicyStatement({
          sid: 'DescribeWhatExists',
          actions: describes,
          resources: [arn('sagemaker', '*')],
        }),
        ...statements.filter((st) => !onSageMaker(st)),
      ];
    };
    const evaluate = fn('evaluate', {
      // Calls made in its own account are described with its own role.
      GUARD_ACCOUNT: this.account,
      POLICY_TABLE: policies.tableName,
      DECISIONS_TABLE: decisions.tableName,
      RECORDS_TABLE: records.tableName,
      DEFAULT_GRACE_SECONDS: String(settings.defaultGraceSeconds),
      DEFAULT_APPROVERS: JSON.stringify(settings.defaultApprovers),
      UNRESOLVED_ACTION: settings.unresolvedAction,
    }, [
      new iam.PolicyStatement({
        sid: 'ReadPolicies',
        actions: ['dynamodb:Scan'],
        resources: [policies.tableArn],
      }),
      new iam.PolicyStatement({
        // A conditional put; a duplicate delivery reads the item back.
        // BatchGetItem: the items its byResource query names (a keys-only index).
        sid: 'RecordDecisions',
        actions: ['dynamodb:PutItem', 'dynamodb:GetItem', 'dynamodb:BatchGetItem'],
        resources: [decisions.tableArn],
      }),
      new iam.PolicyStatement({
        // An update to a resource whose violation awaits enforcement breaks its bindings.
        sid: 'FindViolationsAwaitingEnforcement',
        actions: ['dynamodb:Query'],
        resources: [`${decisions.tableArn}/index/${RESOURCE_INDEX}`],
      }),
      ...resolving(),
      ...assumeInMembers('ReadInMembers', MEMBER_ROLE),
    ], CENTRAL_ROLE(this.stackName, 'Evaluate'));
    const claim = fn('claim', {
      DECISIONS_TABLE: decisions.tableName,
      TOPIC_ARN: topic.topicArn,
      GUARD_TOPIC_ARN: guardTopic.topicArn,
      BUSY_RETRY_SECONDS: String(settings.busyRetrySeconds),
    }, [
      new iam.PolicyStatement({
        // The recorded verdict, and the item taken for the execution (a conditional write).
        sid: 'ClaimDecisions',
        actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
        resources: [decisions.tableArn],
      }),
      // Tamper alerts, and the escalation alert of a busy enforcement's hand-over.
      ...alerting(true),
    ]);
    const enforce = fn('enforce', { GUARD_ACCOUNT: this.account, DECISIONS_TABLE: decisions.tableName }, [
      new iam.PolicyStatement({
        // The recorded verdict it acts on, and the item moved to enforced with what it did.
        sid: 'ActOnRecordedDecisions',
        actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
        resources: [decisions.tableArn],
      }),
      ...enforcing(arn),
      ...assumeInMembers('EnforceInMembers', MEMBER_ENFORCE_ROLE),
    ], CENTRAL_ROLE(this.stackName, 'Enforce'));
    // An UpdateEndpoint by the enforce function's role may be the guard's own rollback.
    evaluate.addEnvironment('ENFORCE_ROLE_ARN', enforce.role!.roleArn);
    const tokenContext = { StringEquals: { 'kms:EncryptionContext:modelGuardPurpose': 'approval-task-token' } };
    const notify = fn('notify', {
      TOPIC_ARN: topic.topicArn,
      GUARD_TOPIC_ARN: guardTopic.topicArn,
      DECISIONS_TABLE: decisions.tableName,
      TOKEN_KEY_ID: tokenKey.keyArn,
    }, [
      ...alerting(true),
      new iam.PolicyStatement({
        sid: 'AdvanceDecisions',
        actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
        resources: [decisions.tableArn],
      }),
      new iam.PolicyStatement({
        sid: 'SealTaskTokens',
        actions: ['kms:Encrypt'],
        resources: [tokenKey.keyArn],
        conditions: tokenContext,
      }),
    ]);
    const approve = fn('approve', {
      DECISIONS_TABLE: decisions.tableName,
      GUARD_TOPIC_ARN: guardTopic.topicArn,
      TOKEN_KEY_ID: tokenKey.keyArn,
    }, [
      // No permission for the approver's GetCallerIdentity: it is signed with the approver's
      // credentials, and STS answers it for anyone.
      new iam.PolicyStatement({
        sid: 'OpenTaskTokens',
        actions: ['kms:Decrypt'],
        resources: [tokenKey.keyArn],
        conditions: tokenContext,
      }),
      new iam.PolicyStatement({
        // Each approval request's nonce once: items beside the audit items, under their own prefix.
        sid: 'UseNonces',
        actions: ['dynamodb:PutItem'],
        resources: [decisions.tableArn],
        conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${NONCE_PREFIX}*`] } },
      }),
      ...alerting(false),
      new iam.PolicyStatement({
        // The approver's role path: the authorizer gives only the session's ARN.
        sid: 'LookUpRolePaths',
        actions: ['iam:GetRole'],
        resources: [roleArns],
      }),
      new iam.PolicyStatement({
        sid: 'FindTargets',
        actions: ['dynamodb:Query'],
        resources: [`${decisions.tableArn}/index/${RESOURCE_INDEX}`],
      }),
      new iam.PolicyStatement({
        // BatchGetItem: the items its byResource query names (a keys-only index).
        sid: 'RecordApprovals',
        actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:BatchGetItem'],
        resources: [decisions.tableArn],
      }),
      new iam.PolicyStatement({
        // AWS requires "*": SendTaskSuccess/SendTaskFailure take a task token, not an ARN, and
        // accept no resource. Only this function (and no other) answers approval tasks.
        sid: 'AnswerApprovalTasks',
        actions: ['states:SendTaskSuccess', 'states:SendTaskFailure'],
        resources: ['*'],
      }),
    ]);

    // ---- State machines ----------------------------------------------------------------------
    // A machine with a distributed Map starts, watches and stops its children: executions of the
    // machine itself, which Step Functions names at run time. `name` is the machine's own.
    const runsItsMapsChildren = (m: sfn.StateMachine, name: string, whyErrorsOnly: string) => {
      m.role.addToPrincipalPolicy(new iam.PolicyStatement({
        sid: 'RunTheMapsChildren',
        actions: ['states:StartExecution'],
        resources: [`arn:${Aws.PARTITION}:states:${Aws.REGION}:${Aws.ACCOUNT_ID}:stateMachine:${named(name)}`],
      }));
      m.role.addToPrincipalPolicy(new iam.PolicyStatement({
        sid: 'WatchTheMapsChildren',
        actions: ['states:DescribeExecution', 'states:StopExecution'],
        resources: [`arn:${Aws.PARTITION}:states:${Aws.REGION}:${Aws.ACCOUNT_ID}:execution:${named(name)}/*`],
      }));
      Validations.of(m.role).acknowledge({
        id: `AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:${named(name)}/*]`,
        reason: 'states:DescribeExecution, states:StopExecution on the Map\'s child executions of the '
          + 'machine itself: Step Functions names them at run time.',
      });
      Validations.of(m).acknowledge({ id: 'AwsSolutions::AwsSolutions-SF1', reason: whyErrorsOnly });
    };
    const machine = (id: string, file: string, type: sfn.StateMachineType, level: sfn.LogLevel,
      includeExecutionData: boolean,
      substitutions: Record<string, string>, invokes: lambda.IFunction[], key?: kms.IKey, name?: string,
      tracingEnabled = true) => {
      const logGroup = new logs.LogGroup(this, `${id}Logs`, {
        // Under /aws/vendedlogs/, as Step Functions recommends (its log delivery's resource
        // policy then covers the prefix once, not each group); kept after the stack is deleted, so
        // its name carries this deployment's stack ID.
        logGroupName: `/aws/vendedlogs/states/${this.stackName}-${id}-${deployment}`,
        retention,
        removalPolicy: RemovalPolicy.RETAIN,
      });
      const role = new iam.Role(this, `${id}Role`, {
        assumedBy: new iam.ServicePrincipal('states.amazonaws.com'),
        description: `Model Guard ${id} state machine`,
      });
      role.addToPolicy(new iam.PolicyStatement({
        sid: 'InvokeSteps',
        actions: ['lambda:InvokeFunction'],
        resources: invokes.map((f) => f.functionArn),
      }));
      const m = new sfn.StateMachine(this, id, {
        stateMachineType: type,
        definitionBody: sfn.DefinitionBody.fromString(readFileSync(path.join(STATEMACHINE_DIR, file), 'utf8')),
        definitionSubstitutions: substitutions,
        role,
        logs: { destination: logGroup, level, includeExecutionData },
        tracingEnabled,
        encryptionConfiguration: key ? new sfn.CustomerManagedEncryptionConfiguration(key) : undefined,
        stateMachineName: name,
      });
      Validations.of(m.role).acknowledge({
        id: 'AwsSolutions::AwsSolutions-IAM5[Resource::*]',
        reason: 'Added by Step Functions logging' + (tracingEnabled ? ' and tracing' : '') + ': the vended-log '
          + 'delivery actions (logs:*LogDelivery*, PutResourcePolicy, Describe*)'
          + (tracingEnabled ? ' and X-Ray\'s PutTraceSegments, PutTelemetryRecords and GetSampling*' : '')
          + ' accept no resource other than "*".',
      });
      return m;
    };
    // Execution data stays out of the Standard machine's logs: its input carries task tokens, and
    // Standard executions keep their full history in Step Functions anyway. Express executions
    // keep none, so their logs carry the data. The Standard machine logs every state (it runs only
    // for violations); the triage machine, which runs for every call, by default only failures.
    const enforcement = machine('Enforcement', 'enforcement.asl.json', sfn.StateMachineType.STANDARD,
      sfn.LogLevel.ALL, false, {
      ClaimFunctionArn: claim.functionArn,
      NotifyFunctionArn: notify.functionArn,
      EnforceFunctionArn: enforce.functionArn,
    }, [claim, notify, enforce], enforcementKey, ENFORCEMENT_NAME(this.stackName));
    // A busy enforcement goes on in a fresh execution, which the machine starts itself. Its own
    // ARN by its fixed name: the machine's ARN would make its role depend on the machine.
    enforcement.role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'ContinueBusyEnforcements',
      actions: ['states:StartExecution'],
      resources: [`arn:${Aws.PARTITION}:states:${Aws.REGION}:${Aws.ACCOUNT_ID}:stateMachine:${ENFORCEMENT_NAME(this.stackName)}`],
    }));
    // Step Functions delivers the encrypted machine's logs through CloudWatch's log delivery.
    enforcementKey.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'LogDeliveryDecrypts',
      principals: [new iam.ServicePrincipal('delivery.logs.amazonaws.com')],
      actions: ['kms:Decrypt'],
      resources: ['*'], // In a key policy, "*" means this key.
    }));
    const triage = machine('Triage', 'triage.asl.json', sfn.StateMachineType.EXPRESS,
      settings.triageLogLevel === 'ALL' ? sfn.LogLevel.ALL : sfn.LogLevel.ERROR, true, {
      ParseEventFunctionArn: parseEvent.functionArn,
      RecordFunctionArn: record.functionArn,
      EvaluateFunctionArn: evaluate.functionArn,
      EnforcementStateMachineArn: enforcement.stateMachineArn,
      DecisionsTableName: decisions.tableName,
    }, [parseEvent, record, evaluate], undefined, named('Triage'), false);
    Validations.of(triage).acknowledge({
      id: 'AwsSolutions::AwsSolutions-SF2',
      reason: 'The triage machine runs for every SageMaker call: at 10 calls a second X-Ray\'s default '
        + 'sampling would record one in seven, the largest cost of an allowed event after the run itself '
        + '(bench/REPORT.md, "Cost"). A failed run is logged with its data, and each decision is in the '
        + 'audit table; the enforcement machine, which acts, is traced.',
    });
    if (settings.triageLogLevel !== 'ALL') {
      Validations.of(triage).acknowledge({
        id: 'AwsSolutions::AwsSolutions-SF1',
        reason: 'The triage machine runs for every SageMaker call and logs only failed executions (with '
          + 'their data) by default: at ALL its logs were most of the cost of an allowed event '
          + '(bench/REPORT.md), and each decision is already in the audit table and the functions\' logs. '
          + 'Set modelGuard:triageLogLevel to ALL to log every state.',
      });
    }
    triage.role.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: 'StartEnforcement',
      actions: ['states:StartExecution'],
      resources: [enforcement.stateMachineArn],
    }));
    triage.role.addToPrincipalPolicy(new iam.PolicyStatement({
      // A failed run writes its event into the ledger; a run that ends well deletes the entry.
      // Ledger entries only: the audit items are not the triage machine's to touch.
      sid: 'KeepTheLedger',
      actions: ['dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
      resources: [decisions.tableArn],
      conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${UNDECIDED_PREFIX}*`] } },
    }));

    // ---- The sweep ---------------------------------------------------------------------------
    // EventBridge delivers CloudTrail events on a best-effort basis: every few minutes the sweep
    // machine asks CloudTrail in each guarded place (account × region) for the covered calls
    // since its last look there and submits the ones with no audit item to the triage
    // (duplicates are harmless); then the sweep function's chores (statemachine/sweep.asl.json).
    const enforcementExecutions = `arn:${Aws.PARTITION}:states:${Aws.REGION}:${Aws.ACCOUNT_ID}:execution:`
      + `${ENFORCEMENT_NAME(this.stackName)}:*`;
    const sweep = fn('sweep', {
      GUARD_ACCOUNT: this.account,
      MEMBER_ACCOUNTS: memberAccounts,
      MEMBER_REGIONS: settings.memberRegions.join(','),
      DECISIONS_TABLE: decisions.tableName,
      RECORDS_TABLE: records.tableName,
      TRIAGE_STATE_MACHINE_ARN: triage.stateMachineArn,
      ENFORCEMENT_STATE_MACHINE_ARN: enforcement.stateMachineArn,
      TOPIC_ARN: topic.topicArn,
      GUARD_TOPIC_ARN: guardTopic.topicArn,
    }, [
      new iam.PolicyStatement({
        // The ledger of unsettled events (a sparse index: its entries only).
        sid: 'ReadTheLedger',
        actions: ['dynamodb:Scan'],
        resources: [`${decisions.tableArn}/index/${UNDECIDED_INDEX}`],
      }),
      new iam.PolicyStatement({
        // The unsettled violations, and the alerts still owed.
        sid: 'WatchUnsettledDecisions',
        actions: ['dynamodb:Query'],
        resources: [`${decisions.tableArn}/index/${STATE_INDEX}`, `${decisions.tableArn}/index/${ALERT_INDEX}`],
      }),
      new iam.PolicyStatement({
        // The hand-over of an item to a restart, and an owed alert marked sent (conditional writes).
        sid: 'HandOverToRestarts',
        actions: ['dynamodb:UpdateItem'],
        resources: [decisions.tableArn],
      }),
      new iam.PolicyStatement({
        // Is the enforcement of each unsettled violation running; start it again if not.
        sid: 'WatchEnforcements',
        actions: ['states:DescribeExecution'],
        resources: [enforcementExecutions],
      }),
      new iam.PolicyStatement({
        sid: 'RestartEnforcements',
        actions: ['states:StartExecution'],
        resources: [enforcement.stateMachineArn],
      }),
      new iam.PolicyStatement({
        // DescribeExecution of the encrypted machine decrypts its data.
        sid: 'ReadEnforcementState',
        actions: ['kms:Decrypt'],
        resources: [enforcementKey.keyArn],
        conditions: { StringEquals: { 'kms:EncryptionContext:aws:states:stateMachineArn': enforcement.stateMachineArn } },
      }),
      ...alerting(true),
      new iam.PolicyStatement({
        // AWS requires "*": LookupEvents supports no resource-level permissions.
        sid: 'LookUpCalls',
        actions: ['cloudtrail:LookupEvents'],
        resources: ['*'],
      }),
      new iam.PolicyStatement({
        // Is there an audit item for the event; where did the last sweep end; the items its
        // byState query names (a keys-only index).
        sid: 'CheckDecisions',
        actions: ['dynamodb:GetItem', 'dynamodb:BatchGetItem'],
        resources: [decisions.tableArn],
      }),
      new iam.PolicyStatement({
        // It creates its checkpoint item and ledger entries and nothing else: the audit trail
        // is not the sweep's.
        sid: 'SaveCheckpointAndLedger',
        actions: ['dynamodb:PutItem'],
        resources: [decisions.tableArn],
        conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [
          SWEEP_CHECKPOINT_KEY, `${SWEEP_CHECKPOINT_KEY}@*`, `${UNDECIDED_PREFIX}*`] } },
      }),
      new iam.PolicyStatement({
        // Is a missed CreateModel (…) on record already.
        sid: 'CheckRecords',
        actions: ['dynamodb:GetItem'],
        resources: [records.tableArn],
      }),
      new iam.PolicyStatement({
        sid: 'SubmitMissedEvents',
        actions: ['states:StartExecution'],
        resources: [triage.stateMachineArn],
      }),
      // CloudTrail in the member accounts, and the guard's own in its other regions.
      ...assumeInMembers('ReadInMembers', MEMBER_ROLE),
      ...(settings.organizationId !== undefined ? [new iam.PolicyStatement({
        // The organization's accounts. AWS requires "*": ListAccounts supports no resource-level
        // permissions (and answers only in the management or a delegated administrator account).
        sid: 'ListOrganizationAccounts',
        actions: ['organizations:ListAccounts'],
        resources: ['*'],
      })] : []),
    ], CENTRAL_ROLE(this.stackName, 'Sweep'));
    // A Standard machine: its Map's children are Express executions, one per place. Execution
    // data stays out of its logs (its steps carry only places and counts; the function logs them).
    const sweepMachine = machine('SweepMachine', 'sweep.asl.json', sfn.StateMachineType.STANDARD,
      sfn.LogLevel.ERROR, false, { SweepFunctionArn: sweep.functionArn }, [sweep], undefined, named('Sweep'));
    runsItsMapsChildren(sweepMachine, 'Sweep', 'The sweep machine runs every few minutes with one child per '
      + 'guarded place: it logs failures only. What each step found and did is in the sweep function\'s log.');
    new events.Rule(this, 'SweepSchedule', {
      ruleName: named('SweepSchedule'),
      description: 'Model Guard sweep: covered calls EventBridge did not deliver, in every guarded place',
      schedule: events.Schedule.rate(Duration.minutes(settings.sweepIntervalMinutes)),
      targets: [new targets.SfnStateMachine(sweepMachine, { retryAttempts: 2 })],
    });
    healthRules.push({ names: [named('SweepSchedule')], targets: [sweepMachine.stateMachineArn] });

    // ---- The scan ----------------------------------------------------------------------------
    // What exists now, judged as Evaluate judges a call: the drift scan on a schedule (each new
    // violation alerted once), and `guardctl scan --enforce` (each violation recorded and its
    // enforcement started). It trusts nothing in its input but the choice of work.
    const scanFunction = fn('scan', {
      GUARD_ACCOUNT: this.account,
      MEMBER_ACCOUNTS: memberAccounts,
      MEMBER_REGIONS: settings.memberRegions.join(','),
      POLICY_TABLE: policies.tableName,
      DECISIONS_TABLE: decisions.tableName,
      RECORDS_TABLE: records.tableName,
      ENFORCEMENT_STATE_MACHINE_ARN: enforcement.stateMachineArn,
      TOPIC_ARN: topic.topicArn,
      GUARD_TOPIC_ARN: guardTopic.topicArn,
      DEFAULT_GRACE_SECONDS: String(settings.defaultGraceSeconds),
      DEFAULT_APPROVERS: JSON.stringify(settings.defaultApprovers),
      UNRESOLVED_ACTION: settings.unresolvedAction,
      // Its UpdateEndpoint calls are the guard's rollbacks: they answer for nothing in the scan.
      ENFORCE_ROLE_ARN: enforce.role!.roleArn,
    }, [
      new iam.PolicyStatement({
        sid: 'ReadPolicies',
        actions: ['dynamodb:Scan'],
        resources: [policies.tableArn],
      }),
      new iam.PolicyStatement({
        // The guard's decision on a resource's call (approved? its enforcement under way?), and
        // what the drift scan alerted before.
        sid: 'CheckDecisions',
        actions: ['dynamodb:GetItem'],
        resources: [decisions.tableArn],
      }),
      new iam.PolicyStatement({
        // It writes its own findings' audit items (`scan-<hash>`, a conditional put) and the
        // drift scan's memory (`drift#scan-<hash>`), and nothing else of the audit trail.
        sid: 'RecordFindings',
        actions: ['dynamodb:PutItem'],
        resources: [decisions.tableArn],
        conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['scan-*', 'drift#scan-*'] } },
      }),
      new iam.PolicyStatement({
        // What exists now. AWS requires "*": a List* call acts on no resource, and IAM accepts no
        // other resource for it.
        sid: 'ListWhatExists',
        actions: [
          'sagemaker:ListEndpoints', 'sagemaker:ListInferenceComponents', 'sagemaker:ListInferenceExperiments',
          'sagemaker:ListTrainingJobs', 'sagemaker:ListProcessingJobs', 'sagemaker:ListTransformJobs',
          'sagemaker:ListHyperParameterTuningJobs', 'sagemaker:ListAutoMLJobs', 'sagemaker:ListCompilationJobs',
          'sagemaker:ListNotebookInstances', 'sagemaker:ListApps', 'sagemaker:ListPipelines',
          'sagemaker:ListPipelineExecutions', 'sagemaker:ListClusters', 'sagemaker:ListMonitoringSchedules',
          'sagemaker:ListMlflowTrackingServers',
        ],
        resources: ['*'],
      }),
      new iam.PolicyStatement({
        // Who made each resource's latest call. AWS requires "*": LookupEvents supports no
        // resource-level permissions.
        sid: 'LookUpCalls',
        actions: ['cloudtrail:LookupEvents'],
        resources: ['*'],
      }),
      new iam.PolicyStatement({
        sid: 'StartEnforcements',
        actions: ['states:StartExecution'],
        resources: [enforcement.stateMachineArn],
      }),
      // The drift scan's alerts.
      ...alerting(true),
      ...scanReads(),
      // What exists in the member accounts, and in the guard's own other regions.
      ...assumeInMembers('ReadInMembers', MEMBER_ROLE),
      ...(settings.organizationId !== undefined ? [new iam.PolicyStatement({
        // The organization's accounts. AWS requires "*": ListAccounts supports no resource-level
        // permissions (and answers only in the management or a delegated administrator account).
        sid: 'ListOrganizationAccounts',
        actions: ['organizations:ListAccounts'],
        resources: ['*'],
      })] : []),
    ], CENTRAL_ROLE(this.stackName, 'Scan'));
    // The drift scan: a Standard machine whose Map scans each place in a Standard child (a scan
    // may take the function's 15 minutes; an Express child would end at 5).
    const scanMachine = machine('ScanMachine', 'scan.asl.json', sfn.StateMachineType.STANDARD,
      sfn.LogLevel.ERROR, false, { ScanFunctionArn: scanFunction.functionArn }, [scanFunction], undefined,
      named('Scan'));
    runsItsMapsChildren(scanMachine, 'Scan', 'The drift scan machine runs with one child per guarded place: '
      + 'it logs failures only. What each scan found and told is in the scan function\'s log and alerts.');
    new events.Rule(this, 'DriftScanSchedule', {
      ruleName: named('DriftScanSchedule'),
      description: 'Model Guard drift scan: what exists now and newly violates the policy, in every guarded place',
      schedule: events.Schedule.rate(Duration.hours(settings.driftScanIntervalHours)),
      targets: [new targets.SfnStateMachine(scanMachine, { retryAttempts: 2 })],
    });
    healthRules.push({ names: [named('DriftScanSchedule')], targets: [scanMachine.stateMachineArn] });
    // A few scans at a time, as many as the machine's Map runs (statemachine/scan.asl.json
    // MaxConcurrency): a flood of direct invocations costs that many functions' time, and
    // `guardctl scan --enforce` met by a busy function is told to try again. Who may invoke it
    // at all is the SCP's (OnlyScanOperatorsInvokeTheScan).
    (scanFunction.node.defaultChild as lambda.CfnFunction).reservedConcurrentExecutions = SCAN_CONCURRENCY;
    scanFunction.configureAsyncInvoke({ retryAttempts: 0 });
    new CfnOutput(this, 'ScanFunctionName', {
      value: scanFunction.functionName,
      description: 'guardctl scan --enforce invokes it (MODEL_GUARD_SCAN_FUNCTION)',
    });

    // ---- Events in -----------------------------------------------------------------------------
    const deadLetters = new sqs.Queue(this, 'DeadLetters', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(deadLetters).acknowledge({
      id: 'AwsSolutions::AwsSolutions-SQS3',
      reason: 'This queue is itself the dead-letter queue of both EventBridge rules; a queue behind '
        + 'it would only hold the same messages again. Its depth alarms.',
    });
    // An event EventBridge could not hand over is a deployment nobody checked: retry for the
    // whole day EventBridge allows, then keep it in the queue (and alarm) for replay.
    healthRules.push({ names: [named('SageMakerCalls')], targets: [triage.stateMachineArn] });
    const sageMakerCalls = new events.Rule(this, 'SageMakerCalls', {
      ruleName: named('SageMakerCalls'),
      description: 'Covered and recorded SageMaker calls, from CloudTrail, to the Model Guard triage',
      eventPattern: JSON.parse(readFileSync(path.join(STATEMACHINE_DIR, 'event-pattern.json'), 'utf8')),
      targets: [new targets.SfnStateMachine(triage, {
        deadLetterQueue: deadLetters,
        retryAttempts: 185,
        maxEventAge: Duration.hours(24),
      })],
    });
    // CreatePresignedDomainUrl and CreatePresignedNotebookInstanceUrl give their caller a session
    // under an execution role; CloudTrail may record them as read-only, which a rule in the
    // ENABLED state never receives. This state receives read-only management events too; the
    // pattern still names only the covered calls, so only those two more reach the triage (one
    // Express run each).
    (sageMakerCalls.node.defaultChild as events.CfnRule).state = 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS';
    // The members' calls arrive on a bus of the guard's own, which admits only them; the same
    // rule takes them to the triage (their account and region are in each event).
    let heartbeats: logs.LogGroup | undefined;
    if (hasMembers) {
      const bus = new events.EventBus(this, 'Bus', { eventBusName: BUS_NAME(this.stackName) });
      bus.addToResourcePolicy(new iam.PolicyStatement({
        sid: 'MembersForward',
        actions: ['events:PutEvents'],
        resources: [bus.eventBusArn],
        ...(settings.organizationId !== undefined
          ? {
            principals: [new iam.AnyPrincipal()],
            conditions: { StringEquals: { 'aws:PrincipalOrgID': settings.organizationId } },
          }
          : { principals: settings.memberAccounts.map((a) => new iam.AccountPrincipal(a)) }),
      }));
      healthRules.push({ names: [named('MemberSageMakerCalls')], targets: [triage.stateMachineArn] });
      const memberCalls = new events.Rule(this, 'MemberSageMakerCalls', {
        ruleName: named('MemberSageMakerCalls'),
        description: 'Covered SageMaker calls forwarded by the member accounts, to the Model Guard triage',
        eventBus: bus,
        eventPattern: sageMakerCallsPattern(),
        targets: [new targets.SfnStateMachine(triage, {
          deadLetterQueue: deadLetters,
          retryAttempts: 185,
          maxEventAge: Duration.hours(24),
        })],
      });
      // As the home rule: EventBridge hands read-only CloudTrail events (CreatePresigned*Url) only
      // to rules in this state, on a custom bus as on the default one.
      (memberCalls.node.defaultChild as events.CfnRule).state = 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS';
      // Each member region's heartbeat, kept a week: a metric per account counts them, and an
      // account whose regions stop beating (its forwarding switched off) alarms.
      heartbeats = new logs.LogGroup(this, 'Heartbeats', {
        retention: logs.RetentionDays.ONE_WEEK,
        removalPolicy: RemovalPolicy.DESTROY,
      });
      const beats = new events.Rule(this, 'MemberHeartbeats', {
        ruleName: named('MemberHeartbeats'),
        description: 'The member regions\' heartbeats (ModelGuardHeartbeat), into a log group counted per account',
        eventBus: bus,
        eventPattern: {
          source: ['aws.events'],
          detailType: ['Scheduled Event'],
          resources: [{ wildcard: `arn:${Aws.PARTITION}:events:*:*:rule/${HEARTBEAT_RULE}` }] as any,
        },
      });
      // Bound by hand, with the log group's resource policy as a plain resource naming this rule
      // (the CDK's log group target would add a custom-resource function to write it).
      beats.addTarget({ bind: () => ({ arn: heartbeats!.logGroupArn }) });
      new logs.CfnResourcePolicy(this, 'HeartbeatsPolicy', {
        policyName: named('Heartbeats'),
        policyDocument: this.toJsonString({
          Version: '2012-10-17',
          Statement: [{
            Sid: 'MemberHeartbeats',
            Effect: 'Allow',
            Principal: { Service: ['events.amazonaws.com', 'delivery.logs.amazonaws.com'] },
            Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
            Resource: heartbeats.logGroupArn,
            Condition: { ArnEquals: { 'aws:SourceArn': beats.ruleArn } },
          }],
        }),
      });
      new CfnOutput(this, 'EventBusArn', { value: bus.eventBusArn });
    }
    // An enforcement execution that ends badly is named in its own alert (the alarm below only
    // counts them): its name is the CloudTrail eventID of the call it was about. The target is
    // bound by hand so that the topic and queue policies name this rule, not all of EventBridge.
    const enforcementEnded = new events.Rule(this, 'EnforcementEnded', {
      ruleName: named('EnforcementEnded'),
      description: 'Model Guard enforcement executions that failed, timed out or were aborted',
      eventPattern: {
        source: ['aws.states'],
        detailType: ['Step Functions Execution Status Change'],
        detail: {
          stateMachineArn: [enforcement.stateMachineArn],
          status: ['FAILED', 'TIMED_OUT', 'ABORTED'],
        },
      },
    });
    enforcementEnded.addTarget({
      bind: () => ({ arn: guardTopic.topicArn, deadLetterConfig: { arn: deadLetters.queueArn } }),
    });
    // ... and the sweep at once, which restarts an enforcement stopped before its violation was
    // settled (its schedule would find it too, minutes later).
    enforcementEnded.addTarget(new targets.LambdaFunction(sweep, { retryAttempts: 2 }));
    healthRules.push({ names: [named('EnforcementEnded')], targets: [guardTopic.topicArn, sweep.functionArn] });

    let trail: cloudtrail.Trail | undefined;
    const trailBucketNames: string[] = [];
    if (settings.createTrail) {
      const trailBucket = new s3.Bucket(this, 'TrailBucket', {
        encryption: s3.BucketEncryption.S3_MANAGED,
        blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
        enforceSSL: true,
        versioned: true,
        lifecycleRules: [{
          expiration: Duration.days(settings.logRetentionDays),
          noncurrentVersionExpiration: Duration.days(1),
        }],
        removalPolicy: RemovalPolicy.RETAIN,
      });
      // Write events of this region are what the rules need (the first copy of management events
      // is free in CloudTrail); global services' (IAM's) too, which reach EventBridge in us-east-1.
      trail = new cloudtrail.Trail(this, 'Trail', {
        trailName: named('Trail'),
        bucket: trailBucket,
        isMultiRegionTrail: false,
        includeGlobalServiceEvents: true,
        enableFileValidation: true,
      });
      // Advanced selectors: the management writes; who writes the policy table (its data events,
      // writes only: the functions only Scan it); and every data event on the trail's own log files
      // but CloudTrail's deliveries (PutObject, which would log themselves without end): who read
      // or deleted them.
      const cfnTrail = trail.node.defaultChild as cloudtrail.CfnTrail;
      cfnTrail.eventSelectors = undefined;
      cfnTrail.advancedEventSelectors = trailSelectors(policies.tableArn, trailBucket.bucketArn);
      Validations.of(trailBucket).acknowledge({
        id: 'AwsSolutions::AwsSolutions-S1',
        reason: 'Server access logs would record who read or deleted the log files; the trail records '
          + 'that itself (data events on this bucket\'s objects, all but CloudTrail\'s own PutObject '
          + 'deliveries), so a second bucket for access logs would add nothing.',
      });
      trailBucketNames.push(trailBucket.bucketName);
    }

    // ---- The guard watching itself ------------------------------------------------------------
    // Each change to the policy table alerted field by field (its stream), and every message of
    // the guard topic kept for `guardctl status` (a subscription).
    const watch = fn('watch', { GUARD_TOPIC_ARN: guardTopic.topicArn, DECISIONS_TABLE: decisions.tableName }, [
      ...alerting(false),
      new iam.PolicyStatement({
        sid: 'ReadPolicyStream',
        actions: ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'],
        resources: [policies.tableStreamArn!],
      }),
      new iam.PolicyStatement({
        // AWS requires "*": ListStreams supports no resource-level permissions. Lambda's poller
        // lists the table's streams with the function's role.
        sid: 'FindPolicyStream',
        actions: ['dynamodb:ListStreams'],
        resources: ['*'],
      }),
      new iam.PolicyStatement({
        // The guard-topic messages, under their own prefix beside the audit items.
        sid: 'KeepGuardAlerts',
        actions: ['dynamodb:PutItem'],
        resources: [decisions.tableArn],
        conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${GUARD_ALERT_PREFIX}*`] } },
      }),
    ]);
    // One record per invocation, retried until it is alerted or the stream forgets it (24 h);
    // one that never succeeds is kept in the dead-letter queue (and alarms). TRIM_HORIZON: a
    // mapping made again reads what its predecessor may have missed.
    const policyStream = new lambda.EventSourceMapping(this, 'PolicyStream', {
      target: watch,
      eventSourceArn: policies.tableStreamArn!,
      startingPosition: lambda.StartingPosition.TRIM_HORIZON,
      batchSize: 1,
      bisectBatchOnError: true,
      onFailure: new lambdaEvents.SqsDlq(deadLetters),
    });
    guardTopic.addSubscription(new subscriptions.LambdaSubscription(watch));

    // Is the guard switched on: on a schedule, and alerted when that changes (functions/health).
    const healthTargets = Lazy.string({
      produce: () => this.toJsonString({
        version: 1,
        region: Aws.REGION,
        rules: healthRules,
        functions: Object.keys(functions).map(named),
        eventSourceMappings: [policyStream.eventSourceMappingId],
        trail: trail?.trailArn ?? null,
        policyTableArn: policies.tableArn,
        topics: [topic.topicArn, guardTopic.topicArn],
        sweepIntervalMinutes: settings.sweepIntervalMinutes,
      }),
    });
    const functionArn = (name: string) => arn('lambda', `function:${named(name)}`);
    const health = fn('health', {
      HEALTH_TARGETS: healthTargets,
      DECISIONS_TABLE: decisions.tableName,
      TOPIC_ARN: topic.topicArn,
      GUARD_TOPIC_ARN: guardTopic.topicArn,
    }, [
      new iam.PolicyStatement({
        sid: 'ReadGuardRules',
        actions: ['events:DescribeRule', 'events:ListTargetsByRule'],
        resources: Lazy.list({ produce: () => healthRules.flatMap((r) => r.names).map((name) => arn('events', `rule/${name}`)) }),
      }),
      new iam.PolicyStatement({
        // AWS requires "*": DescribeTrails supports no resource-level permissions.
        sid: 'FindTrails',
        actions: ['cloudtrail:DescribeTrails'],
        resources: ['*'],
      }),
      new iam.PolicyStatement({
        // Every trail that may be the one delivering this region's calls: the stack's, the
        // account's, a multi-region one or an organization's (another account's ARN).
        sid: 'ReadTrails',
        actions: ['cloudtrail:GetTrailStatus', 'cloudtrail:GetEventSelectors'],
        resources: [`arn:${Aws.PARTITION}:cloudtrail:*:*:trail/*`],
      }),
      new iam.PolicyStatement({
        sid: 'ReadFunctionConcurrency',
        actions: ['lambda:GetFunctionConcurrency'],
        resources: Lazy.list({ produce: () => Object.keys(functions).map(functionArn) }),
      }),
      new iam.PolicyStatement({
        sid: 'ReadPolicyStreamMapping',
        actions: ['lambda:GetEventSourceMapping'],
        resources: [arn('lambda', `event-source-mapping:${policyStream.eventSourceMappingId}`)],
      }),
      new iam.PolicyStatement({
        sid: 'ReadTopics',
        actions: ['sns:GetTopicAttributes'],
        resources: [topic.topicArn, guardTopic.topicArn],
      }),
      new iam.PolicyStatement({
        // The sweep's checkpoint, and what the last run alerted.
        // BatchGetItem: the items its byState query names (a keys-only index).
        sid: 'ReadGuardState',
        actions: ['dynamodb:GetItem', 'dynamodb:BatchGetItem'],
        resources: [decisions.tableArn],
      }),
      new iam.PolicyStatement({
        sid: 'WatchUnsettledDecisions',
        actions: ['dynamodb:Query'],
        resources: [`${decisions.tableArn}/index/${STATE_INDEX}`],
      }),
      new iam.PolicyStatement({
        sid: 'RememberHealth',
        actions: ['dynamodb:PutItem'],
        resources: [decisions.tableArn],
        conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [HEALTH_KEY] } },
      }),
      // Its alert; on the violations topic when the guard topic refuses it.
      ...alerting(true),
    ]);
    new events.Rule(this, 'HealthSchedule', {
      ruleName: named('HealthSchedule'),
      description: 'Model Guard health check: is the guard switched on',
      schedule: events.Schedule.rate(Duration.minutes(settings.healthIntervalMinutes)),
      targets: [new targets.LambdaFunction(health, { retryAttempts: 0 })],
    });
    healthRules.push({ names: [named('HealthSchedule')], targets: [functionArn('health')] });

    // ---- Approval URL ---------------------------------------------------------------------------
    // SigV4 only (AWS_IAM): who may call it is IAM's decision; who may approve is the function's,
    // since approver patterns are globs that cannot be IAM principals.
    const approvalUrl = approve.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.AWS_IAM });
    const invokers: iam.IPrincipal[] = settings.approvalInvokers.length > 0
      ? settings.approvalInvokers.map((role) => new iam.ArnPrincipal(role))
      : [new iam.AccountRootPrincipal()];
    invokers.forEach((principal, i) => {
      // Both permissions, as Lambda requires of function URLs created since October 2025.
      new lambda.CfnPermission(this, `ApprovalUrlInvoker${i}`, {
        functionName: approve.functionName,
        action: 'lambda:InvokeFunctionUrl',
        principal: principalString(principal),
        functionUrlAuthType: 'AWS_IAM',
      });
      new lambda.CfnPermission(this, `ApprovalInvoker${i}`, {
        functionName: approve.functionName,
        action: 'lambda:InvokeFunction',
        principal: principalString(principal),
        invokedViaFunctionUrl: true,
      });
    });

    // ---- Seeded policy items ----------------------------------------------------------------------
    // CDK's one-off SDK-call function; its own role, log group and name (the SCP lets only the
    // deployers invoke it: it writes to the policy table whatever its event says), so that it gets
    // no managed policy and writes only where it should. Each item is written once, at the first
    // deploy; an operator's later edits are never overwritten (nor removed on delete).
    const seedLogs = new logs.LogGroup(this, 'SeedDefaultPolicyLogs', { retention, removalPolicy: RemovalPolicy.RETAIN });
    const seedRole = new iam.Role(this, 'SeedDefaultPolicyRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Model Guard: seeds the default policy item and the enforcement setting once',
    });
    seedRole.addToPolicy(new iam.PolicyStatement({
      sid: 'WriteOwnLogs',
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      resources: [seedLogs.logGroupArn],
    }));
    seedRole.addToPolicy(new iam.PolicyStatement({
      sid: 'SeedDefaultPolicy',
      actions: ['dynamodb:PutItem', 'dynamodb:ConditionCheckItem'],
      resources: [policies.tableArn],
    }));
    const seed = (id: string, physicalId: string, call: { action: string, parameters: Record<string, unknown>, ignore: string }) =>
      new cr.AwsCustomResource(this, id, {
        installLatestAwsSdk: false,
        role: seedRole,
        logGroup: seedLogs,
        functionName: named('seed'),
        onCreate: {
          service: 'DynamoDB',
          action: call.action,
          parameters: call.parameters,
          physicalResourceId: cr.PhysicalResourceId.of(physicalId),
          ignoreErrorCodesMatching: call.ignore,
        },
      });
    const once = (item: Record<string, unknown>) => ({
      action: 'putItem',
      parameters: { TableName: policies.tableName, Item: item, ConditionExpression: 'attribute_not_exists(pk)' },
      ignore: 'ConditionalCheckFailedException',
    });
    // The stack-wide enforcement setting (README "First day"): `observe` at a first deploy by
    // default; switched with `guardctl enforcement enforce`, without a deploy. Without the item
    // the guard enforces, so deleting it cannot switch enforcement off. Written only into a table
    // without a `default` item: an upgrade of a stack that already guards (its default item
    // seeded or written) keeps enforcing, rather than quietly switch to observe.
    // The seeds' logical IDs changed with the function's name: CloudFormation refuses to change
    // an existing custom resource's ServiceToken, so an upgrade creates them anew (their writes
    // are conditional: a second Create changes nothing) and deletes the old ones.
    const enforcementSeed = seed('SeedEnforcementSettingOnce', 'model-guard-enforcement-setting', {
      action: 'transactWriteItems',
      parameters: {
        TransactItems: [
          { ConditionCheck: { TableName: policies.tableName, Key: { pk: { S: 'default' } }, ConditionExpression: 'attribute_not_exists(pk)' } },
          {
            Put: {
              TableName: policies.tableName,
              ConditionExpression: 'attribute_not_exists(pk)',
              Item: {
                pk: { S: 'enforcement' },
                mode: { S: settings.enforcement },
                description: {
                  S: settings.enforcement === 'observe'
                    ? 'Seeded by the stack: violations are alerted, nothing is stopped. `guardctl enforcement enforce` to enforce.'
                    : 'Seeded by the stack: violations are stopped or deleted after their grace.',
                },
              },
            },
          },
        ],
      },
      ignore: 'TransactionCanceledException',
    });
    if (settings.seedDefaultPolicy) {
      const defaultSeed = seed('SeedDefaultPolicyOnce', 'model-guard-default-policy', once({
        pk: { S: 'default' },
        principals: { L: [] },
        mode: { S: 'notify' },
        description: {
          S: 'Seeded by the stack: requests no other binding covers are reported, not stopped. Edit to enforce.',
        },
      }));
      // After the setting, whose write looks for a `default` item.
      defaultSeed.node.addDependency(enforcementSeed);
    }

    // ---- Alarms -------------------------------------------------------------------------------------
    const alarmAction = new cwActions.SnsAction(guardTopic);
    const alarms: cloudwatch.IAlarm[] = [];
    const alarm = (id: string, metric: cloudwatch.IMetric, description: string, periods = 1,
      missing = cloudwatch.TreatMissingData.NOT_BREACHING, datapointsToAlarm?: number) => {
      const a = new cloudwatch.Alarm(this, id, {
        alarmName: named(id),
        metric,
        threshold: 1,
        evaluationPeriods: periods,
        datapointsToAlarm,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: missing,
        alarmDescription: description,
      });
      a.addAlarmAction(alarmAction);
      alarms.push(a);
      return a;
    };
    // A member that stops forwarding (its rules disabled or deleted by its own administrators)
    // stops beating: fewer heartbeats than its regions send in 15 minutes alarms, and so does no
    // data at all. Per listed account; without a list (an organization), on the sum of all.
    if (heartbeats !== undefined) {
      const regions = settings.memberRegions.length > 0 ? settings.memberRegions.length : 1;
      const expected = regions * (15 / HEARTBEAT_MINUTES);
      const dimensions = settings.memberAccounts.length > 0 ? { Account: '$.account' } : undefined;
      new logs.MetricFilter(this, 'HeartbeatCount', {
        logGroup: heartbeats,
        metricNamespace: 'ModelGuard',
        metricName: 'MemberHeartbeats',
        filterPattern: logs.FilterPattern.exists('$.account'),
        metricValue: '1',
        dimensions,
      });
      const silent = (id: string, accountDimension: Record<string, string>, floor: number, who: string) => {
        const a = new cloudwatch.Alarm(this, id, {
          alarmName: named(id),
          metric: new cloudwatch.Metric({
            namespace: 'ModelGuard',
            metricName: 'MemberHeartbeats',
            dimensionsMap: accountDimension,
            statistic: 'Sum',
            period: Duration.minutes(15),
          }),
          threshold: floor,
          evaluationPeriods: 1,
          comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
          treatMissingData: cloudwatch.TreatMissingData.BREACHING,
          alarmDescription: `${who} sent fewer heartbeats than its member regions send in 15 minutes: its `
            + 'forwarding to Model Guard may be switched off, and its SageMaker calls unseen.',
        });
        a.addAlarmAction(alarmAction);
        alarms.push(a);
      };
      if (settings.memberAccounts.length > 0) {
        for (const account of settings.memberAccounts) {
          silent(`MemberSilent${account}`, { Account: account }, expected, `Member account ${account}`);
        }
      } else {
        silent('MembersSilent', {}, 1, 'The organization');
      }
    }
    for (const [id, m] of [['Triage', triage], ['Enforcement', enforcement], ['Sweep', sweepMachine],
      ['Scan', scanMachine]] as const) {
      alarm(`${id}ExecutionsFailed`, new cloudwatch.MathExpression({
        expression: 'failed + timedOut + aborted',
        usingMetrics: {
          failed: m.metricFailed({ statistic: 'Sum' }),
          timedOut: m.metricTimedOut({ statistic: 'Sum' }),
          aborted: m.metricAborted({ statistic: 'Sum' }),
        },
        period: Duration.minutes(5),
        label: `${id} executions that did not succeed`,
      }), `Model Guard: an execution of the ${id.toLowerCase()} state machine failed, timed out or was aborted.`);
    }
    // The sweep's report, from its "sweep done" log line: events no decision was made for (the
    // ledger's failed or long-unsettled entries), and records it could not handle at all.
    for (const [id, field, what] of [
      ['UndecidedEvents', 'undecided', 'events are undecided: a triage failed on them (a bad policy item, '
        + 'throttling, …) and the sweep keeps submitting them. `guardctl undecided` lists them and why.'],
      ['UnprocessableRecords', 'unprocessable', 'records could not be processed (an input Step Functions refuses, '
        + 'an unreadable item): see the sweep\'s log.'],
    ] as const) {
      const filter = new logs.MetricFilter(this, `${id}Metric`, {
        logGroup: functionLogs.sweep,
        metricNamespace: 'ModelGuard',
        metricName: id,
        // The chores' line, and each place's (records a look-in could not handle are counted there).
        filterPattern: field === 'undecided'
          ? logs.FilterPattern.stringValue('$.message', '=', 'sweep done')
          : logs.FilterPattern.any(logs.FilterPattern.stringValue('$.message', '=', 'sweep done'),
            logs.FilterPattern.stringValue('$.message', '=', 'looked in a place')),
        metricValue: `$.${field}`,
      });
      alarm(id, filter.metric({ period: Duration.minutes(Math.max(5, settings.sweepIntervalMinutes)), statistic: 'Maximum' }),
        `Model Guard: ${what}`);
    }
    // The health check's failing checks, from its "health done" line. No data is as bad as a failed
    // check: the check itself switched off (its schedule, its function, its logs) alerts too.
    // Two of three periods, so one late run is no alarm.
    const healthFailed = new logs.MetricFilter(this, 'HealthChecksFailedMetric', {
      logGroup: functionLogs.health,
      metricNamespace: 'ModelGuard',
      metricName: 'HealthChecksFailed',
      filterPattern: logs.FilterPattern.stringValue('$.message', '=', 'health done'),
      metricValue: '$.failed',
    });
    alarm('HealthCheckFailing', healthFailed.metric({
      period: Duration.minutes(settings.healthIntervalMinutes), statistic: 'Maximum',
    }), 'Model Guard: a health check fails, or the health check has stopped reporting (missing data '
      + 'counts as failing). `guardctl status` shows every check.', 3, cloudwatch.TreatMissingData.BREACHING, 2);
    alarm('DeadLettersWaiting', deadLetters.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5) }),
      'Model Guard: events EventBridge could not deliver are waiting in the dead-letter queue.');
    for (const [name, f] of Object.entries(functions)) {
      // enforce reports ResourceBusy while an endpoint is still being created, and the machine
      // retries it for about an hour; only errors that last longer than that are news (a final
      // failure is alerted by the machine itself).
      const periods = name === 'enforce' ? 12 : 1;
      alarm(`${pascal(name)}Errors`, f.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
        `Model Guard: the ${name} function reported errors${periods > 1 ? ' for an hour' : ''}.`, periods);
    }

    // ---- Tamper rules ---------------------------------------------------------------------------------
    // Changes to the guard's own resources, alerted at once on the guard topic (statemachine/
    // tamper-rules.json). What a rule cannot see (a change made while it was itself switched off)
    // the health check finds.
    const tables = [policies, decisions, records];
    const keys = [alertsKey, guardKey, tokenKey, enforcementKey];
    const tamper = tamperRules(this, named, {
      StackName: this.stackName,
      AccountId: Aws.ACCOUNT_ID,
      GuardTableNames: tables.map((t) => t.tableName),
      GuardTableArns: tables.map((t) => t.tableArn),
      PolicyTableName: policies.tableName,
      PolicyTableArn: policies.tableArn,
      GuardTopicArns: [topic.topicArn, guardTopic.topicArn],
      GuardKeyIds: keys.map((k) => k.keyId),
      GuardLogGroupNames: this.node.findAll().filter((c): c is logs.LogGroup => c instanceof logs.LogGroup)
        .map((g) => g.logGroupName),
      GuardRoleNames: this.node.findAll().filter((c): c is iam.Role => c instanceof iam.Role).map((r) => r.roleName),
      GuardEventSourceMappings: [policyStream.eventSourceMappingId],
      TrailBucketNames: trailBucketNames,
      DeadLetterQueueName: deadLetters.queueName,
    }, guardTopic, deadLetters);
    // Which rules may publish to the guard topic and dead-letter into the queue: these, by ARN
    // (EventBridge documents aws:SourceArn for both), not all of EventBridge.
    const guardRules = [enforcementEnded, ...tamper].map((r) => r.ruleArn);
    healthRules.push({ names: tamper.map((r) => named(r.node.id)), targets: [guardTopic.topicArn] });
    guardTopic.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'GuardRulesPublish',
      principals: [new iam.ServicePrincipal('events.amazonaws.com')],
      actions: ['sns:Publish'],
      resources: [guardTopic.topicArn],
      conditions: { ArnEquals: { 'aws:SourceArn': guardRules } },
    }));
    deadLetters.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'GuardRulesDeadLetter',
      principals: [new iam.ServicePrincipal('events.amazonaws.com')],
      actions: ['sqs:SendMessage'],
      resources: [deadLetters.queueArn],
      conditions: { ArnEquals: { 'aws:SourceArn': guardRules } },
    }));

    // ---- Who may write the tables, and use the keys -------------------------------------------------
    const roleOf = (name: string) => functions[name].role!.roleArn;
    onlyFor(tokenKey, 'OnlyNotifySealsTaskTokens', ['kms:Encrypt'], () => [roleOf('notify')]);
    onlyFor(tokenKey, 'OnlyApproveOpensTaskTokens', ['kms:Decrypt'], () => [roleOf('approve')]);
    onlyFor(enforcementKey, 'OnlyTheGuardReadsEnforcements', ['kms:Decrypt'],
      () => [enforcement.role.roleArn, roleOf('sweep'), deployRole]);
    // The data-plane writes: what a principal with DynamoDB rights (PowerUserAccess) would use to
    // forge an approval, a verdict or a policy. A resource policy's Deny holds whatever their own
    // IAM policies say.
    const writes = ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem',
      'dynamodb:PartiQLInsert', 'dynamodb:PartiQLUpdate', 'dynamodb:PartiQLDelete'];
    const onlyWrittenBy = (sid: string, writers: () => string[]) => new iam.PolicyDocument({
      statements: [new iam.PolicyStatement({
        sid,
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: writes,
        // The table's own ARN would make the table depend on itself: "*" is this table here.
        resources: ['*'],
        conditions: { ArnNotEquals: { 'aws:PrincipalArn': Lazy.list({ produce: writers }) } },
      })],
    });
    decisions.resourcePolicy = onlyWrittenBy('OnlyTheGuardWritesDecisions',
      () => [...['evaluate', 'claim', 'enforce', 'notify', 'approve', 'sweep', 'health', 'watch', 'scan'].map(roleOf),
        triage.role.roleArn]);
    policies.resourcePolicy = onlyWrittenBy('OnlyAdministratorsWritePolicies',
      () => [...settings.policyAdministrators, seedRole.roleArn]);
    if (settings.notificationEmails.length === 0) {
      Annotations.of(topic).addWarning('modelGuard:notificationEmails is empty: no one is subscribed to the '
        + 'violations topic. Subscribe someone (the setting, or the AlertTopicArn output), or violations go unread.');
    }
    if (settings.guardAlertEmails.length === 0) {
      Annotations.of(guardTopic).addWarning('modelGuard:guardAlertEmails (by default the notificationEmails) is '
        + 'empty: no one is subscribed to the guard topic. Subscribe someone (the GuardAlertTopicArn output), or '
        + 'tampering, alarms and failed enforcements go unread.');
    }
    if (settings.policyAdministrators.length === 0) {
      Annotations.of(policies).addWarning('modelGuard:policyAdministrators is empty: nobody can edit '
        + 'the policy table until it names the roles that may (README "Deploy").');
    }

    // Calls EventBridge never delivered: the sweep found and submitted them, so nothing was missed,
    // but the event path is losing calls (a member's rule disabled between heartbeats, a bus
    // policy changed, EventBridge's best effort): someone should look.
    alarm('EventsMissedByEventBridge', plain(METRICS.recoveredEvents, 'Sum', Duration.hours(1)),
      'Model Guard: the sweep found calls EventBridge never delivered to the guard (it decided them); '
      + 'see the sweep\'s "looked in a place" log lines for where.');
    // ---- The dashboard: the guard's metrics and alarms, where people look ------------------------
    dashboard(this, named('Dashboard'), alarms);

    // ---- Outputs (guardctl reads these by stack name) ----------------------------------------------------
    new CfnOutput(this, 'PolicyTableName', { value: policies.tableName });
    new CfnOutput(this, 'DecisionsTableName', { value: decisions.tableName });
    new CfnOutput(this, 'RecordsTableName', { value: records.tableName });
    new CfnOutput(this, 'AlertTopicArn', { value: topic.topicArn });
    new CfnOutput(this, 'GuardAlertTopicArn', { value: guardTopic.topicArn });
    new CfnOutput(this, 'ApprovalUrl', { value: approvalUrl.url });
    new CfnOutput(this, 'TriageStateMachineArn', { value: triage.stateMachineArn });
    new CfnOutput(this, 'EnforcementStateMachineArn', { value: enforcement.stateMachineArn });
    // What `guardctl status` checks (and the health function, as HEALTH_TARGETS).
    new CfnOutput(this, 'HealthTargets', { value: healthTargets });

  }
}



function pascal(name: string): string {
  return name.replace(/(^|-)(\w)/g, (_, __, c: string) => c.toUpperCase());
}

function principalString(principal: iam.IPrincipal): string {
  const json = principal.policyFragment.principalJson;
  const aws = json.AWS;
  if (!aws || aws.length !== 1) throw new Error('an approval invoker must be one AWS principal');
  return aws[0];
}

function retentionDays(days: number): logs.RetentionDays {
  const allowed = Object.values(logs.RetentionDays).filter((v): v is number => typeof v === 'number')
    .filter((v) => v > 0).sort((a, b) => a - b);
  // CloudWatch Logs accepts only certain retentions: the smallest that keeps logs at least as long.
  const chosen = allowed.find((v) => v >= days) ?? allowed[allowed.length - 1];
  return chosen as logs.RetentionDays;
}

/**
 * The trail's advanced event selectors: management writes; the policy table's write data events
 * (who changed a policy); and the data events on the trail's own log files but CloudTrail's
 * PutObject deliveries (who read or deleted them).
 */
export function trailSelectors(policyTableArn: string, bucketArn: string): cloudtrail.CfnTrail.AdvancedEventSelectorProperty[] {
  return [
    {
      name: 'Management writes: the SageMaker calls, and changes to the guard',
      fieldSelectors: [
        { field: 'eventCategory', equalTo: ['Management'] },
        { field: 'readOnly', equalTo: ['false'] },
      ],
    },
    {
      name: 'Writes to the policy table: who changed a policy',
      fieldSelectors: [
        { field: 'eventCategory', equalTo: ['Data'] },
        { field: 'resources.type', equalTo: ['AWS::DynamoDB::Table'] },
        { field: 'readOnly', equalTo: ['false'] },
        { field: 'resources.ARN', equalTo: [policyTableArn] },
      ],
    },
    {
      name: 'Reads and deletions of the log files',
      fieldSelectors: [
        { field: 'eventCategory', equalTo: ['Data'] },
        { field: 'resources.type', equalTo: ['AWS::S3::Object'] },
        { field: 'resources.ARN', startsWith: [`${bucketArn}/`] },
        { field: 'eventName', notEquals: ['PutObject'] },
      ],
    },
  ];
}

/** The tag every resource of the stack carries: its name (cdk/scp/protect-model-guard.json). */
export const GUARD_TAG = 'model-guard:stack';

/**
 * The stack's name starts the names of its functions, rules, alarms and state machines
 * (`<stack>-<id>`), which have length limits of their own (64 for functions and rules).
 */
export function checkStackName(name: string): void {
  if (!/^[A-Za-z][A-Za-z0-9-]{0,29}$/.test(name)) {
    throw new Error(`the stack name ${JSON.stringify(name)} must be 1 to 30 letters, digits and hyphens, `
      + 'starting with a letter: it starts the names of the guard\'s functions, rules and alarms');
  }
}
