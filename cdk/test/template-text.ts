// Templates as text, for tests that read them as a reviewer would: values rendered, statements as
// one line each ("Allow actions on resources [if condition]").
import { Template } from 'aws-cdk-lib/assertions';

export type Resources = Record<string, { Type: string; Properties: any; DeletionPolicy?: string }>;
export const resources = (t: Template): Resources => t.toJSON().Resources;
export const ofType = (t: Template, type: string) =>
  Object.entries(resources(t)).filter(([, r]) => r.Type === type);

// A CloudFormation value as text: {"Fn::GetAtt": ["Decisions28C7D866", "Arn"]} → "Decisions.Arn",
// {"Ref": "AWS::Region"} → "${Region}", joins concatenated. Logical-ID hashes are dropped.
export function render(value: any): string {
  if (typeof value === 'string') return value;
  const id = (logical: string) => logical.replace(/[0-9A-F]{8}$/, '');
  if (value.Ref) return value.Ref.startsWith('AWS::') ? `\${${value.Ref.slice(5)}}` : id(value.Ref);
  if (value['Fn::GetAtt']) return `${id(value['Fn::GetAtt'][0])}.${value['Fn::GetAtt'][1]}`;
  if (value['Fn::Join']) return value['Fn::Join'][1].map(render).join(value['Fn::Join'][0]);
  throw new Error(`cannot render ${JSON.stringify(value)}`);
}
export const list = (v: any) => (Array.isArray(v) ? v : [v]);

// A statement's condition as text: " if Operator key values".
export function condition(statement: any): string {
  if (!statement.Condition) return '';
  return Object.entries<any>(statement.Condition).map(([operator, keys]) =>
    Object.entries<any>(keys).map(([key, values]) => ` if ${operator} ${key} ${list(values).map(render).join(',')}`).join(''))
    .join('');
}

// Every IAM statement of every role, by role: "Allow actions on resources [if condition]".
export function statementsByRole(t: Template): Record<string, string[]> {
  const byRole: Record<string, string[]> = {};
  for (const [, policy] of ofType(t, 'AWS::IAM::Policy')) {
    for (const role of policy.Properties.Roles) {
      const name = render(role);
      byRole[name] = [...(byRole[name] ?? []), ...policy.Properties.PolicyDocument.Statement.map((s: any) =>
        `${s.Effect} ${list(s.Action).join(',')} on ${list(s.Resource).map(render).join(' ')}${condition(s)}`)];
    }
  }
  return byRole;
}

