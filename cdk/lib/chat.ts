// The alerts in chat (README "Alerts in chat"): Amazon Q Developer in chat applications (formerly
// AWS Chatbot) subscribes a Slack or Microsoft Teams channel to both topics over HTTPS and shows
// each alert's chat card (the `https` message of every publish: functions/core/src/chat.rs).
import { Aws, Validations } from 'aws-cdk-lib';
import * as chatbot from 'aws-cdk-lib/aws-chatbot';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';

import { ChatChannel } from './config';

/**
 * The channel's configuration, with least privilege: its role has no permission at all (it only
 * shows notifications), and its guardrail, the most any channel member may do through it, lets
 * them read nothing but the guard's own alarms.
 */
export function chatChannel(scope: Construct, channel: ChatChannel, topics: sns.ITopic[], stackName: string):
  chatbot.CfnSlackChannelConfiguration | chatbot.CfnMicrosoftTeamsChannelConfiguration {
  const role = new iam.Role(scope, 'ChatRole', {
    assumedBy: new iam.ServicePrincipal('chatbot.amazonaws.com'),
    description: 'Model Guard chat channel: shows the alerts, may do nothing',
  });
  const guardrail = new iam.ManagedPolicy(scope, 'ChatGuardrail', {
    description: 'Model Guard chat channel guardrail: the most a channel member may do through it',
    statements: [new iam.PolicyStatement({
      sid: 'ReadTheGuardsAlarms',
      actions: ['cloudwatch:DescribeAlarms'],
      resources: [`arn:${Aws.PARTITION}:cloudwatch:${Aws.REGION}:${Aws.ACCOUNT_ID}:alarm:${stackName}-*`],
    })],
  });
  Validations.of(guardrail).acknowledge({
    id: `AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:cloudwatch:<AWS::Region>:<AWS::AccountId>:alarm:${stackName}-*]`,
    reason: 'The guardrail caps what channel members may do: reading the guard\'s own alarms, every one '
      + 'named after the stack, and nothing else (without a guardrail AWS applies AdministratorAccess).',
  });
  const common = {
    configurationName: `${stackName}-Alerts`,
    iamRoleArn: role.roleArn,
    snsTopicArns: topics.map((t) => t.topicArn),
    guardrailPolicies: [guardrail.managedPolicyArn],
    loggingLevel: 'ERROR',
    userRoleRequired: false,
  };
  if ('slack' in channel) {
    return new chatbot.CfnSlackChannelConfiguration(scope, 'ChatChannel', {
      ...common,
      slackWorkspaceId: channel.slack.workspaceId,
      slackChannelId: channel.slack.channelId,
    });
  }
  return new chatbot.CfnMicrosoftTeamsChannelConfiguration(scope, 'ChatChannel', {
    ...common,
    teamId: channel.teams.teamId,
    teamsTenantId: channel.teams.tenantId,
    teamsChannelId: channel.teams.channelId,
  });
}
