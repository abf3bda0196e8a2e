// Where people look (README "The dashboard"): one CloudWatch dashboard of the guard's own metrics
// (Embedded Metric Format records its functions write: functions/core/src/metrics.rs) and of its
// alarms.
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';

/** The namespace and names functions/core/src/metrics.rs writes (a test holds them equal). */
export const METRICS = {
  namespace: 'ModelGuard',
  decisions: 'Decisions',
  timeToVerdict: 'TimeToVerdict',
  enforcements: 'Enforcements',
  timeToEnforcement: 'TimeToEnforcement',
  recoveredEvents: 'RecoveredEvents',
  pendingApprovals: 'PendingApprovals',
} as const;

/** A metric without dimensions. */
export function plain(name: string, statistic: string, period: Duration): cloudwatch.Metric {
  return new cloudwatch.Metric({ namespace: METRICS.namespace, metricName: name, statistic, period });
}

// Every series of a metric written with these dimensions (one per decision and resource type, …).
function search(name: string, dimensions: string[], statistic: string, label: string): cloudwatch.MathExpression {
  return new cloudwatch.MathExpression({
    expression: `SEARCH('{${METRICS.namespace},${dimensions.join(',')}} MetricName="${name}"', '${statistic}', 300)`,
    usingMetrics: {},
    label,
    period: Duration.minutes(5),
  });
}

export function dashboard(scope: Construct, name: string, alarms: cloudwatch.IAlarm[]): cloudwatch.Dashboard {
  const d = new cloudwatch.Dashboard(scope, 'Dashboard', {
    dashboardName: name,
    defaultInterval: Duration.days(1),
  });
  const wide = 12;
  d.addWidgets(
    new cloudwatch.GraphWidget({
      title: 'Decisions, by decision and resource type',
      left: [search(METRICS.decisions, ['Decision', 'ResourceType'], 'Sum', '')],
      stacked: true, width: wide,
    }),
    new cloudwatch.GraphWidget({
      title: 'Enforcements, by outcome and resource type',
      left: [search(METRICS.enforcements, ['Outcome', 'ResourceType'], 'Sum', '')],
      stacked: true, width: wide,
    }),
  );
  d.addWidgets(
    new cloudwatch.GraphWidget({
      title: 'From the call to the verdict (ms, p99)',
      left: [search(METRICS.timeToVerdict, ['Decision', 'ResourceType'], 'p99', '')],
      width: wide,
    }),
    new cloudwatch.GraphWidget({
      title: 'From the call to the enforcement (ms, p99; the grace period included)',
      left: [search(METRICS.timeToEnforcement, ['Outcome', 'ResourceType'], 'p99', '')],
      width: wide,
    }),
  );
  d.addWidgets(
    new cloudwatch.SingleValueWidget({
      title: 'Violations waiting for an approval or their grace',
      metrics: [plain(METRICS.pendingApprovals, 'Maximum', Duration.minutes(15))],
      width: 6,
    }),
    new cloudwatch.GraphWidget({
      title: 'Calls EventBridge never delivered, found by the sweep',
      left: [plain(METRICS.recoveredEvents, 'Sum', Duration.hours(1))],
      width: 6,
    }),
    new cloudwatch.AlarmStatusWidget({ title: 'The guard\'s alarms', alarms, width: wide, height: 6 }),
  );
  return d;
}
