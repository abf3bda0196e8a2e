// The stack's settings: defaults, command-line strings, and a clear error naming the bad key.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { resolveSettings, settingsFromContext, SettingsError } from '../lib/config';

test('defaults: grace 900, no approvers or e-mails, a trail, the default policy seeded', () => {
  assert.deepEqual(resolveSettings({}), {
    defaultGraceSeconds: 900,
    defaultApprovers: [],
    notificationEmails: [],
    guardAlertEmails: [],
    createTrail: true,
    seedDefaultPolicy: true,
    approvalInvokers: [],
    logRetentionDays: 365,
    sweepIntervalMinutes: 15,
    healthIntervalMinutes: 5,
    busyRetrySeconds: 60,
    triageLogLevel: 'ERROR',
    unresolvedAction: 'enforce',
    policyAdministrators: [],
    enforcement: 'observe',
    driftScanIntervalHours: 24,
    organizationId: undefined,
    memberAccounts: [],
    memberRegions: [],
    chatChannel: undefined,
    auditIndexProjection: 'KEYS_ONLY',
  });
});

test('context from the command line arrives as strings and is parsed', () => {
  const context: Record<string, string> = {
    'modelGuard:defaultGraceSeconds': '60',
    'modelGuard:defaultApprovers': '["arn:aws:iam::*:role/SecurityOps*"]',
    'modelGuard:notificationEmails': '["ops@example.com"]',
    'modelGuard:createTrail': 'false',
    'modelGuard:seedDefaultPolicy': 'false',
    'modelGuard:triageLogLevel': 'ALL',
    'modelGuard:unresolvedAction': 'notify',
    'modelGuard:policyAdministrators': '["arn:aws:iam::111122223333:role/PolicyAdmin"]',
    'modelGuard:healthIntervalMinutes': '10',
    'modelGuard:enforcement': 'enforce',
    'modelGuard:driftScanIntervalHours': '6',
    'modelGuard:memberAccounts': '["444455556666"]',
    'modelGuard:memberRegions': '["us-east-1","eu-west-1"]',
    'modelGuard:chatChannel': '{"slack": {"workspaceId": "T07EA123LEP", "channelId": "C07EZ1ABC23"}}',
    'modelGuard:auditIndexProjection': 'ALL',
    'unrelated': 'ignored',
  };
  assert.deepEqual(resolveSettings(settingsFromContext((k) => context[k])), {
    defaultGraceSeconds: 60,
    defaultApprovers: ['arn:aws:iam::*:role/SecurityOps*'],
    notificationEmails: ['ops@example.com'],
    guardAlertEmails: ['ops@example.com'],
    createTrail: false,
    seedDefaultPolicy: false,
    approvalInvokers: [],
    logRetentionDays: 365,
    sweepIntervalMinutes: 15,
    healthIntervalMinutes: 10,
    busyRetrySeconds: 60,
    triageLogLevel: 'ALL',
    unresolvedAction: 'notify',
    policyAdministrators: ['arn:aws:iam::111122223333:role/PolicyAdmin'],
    enforcement: 'enforce',
    driftScanIntervalHours: 6,
    organizationId: undefined,
    memberAccounts: ['444455556666'],
    memberRegions: ['us-east-1', 'eu-west-1'],
    chatChannel: { slack: { workspaceId: 'T07EA123LEP', channelId: 'C07EZ1ABC23' } },
    auditIndexProjection: 'ALL',
  });
});

test('the guard topic has its own subscribers when they are given, else the notification ones', () => {
  assert.deepEqual(resolveSettings({ notificationEmails: ['ds@example.com'], guardAlertEmails: ['sec@example.com'] })
    .guardAlertEmails, ['sec@example.com']);
  assert.deepEqual(resolveSettings({ notificationEmails: ['ds@example.com'], guardAlertEmails: [] })
    .guardAlertEmails, []);
});

test('a bad setting stops the synth with a message naming the key and the value', () => {
  const cases: [object, RegExp][] = [
    [{ defaultGraceSeconds: 2_592_001 }, /^modelGuard:defaultGraceSeconds: 2592001 is outside 0\.\.2592000$/],
    [{ defaultGraceSeconds: '15m' }, /^modelGuard:defaultGraceSeconds: "15m" is not an integer$/],
    [{ defaultGraceSeconds: 1.5 }, /is not an integer/],
    [{ defaultApprovers: 'SecurityOps' }, /^modelGuard:defaultApprovers: "SecurityOps" is not a JSON array of strings$/],
    [{ defaultApprovers: [''] }, /^modelGuard:defaultApprovers: \[0\] "" is an empty pattern$/],
    [{ notificationEmails: ['ops'] }, /^modelGuard:notificationEmails: \[0\] "ops" is not an e-mail address$/],
    [{ notificationEmails: [7] }, /\[0\] 7 is not a string/],
    [{ guardAlertEmails: ['oncall'] }, /^modelGuard:guardAlertEmails: \[0\] "oncall" is not an e-mail address$/],
    [{ createTrail: 'yes' }, /^modelGuard:createTrail: "yes" is not true or false$/],
    [{ approvalInvokers: ['arn:aws:iam::123456789012:user/alice'] }, /is not an IAM role ARN/],
    [{ logRetentionDays: 0 }, /^modelGuard:logRetentionDays: 0 is outside 1\.\.3653$/],
    [{ busyRetrySeconds: 0 }, /^modelGuard:busyRetrySeconds: 0 is outside 1\.\.3600$/],
    [{ sweepIntervalMinutes: 1 }, /^modelGuard:sweepIntervalMinutes: 1 is outside 5\.\.1440$/],
    [{ healthIntervalMinutes: 61 }, /^modelGuard:healthIntervalMinutes: 61 is outside 1\.\.60$/],
    [{ triageLogLevel: 'all' }, /^modelGuard:triageLogLevel: "all" is not one of ERROR, ALL$/],
    [{ auditIndexProjection: 'INCLUDE' as any }, /^modelGuard:auditIndexProjection: "INCLUDE" is not one of KEYS_ONLY, ALL$/],
    [{ unresolvedAction: 'block' }, /^modelGuard:unresolvedAction: "block" is not one of enforce, notify, off$/],
    [{ enforcement: 'notify' }, /^modelGuard:enforcement: "notify" is not one of observe, enforce$/],
    [{ driftScanIntervalHours: 0 }, /^modelGuard:driftScanIntervalHours: 0 is outside 1\.\.168$/],
    [{ organizationId: 'r-abcd' }, /^modelGuard:organizationId: "r-abcd" is not an organization ID \(o-…\)$/],
    [{ memberAccounts: ['1111'] }, /^modelGuard:memberAccounts: \[0\] "1111" is not an account ID \(12 digits\)$/],
    [{ memberRegions: ['Ireland'] }, /^modelGuard:memberRegions: \[0\] "Ireland" is not a region$/],
    [{ chatChannel: '#alerts' }, /^modelGuard:chatChannel: "#alerts" is not JSON$/],
    [{ chatChannel: { slack: { workspaceId: 'T01', channelId: 'C01' }, teams: {} } }, /give \{"slack"/],
    [{ chatChannel: { slack: { workspaceId: 't-lower', channelId: 'C01' } } },
      /^modelGuard:chatChannel: slack.workspaceId: "t-lower" is not a Slack workspace ID/],
    [{ chatChannel: '{"teams": {"teamId": "x", "tenantId": "x", "channelId": "c"}}' },
      /^modelGuard:chatChannel: teams.teamId: "x" is not a Microsoft Teams team ID/],
  ];
  for (const [settings, message] of cases) {
    assert.throws(() => resolveSettings(settings as any), (e: unknown) =>
      e instanceof SettingsError && message.test(e.message), JSON.stringify(settings));
  }
});
