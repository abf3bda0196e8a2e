// The stack's settings, from code or from `cdk.json` / `cdk -c modelGuard:<key>=<value>` context.
// Context given on the command line arrives as strings, so every value is parsed and checked here:
// a bad setting stops the synth with a message naming the key, never a half-built stack.

/** What a user sets. Every field has a default; see README "Deploy". */
export interface ModelGuardSettings {
  /** Grace period for bindings without `graceSeconds` (0 to 2,592,000 s). Default 900. */
  readonly defaultGraceSeconds?: number;
  /** Principal patterns (IAM `*`/`?`) allowed to override bindings without `approvers`. Default none. */
  readonly defaultApprovers?: string[];
  /** E-mail addresses subscribed to the alert topic (each confirms by mail). Default none. */
  readonly notificationEmails?: string[];
  /**
   * E-mail addresses subscribed to the guard's own alert topic: tampering, alarms, enforcement
   * executions that failed. It has a key of its own, so breaking the violations topic silences
   * neither. Default: the `notificationEmails`.
   */
  readonly guardAlertEmails?: string[];
  /**
   * Create a management-events trail. EventBridge receives "AWS API Call via CloudTrail" events
   * only while a trail is logging; set false when the account already has one. Default true.
   */
  readonly createTrail?: boolean;
  /** Seed the `default` policy item as notify-only (never overwrites an existing one). Default true. */
  readonly seedDefaultPolicy?: boolean;
  /**
   * Role ARNs allowed to call the approval URL. Default: any principal of this account that its
   * own IAM policy allows. The approval function checks approver patterns itself either way.
   */
  readonly approvalInvokers?: string[];
  /** Days Lambda, state machine and trail logs are kept. Default 365. */
  readonly logRetentionDays?: number;
  /** Minutes between sweeps for calls EventBridge did not deliver (5 to 1440). Default 15. */
  readonly sweepIntervalMinutes?: number;
  /**
   * Minutes between health checks (1 to 60). Default 5. Its alarm fires when two of three
   * checks fail or are missing.
   */
  readonly healthIntervalMinutes?: number;
  /**
   * Seconds between enforcement attempts on a resource that is busy (Creating, Updating, …):
   * never given up while it is there, an alert at every hand-over to a fresh execution (each 60
   * attempts). 1 to 3600. Default 60.
   */
  readonly busyRetrySeconds?: number;
  /**
   * What the triage (Express) machine logs, with execution data: `ERROR` (failed executions only)
   * or `ALL` (every state of every execution). Default `ERROR`: at `ALL` its logs are most of the
   * cost of an allowed event (bench/REPORT.md), and the audit item and the functions' own logs
   * already record every decision.
   */
  readonly triageLogLevel?: TriageLogLevel;
  /**
   * What a subject the guard cannot resolve (a config or model gone, a describe denied, an event
   * that lost its parameters) costs: `enforce` (the default), or lowered to `notify` or `off`.
   * It applies whatever the `default` policy item says.
   */
  readonly unresolvedAction?: UnresolvedAction;
  /**
   * Role ARNs that may write the policy table (guardctl, the console). The table's resource
   * policy denies writes to every other principal but the guard's own roles. Default none: no one
   * edits policies until this is set (fail closed).
   */
  readonly policyAdministrators?: string[];
  /**
   * The stack-wide enforcement setting written at the first deploy (the policy table's
   * `enforcement` item; later deploys never overwrite it): `observe` (every violation decided,
   * audited and alerted, nothing stopped or deleted) or `enforce`. Default `observe`, for the
   * first days while the policy is tuned (README "First day"); switch with
   * `guardctl enforcement enforce`, no deploy needed.
   */
  readonly enforcement?: StackEnforcement;
  /**
   * Hours between drift scans (1 to 168): what exists now is judged against the policy, and a
   * violation that was not there at the last scan (a policy change, a model re-pointed) is
   * alerted, once. Default 24.
   */
  readonly driftScanIntervalHours?: number;
  /**
   * One guard for a whole organization (README "Deploy for an organization"): its ID
   * (`o-…`). The guard's event bus admits every account of it (`aws:PrincipalOrgID`), and the
   * central functions act in any of its accounts through the member roles. Default none.
   */
  readonly organizationId?: string;
  /**
   * Or the member accounts, listed: the bus admits these, the functions act in these. Ignored
   * when `organizationId` is set. Default none (a single-account guard).
   */
  readonly memberAccounts?: string[];
  /**
   * The regions the members forward from (each sends a heartbeat every 5 minutes from each).
   * Default: this stack's region.
   */
  readonly memberRegions?: string[];
  /**
   * A chat channel that shows every alert of both topics as a card (Amazon Q Developer in chat
   * applications, formerly AWS Chatbot): `{"slack": {"workspaceId": "T…", "channelId": "C…"}}` or
   * `{"teams": {"teamId": "…", "tenantId": "…", "channelId": "…"}}`. The workspace or team must
   * have been authorised once in the Amazon Q Developer console of this account. Default none.
   */
  readonly chatChannel?: ChatChannel;
  /**
   * What the decisions table's `byResource` and `byState` indexes hold: `KEYS_ONLY` (the
   * default; the functions read the items from the table, and each index write of an allowed
   * event is one unit whatever the item's size) or `ALL` (the layout of a stack deployed before
   * this setting: DynamoDB cannot change an index's projection in place, so keep `ALL` when
   * upgrading such a stack; the functions work with either).
   */
  readonly auditIndexProjection?: AuditIndexProjection;
}

/** Where the alerts are shown in chat. */
export type ChatChannel =
  | { readonly slack: { readonly workspaceId: string; readonly channelId: string } }
  | { readonly teams: { readonly teamId: string; readonly tenantId: string; readonly channelId: string } };

export const ENFORCEMENT_SETTINGS = ['observe', 'enforce'] as const;
export type StackEnforcement = (typeof ENFORCEMENT_SETTINGS)[number];

export const UNRESOLVED_ACTIONS = ['enforce', 'notify', 'off'] as const;
export type UnresolvedAction = (typeof UNRESOLVED_ACTIONS)[number];

export const TRIAGE_LOG_LEVELS = ['ERROR', 'ALL'] as const;
export type TriageLogLevel = (typeof TRIAGE_LOG_LEVELS)[number];

export const AUDIT_INDEX_PROJECTIONS = ['KEYS_ONLY', 'ALL'] as const;
export type AuditIndexProjection = (typeof AUDIT_INDEX_PROJECTIONS)[number];

export const CONTEXT_PREFIX = 'modelGuard:';
const KEYS = [
  'defaultGraceSeconds',
  'defaultApprovers',
  'notificationEmails',
  'guardAlertEmails',
  'createTrail',
  'seedDefaultPolicy',
  'approvalInvokers',
  'logRetentionDays',
  'sweepIntervalMinutes',
  'healthIntervalMinutes',
  'busyRetrySeconds',
  'triageLogLevel',
  'unresolvedAction',
  'policyAdministrators',
  'enforcement',
  'driftScanIntervalHours',
  'organizationId',
  'memberAccounts',
  'memberRegions',
  'chatChannel',
  'auditIndexProjection',
] as const;

export const MAX_GRACE_SECONDS = 2_592_000;

/** Settings with every default filled in (`organizationId` and `chatChannel` stay optional: none
 * is a value). */
export type ResolvedSettings = Required<Omit<ModelGuardSettings, 'organizationId' | 'chatChannel'>>
  & Pick<ModelGuardSettings, 'organizationId' | 'chatChannel'>;

export class SettingsError extends Error {}

/** Reads `modelGuard:*` context through `get` (e.g. `app.node.tryGetContext`). */
export function settingsFromContext(get: (key: string) => unknown): ModelGuardSettings {
  const settings: Record<string, unknown> = {};
  for (const key of KEYS) {
    const value = get(CONTEXT_PREFIX + key);
    if (value !== undefined) settings[key] = value;
  }
  return settings as ModelGuardSettings;
}

/** Checks every setting and fills in the defaults; throws a SettingsError naming the key. */
export function resolveSettings(raw: ModelGuardSettings): ResolvedSettings {
  return {
    defaultGraceSeconds: integer('defaultGraceSeconds', raw.defaultGraceSeconds, 900, 0, MAX_GRACE_SECONDS),
    defaultApprovers: strings('defaultApprovers', raw.defaultApprovers, (s) => s.length > 0, 'an empty pattern'),
    notificationEmails: strings('notificationEmails', raw.notificationEmails, isEmail, 'not an e-mail address'),
    guardAlertEmails: raw.guardAlertEmails === undefined
      ? strings('notificationEmails', raw.notificationEmails, isEmail, 'not an e-mail address')
      : strings('guardAlertEmails', raw.guardAlertEmails, isEmail, 'not an e-mail address'),
    createTrail: boolean('createTrail', raw.createTrail, true),
    seedDefaultPolicy: boolean('seedDefaultPolicy', raw.seedDefaultPolicy, true),
    approvalInvokers: strings('approvalInvokers', raw.approvalInvokers,
      (s) => /^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/.test(s), 'not an IAM role ARN'),
    logRetentionDays: integer('logRetentionDays', raw.logRetentionDays, 365, 1, 3653),
    sweepIntervalMinutes: integer('sweepIntervalMinutes', raw.sweepIntervalMinutes, 15, 5, 1440),
    healthIntervalMinutes: integer('healthIntervalMinutes', raw.healthIntervalMinutes, 5, 1, 60),
    busyRetrySeconds: integer('busyRetrySeconds', raw.busyRetrySeconds, 60, 1, 3600),
    triageLogLevel: oneOf('triageLogLevel', raw.triageLogLevel, 'ERROR', TRIAGE_LOG_LEVELS),
    unresolvedAction: oneOf('unresolvedAction', raw.unresolvedAction, 'enforce', UNRESOLVED_ACTIONS),
    policyAdministrators: strings('policyAdministrators', raw.policyAdministrators,
      (s) => /^arn:aws[a-z-]*:iam::\d{12}:role\/.+/.test(s), 'not an IAM role ARN'),
    enforcement: oneOf('enforcement', raw.enforcement, 'observe', ENFORCEMENT_SETTINGS),
    driftScanIntervalHours: integer('driftScanIntervalHours', raw.driftScanIntervalHours, 24, 1, 168),
    organizationId: raw.organizationId === undefined ? undefined
      : /^o-[a-z0-9]{10,32}$/.test(String(raw.organizationId)) ? String(raw.organizationId)
        : fail('organizationId', `${JSON.stringify(raw.organizationId)} is not an organization ID (o-…)`),
    memberAccounts: strings('memberAccounts', raw.memberAccounts, (s) => /^\d{12}$/.test(s), 'not an account ID (12 digits)'),
    memberRegions: strings('memberRegions', raw.memberRegions, (s) => /^[a-z]{2}(-[a-z]+)+-\d$/.test(s), 'not a region'),
    chatChannel: chatChannel(raw.chatChannel),
    auditIndexProjection: oneOf('auditIndexProjection', raw.auditIndexProjection, 'KEYS_ONLY', AUDIT_INDEX_PROJECTIONS),
  };
}

const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

// An object, or (from the command line) its JSON in a string; each ID as CloudFormation takes it.
function chatChannel(value: unknown): ChatChannel | undefined {
  const key = 'chatChannel';
  if (value === undefined) return undefined;
  let channel: any = value;
  if (typeof value === 'string') {
    try {
      channel = JSON.parse(value);
    } catch {
      fail(key, `${JSON.stringify(value)} is not JSON`);
    }
  }
  const id = (where: string, v: unknown, valid: RegExp, what: string): string => {
    if (typeof v !== 'string' || !valid.test(v)) fail(key, `${where}: ${JSON.stringify(v)} is not ${what}`);
    return v as string;
  };
  if (channel === null || typeof channel !== 'object' || Object.keys(channel).length !== 1) {
    return fail(key, `${JSON.stringify(value)}: give {"slack": {…}} or {"teams": {…}}`);
  }
  if (channel.slack !== undefined) {
    return { slack: {
      workspaceId: id('slack.workspaceId', channel.slack?.workspaceId, /^[0-9A-Z]{1,255}$/, 'a Slack workspace ID (T…)'),
      channelId: id('slack.channelId', channel.slack?.channelId, /^[A-Za-z0-9]{1,255}$/, 'a Slack channel ID (C…)'),
    } };
  }
  if (channel.teams !== undefined) {
    return { teams: {
      teamId: id('teams.teamId', channel.teams?.teamId, GUID, 'a Microsoft Teams team ID (a GUID)'),
      tenantId: id('teams.tenantId', channel.teams?.tenantId, GUID, 'a Microsoft Teams tenant ID (a GUID)'),
      channelId: id('teams.channelId', channel.teams?.channelId, /^[^\s]{1,255}$/, 'a Microsoft Teams channel ID'),
    } };
  }
  return fail(key, `${JSON.stringify(value)}: give {"slack": {…}} or {"teams": {…}}`);
}

function isEmail(s: string): boolean {
  return /^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(s);
}

function fail(key: string, message: string): never {
  throw new SettingsError(`${CONTEXT_PREFIX}${key}: ${message}`);
}

function integer(key: string, value: unknown, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n)) fail(key, `${JSON.stringify(value)} is not an integer`);
  if (n < min || n > max) fail(key, `${n} is outside ${min}..${max}`);
  return n;
}

function boolean(key: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  return fail(key, `${JSON.stringify(value)} is not true or false`);
}

function oneOf<T extends string>(key: string, value: unknown, fallback: T, allowed: readonly T[]): T {
  if (value === undefined) return fallback;
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  return fail(key, `${JSON.stringify(value)} is not one of ${allowed.join(', ')}`);
}

// A list, or (from the command line) a JSON array in a string.
function strings(key: string, value: unknown, valid: (s: string) => boolean, what: string): string[] {
  if (value === undefined) return [];
  let list = value;
  if (typeof value === 'string') {
    try {
      list = JSON.parse(value);
    } catch {
      fail(key, `${JSON.stringify(value)} is not a JSON array of strings`);
    }
  }
  if (!Array.isArray(list)) fail(key, `${JSON.stringify(value)} is not a list of strings`);
  return list.map((item, i) => {
    if (typeof item !== 'string') fail(key, `[${i}] ${JSON.stringify(item)} is not a string`);
    if (!valid(item)) fail(key, `[${i}] ${JSON.stringify(item)} is ${what}`);
    return item;
  });
}
