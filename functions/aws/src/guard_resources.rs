//! The guard's own resources as the health check looks at them ([`GuardResources`]): its
//! EventBridge rules, the trails, its functions' reserved concurrency, the policy stream's event
//! source mapping, and its topics' subscribers. Read-only calls, each named in the stack's
//! health role.

use aws_sdk_cloudtrail::types::{AdvancedEventSelector, AdvancedFieldSelector, EventSelector};
use model_guard_core::GuardError;
use model_guard_core::health::{ReservedConcurrency, RuleFact, TrailFact};
use model_guard_core::ports::GuardResources;

use crate::error::service_code;
use crate::sdk_error;

pub struct AwsGuardResources {
    events: aws_sdk_eventbridge::Client,
    cloudtrail: aws_sdk_cloudtrail::Client,
    lambda: aws_sdk_lambda::Client,
    sns: aws_sdk_sns::Client,
}

impl AwsGuardResources {
    pub fn new(config: &aws_config::SdkConfig) -> AwsGuardResources {
        AwsGuardResources {
            events: aws_sdk_eventbridge::Client::new(config),
            cloudtrail: aws_sdk_cloudtrail::Client::new(config),
            lambda: aws_sdk_lambda::Client::new(config),
            sns: aws_sdk_sns::Client::new(config),
        }
    }

    async fn trail(
        &self,
        name: &str,
        arn: &str,
        home_region: &str,
        multi_region: bool,
    ) -> TrailFact {
        let mut fact = TrailFact {
            name: name.to_owned(),
            arn: arn.to_owned(),
            home_region: home_region.to_owned(),
            multi_region,
            ..TrailFact::default()
        };
        // A trail whose status or selectors cannot be read counts as logging nothing: what the
        // check cannot see does not pass.
        match self.cloudtrail.get_trail_status().name(arn).send().await {
            Ok(status) => {
                fact.logging = status.is_logging().unwrap_or(false);
                fact.delivery_error = status
                    .latest_delivery_error()
                    .filter(|e| !e.is_empty())
                    .map(str::to_owned);
            }
            Err(e) => {
                fact.unreadable = Some(sdk_error(&format!("GetTrailStatus {arn}"), &e).to_string());
                return fact;
            }
        }
        match self
            .cloudtrail
            .get_event_selectors()
            .trail_name(arn)
            .send()
            .await
        {
            Ok(selectors) => {
                let (management, tables) = if selectors.advanced_event_selectors().is_empty() {
                    basic(selectors.event_selectors())
                } else {
                    advanced(selectors.advanced_event_selectors())
                };
                fact.management_writes = management;
                fact.data_write_tables = tables;
            }
            Err(e) => {
                fact.unreadable =
                    Some(sdk_error(&format!("GetEventSelectors {arn}"), &e).to_string());
            }
        }
        fact
    }
}

/// What basic event selectors log: write management events of every source, and the tables whose
/// write data events they name (`*` for all, a trailing `*` for a prefix).
fn basic(selectors: &[EventSelector]) -> (bool, Vec<String>) {
    let writes = |s: &EventSelector| {
        s.read_write_type()
            .is_none_or(|t| matches!(t.as_str(), "All" | "WriteOnly"))
    };
    let management = selectors.iter().any(|s| {
        writes(s)
            && s.include_management_events().unwrap_or(true)
            && s.exclude_management_event_sources().is_empty()
    });
    let mut tables = Vec::new();
    for s in selectors.iter().filter(|s| writes(s)) {
        for resource in s.data_resources() {
            if resource.r#type() != Some("AWS::DynamoDB::Table") {
                continue;
            }
            for value in resource.values() {
                // `arn:<partition>:dynamodb` alone selects every table.
                if value.ends_with(":dynamodb") {
                    tables.push("*".to_owned());
                } else {
                    tables.push(value.clone());
                }
            }
        }
    }
    (management, tables)
}

fn field<'a>(selector: &'a AdvancedEventSelector, name: &str) -> Option<&'a AdvancedFieldSelector> {
    selector
        .field_selectors()
        .iter()
        .find(|f| f.field() == name)
}

/// Whether a field selector lets `value` through (no selector on the field lets everything).
fn admits(selector: Option<&AdvancedFieldSelector>, value: &str) -> bool {
    let Some(f) = selector else { return true };
    (f.equals().is_empty() || f.equals().iter().any(|v| v == value))
        && f.not_equals().iter().all(|v| v != value)
        && (f.starts_with().is_empty()
            || f.starts_with()
                .iter()
                .any(|v| value.starts_with(v.as_str())))
}

/// What advanced event selectors log, as [`basic`] says it. A management selector narrowed by
/// event source or name is not counted: the SageMaker calls may be what it leaves out.
fn advanced(selectors: &[AdvancedEventSelector]) -> (bool, Vec<String>) {
    let mut management = false;
    let mut tables = Vec::new();
    for s in selectors {
        let writes = admits(field(s, "readOnly"), "false");
        if admits(field(s, "eventCategory"), "Management")
            && field(s, "eventCategory").is_some()
            && writes
            && field(s, "eventSource").is_none()
            && field(s, "eventName").is_none()
        {
            management = true;
        }
        let data =
            field(s, "eventCategory").is_some_and(|f| f.equals().iter().any(|v| v == "Data"));
        let dynamodb = admits(field(s, "resources.type"), "AWS::DynamoDB::Table")
            && field(s, "resources.type").is_some();
        if !(data && dynamodb && writes && admits(field(s, "eventName"), "PutItem")) {
            continue;
        }
        match field(s, "resources.ARN") {
            None => tables.push("*".to_owned()),
            Some(f) => {
                tables.extend(f.equals().iter().cloned());
                tables.extend(f.starts_with().iter().map(|p| format!("{p}*")));
            }
        }
    }
    (management, tables)
}

impl GuardResources for AwsGuardResources {
    async fn rule(&self, name: &str) -> Result<Option<RuleFact>, GuardError> {
        let described = match self.events.describe_rule().name(name).send().await {
            Ok(d) => d,
            Err(e) if service_code(&e) == Some("ResourceNotFoundException") => return Ok(None),
            Err(e) => return Err(sdk_error(&format!("DescribeRule {name}"), &e)),
        };
        let mut targets = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let page = self
                .events
                .list_targets_by_rule()
                .rule(name)
                .set_next_token(next.take())
                .send()
                .await
                .map_err(|e| sdk_error(&format!("ListTargetsByRule {name}"), &e))?;
            targets.extend(page.targets().iter().map(|t| t.arn().to_owned()));
            match page.next_token() {
                Some(token) if !token.is_empty() => next = Some(token.to_owned()),
                _ => break,
            }
        }
        Ok(Some(RuleFact {
            state: described
                .state()
                .map_or("UNKNOWN", |s| s.as_str())
                .to_owned(),
            targets,
        }))
    }

    async fn trails(&self) -> Result<Vec<TrailFact>, GuardError> {
        // Shadow trails too: a multi-region or organization trail made elsewhere logs here.
        let described = self
            .cloudtrail
            .describe_trails()
            .include_shadow_trails(true)
            .send()
            .await
            .map_err(|e| sdk_error("DescribeTrails", &e))?;
        let mut facts = Vec::new();
        for trail in described.trail_list() {
            let (Some(name), Some(arn)) = (trail.name(), trail.trail_arn()) else {
                continue;
            };
            facts.push(
                self.trail(
                    name,
                    arn,
                    trail.home_region().unwrap_or_default(),
                    trail.is_multi_region_trail().unwrap_or(false),
                )
                .await,
            );
        }
        Ok(facts)
    }

    async fn reserved_concurrency(
        &self,
        function: &str,
    ) -> Result<Option<ReservedConcurrency>, GuardError> {
        match self
            .lambda
            .get_function_concurrency()
            .function_name(function)
            .send()
            .await
        {
            Ok(out) => Ok(Some(out.reserved_concurrent_executions())),
            Err(e) if service_code(&e) == Some("ResourceNotFoundException") => Ok(None),
            Err(e) => Err(sdk_error(&format!("GetFunctionConcurrency {function}"), &e)),
        }
    }

    async fn mapping_state(&self, uuid: &str) -> Result<Option<String>, GuardError> {
        match self
            .lambda
            .get_event_source_mapping()
            .uuid(uuid)
            .send()
            .await
        {
            Ok(out) => Ok(Some(out.state().unwrap_or("Unknown").to_owned())),
            Err(e) if service_code(&e) == Some("ResourceNotFoundException") => Ok(None),
            Err(e) => Err(sdk_error(&format!("GetEventSourceMapping {uuid}"), &e)),
        }
    }

    async fn confirmed_subscriptions(&self, topic: &str) -> Result<Option<u64>, GuardError> {
        match self
            .sns
            .get_topic_attributes()
            .topic_arn(topic)
            .send()
            .await
        {
            Ok(out) => Ok(Some(
                out.attributes()
                    .and_then(|a| a.get("SubscriptionsConfirmed"))
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0),
            )),
            Err(e) if service_code(&e) == Some("NotFound") => Ok(None),
            Err(e) => Err(sdk_error(&format!("GetTopicAttributes {topic}"), &e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_cloudtrail::types::{DataResource, ReadWriteType};

    use super::*;

    fn selector(fields: &[(&str, &str, &[&str])]) -> AdvancedEventSelector {
        let mut s = AdvancedEventSelector::builder();
        for (name, op, values) in fields {
            let mut f = AdvancedFieldSelector::builder().field(*name);
            for v in *values {
                f = match *op {
                    "equals" => f.equals(*v),
                    "notEquals" => f.not_equals(*v),
                    _ => f.starts_with(*v),
                };
            }
            s = s.field_selectors(f.build().unwrap_or_else(|e| panic!("{e}")));
        }
        s.build().unwrap_or_else(|e| panic!("{e}"))
    }

    const POLICY: &str = "arn:aws:dynamodb:us-east-1:1:table/G-Policies";

    #[test]
    fn the_stacks_own_selectors_read_as_management_writes_and_the_policy_table() {
        let (management, tables) = advanced(&[
            selector(&[
                ("eventCategory", "equals", &["Management"]),
                ("readOnly", "equals", &["false"]),
            ]),
            selector(&[
                ("eventCategory", "equals", &["Data"]),
                ("resources.type", "equals", &["AWS::DynamoDB::Table"]),
                ("readOnly", "equals", &["false"]),
                ("resources.ARN", "equals", &[POLICY]),
            ]),
        ]);
        assert!(management);
        assert_eq!(tables, [POLICY]);
    }

    #[test]
    fn narrowed_or_read_only_selectors_do_not_count() {
        let (management, tables) = advanced(&[
            selector(&[
                ("eventCategory", "equals", &["Management"]),
                ("eventSource", "notEquals", &["sagemaker.amazonaws.com"]),
            ]),
            selector(&[
                ("eventCategory", "equals", &["Management"]),
                ("readOnly", "equals", &["true"]),
            ]),
            selector(&[
                ("eventCategory", "equals", &["Data"]),
                ("resources.type", "equals", &["AWS::DynamoDB::Table"]),
                ("readOnly", "equals", &["true"]),
            ]),
            selector(&[
                ("eventCategory", "equals", &["Data"]),
                ("resources.type", "equals", &["AWS::S3::Object"]),
            ]),
        ]);
        assert!(!management);
        assert!(tables.is_empty(), "{tables:?}");
        // Every table, or a prefix of them.
        let (_, tables) = advanced(&[
            selector(&[
                ("eventCategory", "equals", &["Data"]),
                ("resources.type", "equals", &["AWS::DynamoDB::Table"]),
            ]),
            selector(&[
                ("eventCategory", "equals", &["Data"]),
                ("resources.type", "equals", &["AWS::DynamoDB::Table"]),
                (
                    "resources.ARN",
                    "startsWith",
                    &["arn:aws:dynamodb:us-east-1:1:table/G-"],
                ),
            ]),
        ]);
        assert_eq!(tables, ["*", "arn:aws:dynamodb:us-east-1:1:table/G-*"]);
    }

    #[test]
    fn basic_selectors_read_the_same_way() {
        let all = EventSelector::builder()
            .read_write_type(ReadWriteType::All)
            .include_management_events(true)
            .data_resources(
                DataResource::builder()
                    .r#type("AWS::DynamoDB::Table")
                    .values("arn:aws:dynamodb")
                    .build(),
            )
            .build();
        assert_eq!(basic(&[all]), (true, vec!["*".to_owned()]));
        let reads = EventSelector::builder()
            .read_write_type(ReadWriteType::ReadOnly)
            .include_management_events(true)
            .build();
        assert_eq!(basic(&[reads]), (false, Vec::new()));
        let excluding = EventSelector::builder()
            .include_management_events(true)
            .exclude_management_event_sources("kms.amazonaws.com")
            .build();
        assert!(!basic(&[excluding]).0);
    }
}
