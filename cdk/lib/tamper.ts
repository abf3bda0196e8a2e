// The tamper rules of statemachine/tamper-rules.json: CloudTrail calls that change the guard's own
// resources, each rule alerting on the guard topic at once (EventBridge -> SNS, no function that
// could itself be switched off in between).
import { readFileSync } from 'fs';
import * as path from 'path';
import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

export const TAMPER_RULES_FILE = path.join(__dirname, '..', '..', 'statemachine', 'tamper-rules.json');

export interface TamperRuleSpec {
  readonly what: string;
  readonly pattern: Record<string, unknown>;
}

export interface TamperRulesFile {
  readonly rules: Record<string, TamperRuleSpec>;
  readonly inputPathsMap: Record<string, string>;
  readonly inputTemplates: Record<string, string>;
}

export function readTamperRules(): TamperRulesFile {
  return JSON.parse(readFileSync(TAMPER_RULES_FILE, 'utf8'));
}

/** A placeholder's value: one string, or a list (an element naming it is repeated per value). */
export type PlaceholderValues = Record<string, string | string[]>;

const PLACEHOLDER = /\$\{([A-Za-z]+)\}/g;

/**
 * Fills a pattern's placeholders (the rule is in the file's comment): `undefined` when a list
 * placeholder has no values, so that the rule, which could match nothing, is not made.
 */
export function fillPattern(value: unknown, values: PlaceholderValues): unknown | undefined {
  let empty = false;
  const names = (v: unknown): string[] => [...JSON.stringify(v).matchAll(PLACEHOLDER)].map((m) => m[1]);
  const replace = (v: unknown, name: string, by: string): unknown => {
    if (typeof v === 'string') return v.split('${' + name + '}').join(by);
    if (Array.isArray(v)) return v.map((x) => replace(x, name, by));
    if (v && typeof v === 'object') {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, replace(x, name, by)]));
    }
    return v;
  };
  const fill = (v: unknown): unknown => {
    if (Array.isArray(v)) {
      return v.flatMap((element) => {
        const list = names(element).find((n) => Array.isArray(values[n]));
        if (list === undefined) return [fill(element)];
        const each = values[list] as string[];
        if (each.length === 0) empty = true;
        return each.map((one) => fill(replace(element, list, one)));
      });
    }
    if (typeof v === 'string') {
      return v.replace(PLACEHOLDER, (whole, name: string) => {
        const given = values[name];
        if (given === undefined) throw new Error(`tamper-rules.json: no value for ${whole}`);
        if (Array.isArray(given)) throw new Error(`tamper-rules.json: ${whole} is a list, outside a list`);
        return given;
      });
    }
    if (v && typeof v === 'object') {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fill(x)]));
    }
    return v;
  };
  const filled = fill(value);
  return empty ? undefined : filled;
}

/**
 * One rule per entry of the file whose placeholders all have values, each delivering to `topic`
 * through the file's input transformer, with retries and a dead-letter queue.
 */
export function tamperRules(scope: Construct, names: (id: string) => string, values: PlaceholderValues,
  topic: sns.ITopic, deadLetters: sqs.IQueue): events.Rule[] {
  const file = readTamperRules();
  const rules: events.Rule[] = [];
  for (const [id, spec] of Object.entries(file.rules)) {
    const pattern = fillPattern(spec.pattern, values);
    if (pattern === undefined) continue;
    const template = file.inputTemplates[spec.what];
    if (template === undefined) throw new Error(`tamper-rules.json: ${id}: no input template for ${spec.what}`);
    const rule = new events.Rule(scope, `Tamper${id}`, {
      ruleName: names(`Tamper${id}`),
      description: `Model Guard: changes to the guard's own resources (${id}), alerted at once`,
      eventPattern: pattern as events.EventPattern,
    });
    // Bound by hand: the file's transformer as it is, and the topic policy names these rules.
    rule.addTarget({
      bind: () => ({
        arn: topic.topicArn,
        deadLetterConfig: { arn: deadLetters.queueArn },
        retryPolicy: { maximumRetryAttempts: 185, maximumEventAgeInSeconds: Duration.hours(24).toSeconds() },
      }),
    });
    const cfn = rule.node.defaultChild as events.CfnRule;
    cfn.addPropertyOverride('Targets.0.InputTransformer', {
      InputPathsMap: file.inputPathsMap,
      InputTemplate: template,
    });
    rules.push(rule);
  }
  return rules;
}
