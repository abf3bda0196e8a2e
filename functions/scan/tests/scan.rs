//! The scan function against the testbed: `--enforce` records and starts each violation once,
//! and the drift scan alerts each new violation once — a policy change that makes one is alerted,
//! and nothing is alerted twice.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration as StdDuration;

use aws_config::SdkConfig;
use model_guard_aws::audit_store::DynamoAuditLog;
use model_guard_aws::cloudtrail::CloudTrailHistory;
use model_guard_aws::guard_store::DynamoGuardStore;
use model_guard_aws::iam::IamRoles;
use model_guard_aws::policy_store::DynamoPolicyStore;
use model_guard_aws::records_store::DynamoRecords;
use model_guard_aws::sagemaker::OneInventory;
use model_guard_aws::sfn::EnforcementExecutions;
use model_guard_aws::sns::SnsNotifier;
use model_guard_core::Defaults;
use model_guard_core::organization::Guarded;
use model_guard_core::ports::{CallHistory, LookupKey};
use model_guard_core::ports::{OrganizationAccounts, Reach};
use model_guard_core::scan::ScanResponse;
use model_guard_testkit::*;
use scan::{Answer, Ports, handle};
use serde_json::{Value, json};

type TestPorts = Ports<
    OneInventory,
    CloudTrailHistory,
    DynamoRecords,
    IamRoles,
    DynamoAuditLog,
    DynamoPolicyStore,
    EnforcementExecutions,
    SnsNotifier,
    DynamoGuardStore,
    ListedMembers,
>;

/// A guard whose members are listed in its settings: Organizations is never asked.
struct ListedMembers;

impl OrganizationAccounts for ListedMembers {
    async fn active_accounts(&self) -> Result<Vec<String>, model_guard_core::GuardError> {
        panic!("the members are listed; Organizations is not asked")
    }
}

/// A scan's answer (the function's other answers are the machine's steps').
fn response(answer: Answer) -> ScanResponse {
    match answer {
        Answer::Scan(response) => *response,
        other => panic!("not a scan's answer: {other:?}"),
    }
}

/// The only test that scans this region.
const REGION: &str = "eu-west-3";

async fn scan(ports: &TestPorts, mode: &str) -> ScanResponse {
    response(
        handle(
            json!({"mode": mode, "types": ["endpoint", "training-job"]}),
            ports,
            chrono::Utc::now(),
            None,
        )
        .await
        .unwrap_or_else(|e| panic!("{e}")),
    )
}

fn named(response: &ScanResponse, keys: &[String]) -> Vec<String> {
    let mut names: Vec<String> = keys
        .iter()
        .map(|k| {
            let f = response
                .report
                .findings
                .iter()
                .find(|f| &f.key == k)
                .unwrap();
            f.resource
                .name
                .split('-')
                .next()
                .unwrap_or_default()
                .to_owned()
                + if f.resource.name.starts_with("train-ok") {
                    "-ok"
                } else {
                    ""
                }
        })
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn enforce_starts_each_violation_once_and_drift_alerts_each_new_one_once() {
    let config = config().await;
    let regional = clean_region(&config, REGION).await;
    let token = unique("s");
    scan_world(&regional, REGION, &token).await;
    let policy_table = policy_table(&config, &scan_policy()).await;
    let decisions = decisions_table(&config).await;
    let machine = enforcement_machine(&config).await;
    let alerts = inbox(&config).await;
    let ports = scan_ports(
        &config,
        aws_sdk_sagemaker::Client::new(&regional),
        aws_sdk_cloudtrail::Client::new(&regional),
        &policy_table,
        &decisions,
        &machine,
        &alerts.topic_arn,
    )
    .await;

    // --enforce: the two violations are recorded and their enforcement started.
    let first = scan(&ports, "enforce").await;
    assert!(first.report.complete, "{:#?}", first.report.problems);
    assert_eq!(
        named(&first, &first.started),
        ["bad", "train"],
        "{first:#?}"
    );
    assert!(
        first.known.is_empty() && first.skipped.is_empty(),
        "{first:#?}"
    );
    let mut started = execution_names(&config, &machine).await;
    started.sort();
    let mut keys = first.started.clone();
    keys.sort();
    assert_eq!(started, keys);
    for key in &first.started {
        let item = audit_item(&config, &decisions, key).await.unwrap();
        assert_eq!(
            (item["state"].as_str(), item["verdict"]["decision"].as_str()),
            (Some("evaluated"), Some("violation")),
            "{item:#}"
        );
        assert!(
            item["verdict"]["reasons"]
                .to_string()
                .contains("found by a scan"),
            "{item:#}"
        );
    }
    // A second --enforce starts nothing new.
    let second = scan(&ports, "enforce").await;
    assert!(second.started.is_empty(), "{second:#?}");
    assert_eq!(named(&second, &second.known), ["bad", "train"]);
    assert_eq!(execution_names(&config, &machine).await.len(), 2);

    // Drift: each violation alerted once, and the two endpoints nobody can be credited with
    // told of once, on the guard topic; a second scan alerts nothing.
    let drift = scan(&ports, "drift").await;
    assert_eq!(
        named(&drift, &drift.alerted),
        ["bad", "legacy", "reborn", "train"],
        "{drift:#?}"
    );
    assert!(drift.attention && drift.report.complete, "{drift:#?}");
    let sent = alerts.expect(3, StdDuration::from_secs(10)).await;
    let mut kinds: Vec<String> = sent
        .iter()
        .map(|m| m.attributes["kind"]["Value"].as_str().unwrap().to_owned())
        .collect();
    kinds.sort();
    assert_eq!(kinds, ["drift-found", "drift-found", "scan-attention"]);
    let attention = sent
        .iter()
        .find(|m| m.attributes["kind"]["Value"] == "scan-attention")
        .unwrap();
    for name in ["legacy", "reborn"] {
        assert!(
            attention
                .message
                .to_string()
                .contains(&format!("{name}-{token}")),
            "{attention:#?}"
        );
    }
    let again = scan(&ports, "drift").await;
    assert!(again.alerted.is_empty() && !again.attention, "{again:#?}");
    alerts.expect(0, StdDuration::from_secs(2)).await;

    // A policy change makes the endpoints MLDeployer made or updated violations: alerted, once.
    put_policy(
        &config,
        &policy_table,
        &json!({"pk": "model#fraud-*", "principals": [], "graceSeconds": 600}),
    )
    .await;
    let changed = scan(&ports, "drift").await;
    assert_eq!(
        named(&changed, &changed.alerted),
        ["kept", "promoted"],
        "{changed:#?}"
    );
    let sent = alerts.expect(2, StdDuration::from_secs(10)).await;
    let text: Value = json!(sent.iter().map(|m| m.message.clone()).collect::<Vec<_>>());
    assert!(
        text.to_string().contains(&format!("promoted-{token}")),
        "{text:#}"
    );
    let after = scan(&ports, "drift").await;
    assert!(after.alerted.is_empty() && !after.attention, "{after:#?}");
    alerts.expect(0, StdDuration::from_secs(2)).await;

    // An approver keeps `bad` (its scan item approved). A policy edit that judges it under
    // another binding, still a violation, must not raise it again: the approval was for that
    // resource, call and content, whatever binding judged it.
    let bad = first
        .started
        .iter()
        .find(|k| named(&first, std::slice::from_ref(k)) == ["bad"])
        .unwrap()
        .clone();
    approve(&config, &decisions, &bad).await;
    // The call's own audit item ended otherwise (notified, as under observe mode): it must not
    // hide the approval of the scan's finding.
    let call_id = first
        .report
        .findings
        .iter()
        .find(|f| f.key == bad)
        .and_then(|f| f.call.clone())
        .unwrap()
        .event_id;
    let mut call_item = audit_item(&config, &decisions, &bad).await.unwrap();
    call_item[model_guard_aws::decisions_table::KEY] = json!(call_id);
    call_item["state"] = json!("notified");
    aws_sdk_dynamodb::Client::new(&config)
        .put_item()
        .table_name(&decisions)
        .set_item(Some(serde_dynamo::to_item(call_item).unwrap()))
        .send()
        .await
        .unwrap();
    put_policy(
        &config,
        &policy_table,
        &json!({"pk": "model#fraud-v3-*", "principals": []}),
    )
    .await;
    let edited = scan(&ports, "enforce").await;
    assert_eq!(
        named(&edited, &edited.started),
        ["kept", "promoted"],
        "{edited:#?}"
    );
    let kept = edited.report.findings.iter().find(|f| f.key == bad);
    assert_eq!(
        kept.map(|f| f.outcome),
        Some(model_guard_core::scan::Outcome::Approved),
        "{edited:#?}"
    );
    assert_eq!(execution_names(&config, &machine).await.len(), 4);

    // A lookup of UpdateEndpoint fails: who set each endpoint is unsure (a newer call it would
    // show may be an allowed one), so no endpoint is judged a violation or enforced; the
    // training job, whose calls were all looked up, still is.
    let scan_ports = scan_ports(
        &config,
        aws_sdk_sagemaker::Client::new(&regional),
        aws_sdk_cloudtrail::Client::new(&regional),
        &policy_table,
        &decisions,
        &machine,
        &alerts.topic_arn,
    )
    .await;
    let blind = Ports {
        history: FailingLookup {
            inner: scan_ports.history,
            failing: "UpdateEndpoint",
        },
        sagemaker: scan_ports.sagemaker,
        records: scan_ports.records,
        roles: scan_ports.roles,
        audit: scan_ports.audit,
        policies: scan_ports.policies,
        enforcements: scan_ports.enforcements,
        notifier: scan_ports.notifier,
        memory: scan_ports.memory,
        defaults: scan_ports.defaults,
        enforcer_role: None,
        member_enforcer_role: scan_ports.member_enforcer_role,
        organization: ListedMembers,
        guarded: scan_ports.guarded,
        regions: scan_ports.regions,
    };
    let unsure = response(
        handle(
            json!({"mode": "enforce", "types": ["endpoint", "training-job"]}),
            &blind,
            chrono::Utc::now(),
            None,
        )
        .await
        .unwrap(),
    );
    assert!(!unsure.report.complete, "{unsure:#?}");
    let violations: Vec<&str> = unsure
        .report
        .findings
        .iter()
        .filter(|f| f.outcome == model_guard_core::scan::Outcome::Violation)
        .map(|f| f.resource.resource_type.as_str())
        .collect();
    assert_eq!(violations, ["training-job"], "{unsure:#?}");
    let kept_now = unsure
        .report
        .findings
        .iter()
        .find(|f| f.resource.name.starts_with("kept-"))
        .unwrap();
    assert!(kept_now.why.contains("unsure"), "{kept_now:#?}");
    // The drift scan names them on the guard topic at every scan while the lookup fails: a
    // lookup kept failing on purpose must not make a violation quiet.
    alerts.expect(0, StdDuration::from_secs(1)).await;
    for _ in 0..2 {
        let drift = response(
            handle(
                json!({"mode": "drift", "types": ["endpoint", "training-job"]}),
                &blind,
                chrono::Utc::now(),
                None,
            )
            .await
            .unwrap(),
        );
        assert!(drift.attention, "{drift:#?}");
        let sent = alerts.expect(1, StdDuration::from_secs(10)).await;
        assert_eq!(sent[0].attributes["kind"]["Value"], "scan-attention");
        assert_ne!(sent[0].attributes["unsure"]["Value"], "0", "{:#?}", sent[0]);
        assert!(
            sent[0]
                .message
                .to_string()
                .contains(&format!("kept-{token}")),
            "{:#?}",
            sent[0]
        );
    }
    assert_eq!(execution_names(&config, &machine).await.len(), 4);
}

/// A drift scan that cannot list what it scans tells the guard topic, every time: a family it
/// cannot see must not look like a family with nothing wrong.
#[tokio::test]
async fn an_incomplete_drift_scan_tells_the_guard_topic_each_time() {
    let config = config().await;
    let policy_table = policy_table(&config, &scan_policy()).await;
    let decisions = decisions_table(&config).await;
    let machine = enforcement_machine(&config).await;
    let alerts = inbox(&config).await;
    // SageMaker out of reach (nothing listens on port 9).
    let unreachable = aws_sdk_sagemaker::config::Builder::from(&config)
        .endpoint_url("http://127.0.0.1:9")
        .build();
    let ports = scan_ports(
        &config,
        aws_sdk_sagemaker::Client::from_conf(unreachable),
        aws_sdk_cloudtrail::Client::new(&config),
        &policy_table,
        &decisions,
        &machine,
        &alerts.topic_arn,
    )
    .await;
    for _ in 0..2 {
        let drift = scan(&ports, "drift").await;
        assert!(
            !drift.report.complete && drift.attention && drift.report.problems.len() == 2,
            "{drift:#?}"
        );
        let sent = alerts.expect(1, StdDuration::from_secs(10)).await;
        assert_eq!(sent[0].attributes["kind"]["Value"], "scan-attention");
        assert_eq!(sent[0].attributes["complete"]["Value"], "false");
        assert!(
            sent[0].message.to_string().contains("listing endpoints"),
            "{:#?}",
            sent[0]
        );
    }
}

#[allow(clippy::too_many_arguments)]
async fn scan_ports(
    config: &SdkConfig,
    sagemaker: aws_sdk_sagemaker::Client,
    cloudtrail: aws_sdk_cloudtrail::Client,
    policy_table: &str,
    decisions: &str,
    machine: &str,
    topic: &str,
) -> TestPorts {
    let dynamodb = aws_sdk_dynamodb::Client::new(config);
    Ports {
        sagemaker: OneInventory(sagemaker),
        history: CloudTrailHistory::new(cloudtrail, StdDuration::ZERO),
        records: DynamoRecords::new(dynamodb.clone(), records_table(config).await),
        roles: IamRoles::new(aws_sdk_iam::Client::new(config)),
        audit: DynamoAuditLog::new(dynamodb.clone(), decisions),
        policies: DynamoPolicyStore::new(dynamodb.clone(), policy_table, 0),
        enforcements: EnforcementExecutions::new(aws_sdk_sfn::Client::new(config), machine),
        notifier: SnsNotifier::new(aws_sdk_sns::Client::new(config), topic, topic),
        memory: DynamoGuardStore::new(dynamodb, decisions),
        defaults: Defaults::new(900, &[role_arn("SecurityOps")]).unwrap(),
        enforcer_role: None,
        member_enforcer_role: "ModelGuardMemberEnforce".to_owned(),
        organization: ListedMembers,
        // The guard's home is the region these tests scan.
        guarded: Guarded::new(ACCOUNT, REGION, None).unwrap(),
        regions: Vec::new(),
    }
}

/// The history keeps successful calls only, and a lookup still paging at its deadline fails
/// rather than run on (a flood of calls must not make the scan overrun its time unawares).
#[tokio::test]
async fn the_history_keeps_successful_calls_and_stops_at_its_deadline() {
    const REGION: &str = "sa-east-1";
    let config = config().await;
    let regional = clean_region(&config, REGION).await;
    let now = chrono::Utc::now();
    // The testbed keeps the records of earlier runs: this run's carry its token.
    let token = unique("h");
    let mut records: Vec<Value> = (0..60)
        .map(|i| {
            cloudtrail_record(
                "DeleteEndpointConfig",
                "DataScientist",
                REGION,
                now - chrono::Duration::seconds(i + 1),
                json!({"endpointConfigName": format!("{token}-{i}")}),
                json!(null),
            )
        })
        .collect();
    records[7]["errorCode"] = json!("ValidationException");
    register_records(&records).await;
    let history = CloudTrailHistory::new(
        aws_sdk_cloudtrail::Client::new(&regional),
        StdDuration::ZERO,
    );
    let start = now - chrono::Duration::hours(1);
    let found = history
        .lookup(
            LookupKey::EventName("DeleteEndpointConfig"),
            start,
            now,
            None,
        )
        .await
        .unwrap();
    let ours: Vec<&Value> = found
        .iter()
        .filter(|r| r.to_string().contains(&token))
        .collect();
    assert_eq!(ours.len(), 59);
    assert!(found.iter().all(|r| r.get("errorCode").is_none()));
    let late = history
        .lookup(
            LookupKey::EventName("DeleteEndpointConfig"),
            start,
            now,
            Some(now - chrono::Duration::seconds(1)),
        )
        .await
        .unwrap_err();
    assert!(late.message.contains("out of time"), "{late}");
}

/// The real CloudTrail adapter, but one event name's lookup fails (a throttled or refused page).
#[derive(Clone)]
struct FailingLookup {
    inner: CloudTrailHistory,
    failing: &'static str,
}

impl Reach for FailingLookup {
    type Port = FailingLookup;

    async fn at(
        &self,
        _: Option<&str>,
        _: Option<&str>,
    ) -> Result<FailingLookup, model_guard_core::GuardError> {
        Ok(self.clone())
    }
}

impl CallHistory for FailingLookup {
    async fn lookup(
        &self,
        key: LookupKey<'_>,
        start: chrono::DateTime<chrono::Utc>,
        end: chrono::DateTime<chrono::Utc>,
        until: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<Vec<Value>, model_guard_core::GuardError> {
        if key == LookupKey::EventName(self.failing) {
            return Err(model_guard_core::GuardError::new(
                model_guard_core::ErrorKind::Throttled,
                "LookupEvents: ThrottlingException",
            ));
        }
        self.inner.lookup(key, start, end, until).await
    }
}

/// What the approval function leaves on an item an approver kept.
async fn approve(config: &SdkConfig, table: &str, key: &str) {
    aws_sdk_dynamodb::Client::new(config)
        .update_item()
        .table_name(table)
        .key(
            model_guard_aws::decisions_table::KEY,
            aws_sdk_dynamodb::types::AttributeValue::S(key.to_owned()),
        )
        .update_expression("SET #state = :approved")
        .expression_attribute_names("#state", "state")
        .expression_attribute_values(
            ":approved",
            aws_sdk_dynamodb::types::AttributeValue::S("approved".to_owned()),
        )
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn what_is_not_a_scan_request_is_refused() {
    let config = config().await;
    let _ = config;
    for bad in [
        json!({"mode": "delete-everything"}),
        json!({"mode": "drift", "types": ["domain"]}),
        json!({"mode": "enforce", "findings": ["scan-x"]}),
    ] {
        let parsed: Result<model_guard_core::scan::ScanRequest, _> =
            serde_json::from_value(bad.clone());
        let refused = match parsed {
            Err(_) => true,
            Ok(r) => model_guard_core::scan::scanned_types(r.types.as_deref()).is_err(),
        };
        assert!(refused, "{bad}");
    }
}

/// A guard of an organization: its home, and one listed member account (and a member whose
/// administrators deleted the guard's member role).
const MEMBER: &str = "210987654321";
const GONE: &str = "333344445555";
/// The guard's home region in the member test, and its one member region: each only its own.
const HOME: &str = "ap-northeast-2";
const THERE: &str = "eu-north-1";

fn member_role(name: &str) -> String {
    format!("arn:aws:iam::{MEMBER}:role/{name}")
}

/// The scan function scans one of the guard's member places through the member role there: who
/// set each resource is that place's CloudTrail's answer, each call is judged as that account's
/// (its account-scoped bindings), a violation is recorded and enforced there, and what it finds
/// is that place's own (the same name at home is another finding). A place the guard does not
/// answer for is refused; one whose role is gone fails naming it, and the machine's
/// `notScanned` step tells the guard topic which account it is.
#[tokio::test]
async fn a_member_place_is_scanned_through_its_role_and_what_it_finds_is_its_own() {
    let config = config().await;
    let admin = model_guard_testkit::member_account(&config, MEMBER).await;
    let gone = model_guard_testkit::member_account(&config, GONE).await;
    model_guard_testkit::delete_role(&gone, "ModelGuardMember").await;
    let home = clean_region(&config, HOME).await;
    let there = clean_region(&admin, THERE).await;
    let token = unique("m");
    let fraud = format!("fraud-v3-{token}");
    let fraud_config = format!("fraud-cfg-{token}");
    for place in [&home, &there] {
        let kit = SageMakerKit::new(place);
        kit.model(&fraud, "Exec").await;
        kit.endpoint_config(&fraud_config, &[&fraud]).await;
        // Nobody's call in CloudTrail: the same name at home and there.
        kit.endpoint(&format!("legacy-{token}"), &fraud_config)
            .await;
    }
    let kit = SageMakerKit::new(&there);
    kit.endpoint(&format!("bad-{token}"), &fraud_config).await;
    kit.endpoint(&format!("ok-{token}"), &fraud_config).await;
    tokio::time::sleep(StdDuration::from_millis(3100)).await;
    let now = chrono::Utc::now();
    let create = |who: &str, name: &str| {
        let mut record = cloudtrail_record(
            "CreateEndpoint",
            who,
            THERE,
            now,
            json!({"endpointName": format!("{name}-{token}"), "endpointConfigName": fraud_config}),
            json!({"endpointArn": format!("arn:aws:sagemaker:{THERE}:{MEMBER}:endpoint/{name}-{token}")}),
        );
        record["recipientAccountId"] = json!(MEMBER);
        record["userIdentity"] = json!({"type": "AssumedRole", "accountId": MEMBER,
            "arn": format!("arn:aws:sts::{MEMBER}:assumed-role/{who}/s"),
            "sessionContext": {"sessionIssuer": {"type": "Role", "accountId": MEMBER,
                "arn": member_role(who), "userName": who}}});
        record
    };
    register_records(&[create("Intruder", "bad"), create("DataScientist", "ok")]).await;
    // The fraud models are MLDeployer's; in the member account, also its DataScientist's.
    let policy_table = policy_table(
        &config,
        &json!([
            {"pk": "model#fraud-*", "principals": [role_arn("MLDeployer")]},
            {"pk": format!("model#fraud-*@{MEMBER}"), "principals": [member_role("DataScientist")]},
            {"pk": "default", "principals": [role_arn("MLDeployer"), member_role("DataScientist"),
                                            member_role("Intruder")]}
        ]),
    )
    .await;
    let decisions = decisions_table(&config).await;
    let machine = enforcement_machine(&config).await;
    let alerts = inbox(&config).await;
    let places = model_guard_testkit::places(&home, "ModelGuardMember");
    let dynamodb = aws_sdk_dynamodb::Client::new(&config);
    let ports = Ports {
        sagemaker: model_guard_aws::sagemaker::Inventories::new(places.clone(), 3),
        history: model_guard_aws::cloudtrail::Histories::new(places.clone(), StdDuration::ZERO),
        records: DynamoRecords::new(dynamodb.clone(), records_table(&config).await),
        roles: IamRoles::with_members(aws_sdk_iam::Client::new(&config), places),
        audit: DynamoAuditLog::new(dynamodb.clone(), &decisions),
        policies: DynamoPolicyStore::new(dynamodb.clone(), &policy_table, 0),
        enforcements: EnforcementExecutions::new(aws_sdk_sfn::Client::new(&config), &machine),
        notifier: SnsNotifier::new(
            aws_sdk_sns::Client::new(&config),
            &alerts.topic_arn,
            &alerts.topic_arn,
        ),
        memory: DynamoGuardStore::new(dynamodb, &decisions),
        defaults: Defaults::new(900, &[role_arn("SecurityOps")]).unwrap(),
        enforcer_role: None,
        member_enforcer_role: "ModelGuardMemberEnforce".to_owned(),
        organization: ListedMembers,
        guarded: Guarded::new(ACCOUNT, HOME, Some(&format!("{MEMBER},{GONE}"))).unwrap(),
        regions: vec![THERE.to_owned()],
    };
    let scan_of = |mode: &str, place: Option<(&str, &str)>| {
        let mut input = json!({"mode": mode, "types": ["endpoint"]});
        if let Some((account, region)) = place {
            input["place"] = json!({"account": account, "region": region});
        }
        input
    };
    let ours = |response: &ScanResponse, name: &str| {
        response
            .report
            .findings
            .iter()
            .find(|f| f.resource.name == format!("{name}-{token}"))
            .cloned()
    };

    // --enforce there: Intruder's endpoint is a violation, recorded and started as that place's;
    // DataScientist's is allowed by the member's own binding (the unscoped one would not allow
    // it); the legacy one is nobody's.
    let enforced = response(
        handle(
            scan_of("enforce", Some((MEMBER, THERE))),
            &ports,
            chrono::Utc::now(),
            None,
        )
        .await
        .unwrap(),
    );
    assert!(enforced.report.complete, "{enforced:#?}");
    assert_eq!(
        enforced.report.place.as_deref(),
        Some(format!("{MEMBER}/{THERE}").as_str())
    );
    let bad = ours(&enforced, "bad").unwrap();
    assert_eq!(
        bad.outcome,
        model_guard_core::scan::Outcome::Violation,
        "{bad:#?}"
    );
    assert_eq!(bad.who.as_deref(), Some(member_role("Intruder").as_str()));
    assert_eq!(
        enforced.started,
        std::slice::from_ref(&bad.key),
        "{enforced:#?}"
    );
    let item = audit_item(&config, &decisions, &bad.key).await.unwrap();
    assert_eq!(
        (
            item["verdict"]["account"].as_str(),
            item["verdict"]["region"].as_str(),
            item["resourceKey"].as_str()
        ),
        (
            Some(MEMBER),
            Some(THERE),
            Some(
                format!("bad-{token}@{MEMBER}/{THERE}")
                    .to_lowercase()
                    .as_str()
            )
        ),
        "{item:#}"
    );
    // Allowed findings are counted, not listed, in the answer.
    assert!(ours(&enforced, "ok").is_none(), "{enforced:#?}");
    assert_eq!(
        enforced
            .report
            .counts
            .get(&model_guard_core::scan::Outcome::Allowed),
        Some(&1),
        "{enforced:#?}"
    );
    assert_eq!(
        execution_names(&config, &machine).await,
        std::slice::from_ref(&bad.key)
    );

    // Drift at home, then there: the legacy endpoint of each place is told of, each once.
    let at_home = response(
        handle(scan_of("drift", None), &ports, chrono::Utc::now(), None)
            .await
            .unwrap(),
    );
    let home_legacy = ours(&at_home, "legacy").unwrap();
    assert!(
        at_home.attention && at_home.alerted == [home_legacy.key.clone()],
        "{at_home:#?}"
    );
    let told = alerts.expect(1, StdDuration::from_secs(10)).await;
    assert_eq!(told[0].attributes["kind"]["Value"], "scan-attention");
    let in_member = response(
        handle(
            scan_of("drift", Some((MEMBER, THERE))),
            &ports,
            chrono::Utc::now(),
            None,
        )
        .await
        .unwrap(),
    );
    let member_legacy = ours(&in_member, "legacy").unwrap();
    assert_ne!(member_legacy.key, home_legacy.key);
    assert!(
        in_member.attention && in_member.alerted.contains(&member_legacy.key),
        "the member's legacy endpoint is its own finding, told of: {in_member:#?}"
    );
    let told = alerts.expect(2, StdDuration::from_secs(10)).await;
    let attention = told
        .iter()
        .find(|m| m.attributes["kind"]["Value"] == "scan-attention")
        .unwrap();
    assert_eq!(attention.attributes["account"]["Value"], MEMBER);
    assert!(
        attention
            .message
            .to_string()
            .contains(&format!("{MEMBER}/{THERE}")),
        "{attention:#?}"
    );

    // The machine's first step: each guarded account in each guarded region, home first.
    let Answer::Places(list) = handle(json!({"step": "places"}), &ports, chrono::Utc::now(), None)
        .await
        .unwrap()
    else {
        panic!("not the places")
    };
    let listed: Vec<String> = list.places.iter().map(ToString::to_string).collect();
    assert_eq!(listed[0], format!("{ACCOUNT}/{HOME}"));
    assert_eq!(listed.len(), 6, "{listed:?}");

    // Refused: an account the guard does not answer for, a region it does not watch.
    for (account, region) in [("999988887777", THERE), (MEMBER, "sa-east-1")] {
        let refused = handle(
            scan_of("enforce", Some((account, region))),
            &ports,
            chrono::Utc::now(),
            None,
        )
        .await
        .unwrap_err();
        assert_eq!(
            refused.kind,
            model_guard_core::ErrorKind::InvalidInput,
            "{refused}"
        );
        assert!(refused.message.contains("not guarded here"), "{refused}");
    }
    // A member whose role is gone: the scan fails naming it, and the machine tells the guard
    // topic which account and region were not scanned.
    let unreachable = handle(
        scan_of("drift", Some((GONE, THERE))),
        &ports,
        chrono::Utc::now(),
        None,
    )
    .await
    .unwrap_err();
    assert!(unreachable.message.contains(GONE), "{unreachable}");
    handle(
        json!({"step": "notScanned", "place": {"account": GONE, "region": THERE},
               "error": "ModelGuard.AccessDenied",
               "cause": serde_json::to_string(&json!({"errorMessage": unreachable.message})).unwrap()}),
        &ports,
        chrono::Utc::now(),
        None,
    )
    .await
    .unwrap();
    let told = alerts.expect(1, StdDuration::from_secs(10)).await;
    assert_eq!(
        (
            told[0].attributes["tamper"]["Value"].as_str(),
            told[0].attributes["account"]["Value"].as_str(),
            told[0].attributes["region"]["Value"].as_str()
        ),
        (Some("place-unreachable"), Some(GONE), Some(THERE)),
        "{:#?}",
        told[0]
    );
    assert!(
        told[0]
            .message
            .to_string()
            .contains("drift scan cannot scan"),
        "{:#?}",
        told[0]
    );
}
