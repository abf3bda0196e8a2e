//! Approve against the testbed: audit items in DynamoDB, and a real Step Functions execution
//! waiting on a task token, answered through SendTaskSuccess / SendTaskFailure.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use approve::{Answer, Ports, handle};
use aws_config::SdkConfig;
use aws_credential_types::Credentials;
use model_guard_aws::audit_store::DynamoAuditLog;
use model_guard_aws::iam::IamRoles;
use model_guard_aws::kms::KmsTokenVault;
use model_guard_aws::sfn::StepFunctionsTasks;
use model_guard_aws::sns::SnsNotifier;
use model_guard_aws::sts_proof::{StsCallerVerifier, presign_caller_identity, sts_endpoint};
use model_guard_core::Verdict;
use model_guard_core::audit::{AuditItem, AuditState};
use model_guard_core::ports::{Advance, AuditLog, TokenVault};
use model_guard_testkit::{
    ACCOUNT, Inbox, audit_item, config, decisions_table, finished, inbox, register_key, token_key,
    unique, violation, waiting_task,
};
use serde_json::{Value, json};

type ApprovePorts = Ports<
    DynamoAuditLog,
    StepFunctionsTasks,
    IamRoles,
    StsCallerVerifier,
    KmsTokenVault,
    SnsNotifier,
>;

struct World {
    config: SdkConfig,
    decisions: String,
    ports: ApprovePorts,
    /// Where tamper alerts go.
    alerts: Inbox,
    sts: http::Uri,
}

async fn world() -> World {
    let config = config().await;
    let decisions = decisions_table(&config).await;
    let alerts = inbox(&config).await;
    let sts = sts_endpoint("us-east-1", config.endpoint_url())
        .await
        .unwrap();
    let ports = Ports {
        audit: DynamoAuditLog::new(aws_sdk_dynamodb::Client::new(&config), &decisions),
        tasks: StepFunctionsTasks::new(aws_sdk_sfn::Client::new(&config)),
        roles: IamRoles::new(aws_sdk_iam::Client::new(&config)),
        sts: StsCallerVerifier::new("us-east-1", sts.clone()).unwrap(),
        vault: KmsTokenVault::new(aws_sdk_kms::Client::new(&config), token_key(&config).await),
        notifier: SnsNotifier::guard_only(aws_sdk_sns::Client::new(&config), &alerts.topic_arn),
    };
    World {
        config,
        decisions,
        ports,
        alerts,
        sts,
    }
}

/// What guardctl adds to a request body: a fresh nonce and the identity proof, presigned with
/// the keys of `signer` (registered for its ARN).
fn prove(sts: &http::Uri, signer: &(String, String), body: &mut Value) {
    let nonce = format!("{:032x}", rand_nonce());
    body["nonce"] = json!(nonce);
    let request: model_guard_core::approval::ApproveRequest = serde_json::from_value(
        json!({"target": body["target"], "targetKind": body.get("targetKind"),
               "decision": body["decision"], "reason": body["reason"], "nonce": nonce, "proof": ""}),
    )
    .unwrap();
    let identity = Credentials::new(&signer.0, &signer.1, None, None, "test").into();
    body["proof"] = json!(
        presign_caller_identity(
            &identity,
            "us-east-1",
            sts,
            &request.binding(),
            std::time::SystemTime::now()
        )
        .unwrap()
    );
}

/// A nonce no other call uses (tests need no randomness, only uniqueness).
fn rand_nonce() -> u128 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    (now << 16)
        ^ u128::from(NEXT.fetch_add(1, Ordering::Relaxed))
        ^ (u128::from(std::process::id()) << 100)
}

/// A violation pending approval, with a real waiting execution behind its token.
struct Pending {
    event_id: String,
    resource: String,
    execution: String,
}

impl World {
    async fn pending_with(&self, approvers: Value, resource: &str, timeout: u32) -> Pending {
        self.pending_by(approvers, resource, timeout, None, &unique("evt"))
            .await
    }

    /// A pending violation by `deployer` (principal and person), under `event_id`.
    async fn pending_by(
        &self,
        approvers: Value,
        resource: &str,
        timeout: u32,
        deployer: Option<(&str, &str)>,
        event_id: &str,
    ) -> Pending {
        let event_id = event_id.to_owned();
        let mut verdict = violation(&event_id, "endpoint", resource, "enforce", 60);
        verdict["approvers"] = approvers;
        if let Some((principal, person)) = deployer {
            verdict["principal"] = json!(principal);
            verdict["person"] = json!(person);
        }
        let typed: Verdict = serde_json::from_value(verdict).unwrap();
        let now = chrono::Utc::now();
        self.ports
            .audit
            .record(&AuditItem::for_verdict(&typed, now).unwrap())
            .await
            .unwrap();
        let (execution, token) = waiting_task(&self.config, timeout).await;
        let mut advance = Advance::to(AuditState::Pending, now);
        advance.task_token = Some(self.ports.vault.seal(&event_id, &token).await.unwrap());
        advance.deadline = Some(now + chrono::Duration::seconds(60));
        self.ports.audit.advance(&event_id, &advance).await.unwrap();
        Pending {
            event_id,
            resource: resource.to_owned(),
            execution,
        }
    }

    async fn pending(&self) -> Pending {
        self.pending_with(
            json!([{"binding": "model#fraud-*", "anyOf": [format!("arn:aws:iam::{ACCOUNT}:role/SecurityOps*")]}]),
            &unique("ep"),
            300,
        )
        .await
    }

    /// A request as guardctl sends it, proven with keys registered for `caller_arn`. The
    /// authorizer names someone else: the function must not look at it.
    async fn call(&self, caller_arn: &str, mut body: Value) -> Answer {
        let signer = register_key(caller_arn).await;
        prove(&self.sts, &signer, &mut body);
        self.send(&body).await
    }

    async fn send(&self, body: &Value) -> Answer {
        let nobody = format!("arn:aws:sts::{ACCOUNT}:assumed-role/Nobody/n");
        handle(
            url_request("POST", Some(&nobody), &body.to_string()),
            &self.ports,
            Some(ACCOUNT),
            chrono::Utc::now(),
        )
        .await
    }

    async fn item(&self, event_id: &str) -> Value {
        audit_item(&self.config, &self.decisions, event_id)
            .await
            .unwrap()
    }

    async fn status(&self, execution: &str, wait_secs: u64) -> (String, Value) {
        finished(&self.config, execution, Duration::from_secs(wait_secs)).await
    }
}

/// A Function URL request as Lambda delivers it with AWS_IAM auth.
fn url_request(method: &str, caller_arn: Option<&str>, body: &str) -> Value {
    let authorizer = caller_arn.map(|arn| {
        json!({"iam": {
        "accessKey": "ASIAEXAMPLE", "accountId": ACCOUNT, "callerId": "AROAEXAMPLE:carol",
        "userArn": arn, "userId": "AROAEXAMPLE:carol"}})
    });
    json!({
        "version": "2.0", "rawPath": "/", "rawQueryString": "",
        "headers": {"content-type": "application/json"},
        "requestContext": {
            "accountId": ACCOUNT, "apiId": "abc", "authorizer": authorizer,
            "domainName": "abc.lambda-url.us-east-1.on.aws", "domainPrefix": "abc",
            "http": {"method": method, "path": "/", "protocol": "HTTP/1.1",
                     "sourceIp": "203.0.113.9", "userAgent": "guardctl"},
            "requestId": "req-1", "routeKey": "$default", "stage": "$default",
            "time": "28/Nov/2026:01:00:00 +0000", "timeEpoch": 1795827600000_i64
        },
        "body": body,
        "isBase64Encoded": false
    })
}

fn approver() -> String {
    format!("arn:aws:sts::{ACCOUNT}:assumed-role/SecurityOps/carol")
}

fn body(target: &str, decision: &str) -> Value {
    json!({"target": target, "decision": decision, "reason": "risk team agreed (TICKET-42)"})
}

#[tokio::test]
async fn an_approver_keeps_the_resource_and_the_wait_ends_in_success() {
    let w = world().await;
    let p = w.pending().await;
    let answer = w.call(&approver(), body(&p.event_id, "approve")).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.body["outcome"], "approve");
    assert_eq!(
        answer.body["by"],
        format!("arn:aws:iam::{ACCOUNT}:role/SecurityOps")
    );

    let (status, detail) = w.status(&p.execution, 20).await;
    assert_eq!(status, "SUCCEEDED", "{detail}");
    assert_eq!(detail["output"]["approval"]["decision"], "approve");

    let item = w.item(&p.event_id).await;
    assert_eq!(
        item["state"], "pending",
        "Notify(approved) moves it on, not the approval"
    );
    insta::assert_json_snapshot!(item["approval"], {".at" => "[time]"});

    // Decided once: a second call is refused.
    let again = w.call(&approver(), body(&p.event_id, "enforce-now")).await;
    assert_eq!(again.status, 409, "{again:?}");
}

#[tokio::test]
async fn enforce_now_fails_the_wait_with_model_guard_enforce_now() {
    let w = world().await;
    let p = w.pending().await;
    // By resource name this time, in another case: endpoint names are case-insensitive.
    let answer = w
        .call(&approver(), body(&p.resource.to_uppercase(), "enforce-now"))
        .await;
    assert_eq!(answer.status, 200, "{answer:?}");
    let (status, detail) = w.status(&p.execution, 20).await;
    assert_eq!(status, "FAILED", "{detail}");
    assert_eq!(detail["error"], "ModelGuard.EnforceNow");
    // (moto's DescribeExecution does not carry the task failure's cause on; AWS does.)
    assert_eq!(
        w.item(&p.event_id).await["approval"]["decision"],
        "enforce-now"
    );
}

#[tokio::test]
async fn someone_who_is_not_an_approver_is_refused() {
    let w = world().await;
    let p = w.pending().await;
    let answer = w
        .call(
            &format!("arn:aws:sts::{ACCOUNT}:assumed-role/MLEngineer/dave"),
            body(&p.event_id, "approve"),
        )
        .await;
    assert_eq!(answer.status, 403, "{answer:?}");
    insta::assert_json_snapshot!(answer.body, {".reason" => insta::dynamic_redaction(|v, _| {
        v.as_str().unwrap().replace(|c: char| c.is_ascii_digit(), "#")
    })});
    assert_eq!(w.status(&p.execution, 0).await.0, "RUNNING");
    assert!(w.item(&p.event_id).await.get("approval").is_none());
}

#[tokio::test]
async fn the_caller_who_deployed_cannot_approve_even_as_an_approver() {
    let w = world().await;
    // Everyone in the account is an approver here, the deployer too.
    let p = w
        .pending_with(
            json!([{"binding": "default", "anyOf": [format!("arn:aws:iam::{ACCOUNT}:role/*")]}]),
            &unique("ep"),
            300,
        )
        .await;
    // Another session of the same role: the same authority.
    let answer = w
        .call(
            &format!("arn:aws:sts::{ACCOUNT}:assumed-role/DataScientist/someone-else"),
            body(&p.event_id, "approve"),
        )
        .await;
    assert_eq!(answer.status, 403, "{answer:?}");
    assert!(
        answer.body["reason"]
            .as_str()
            .unwrap()
            .contains("made the call being judged"),
        "{answer:?}"
    );
    assert_eq!(w.status(&p.execution, 0).await.0, "RUNNING");
}

#[tokio::test]
async fn a_target_that_is_not_pending_is_a_conflict() {
    let w = world().await;
    let p = w.pending().await;
    let mut enforced = Advance::to(AuditState::Enforced, chrono::Utc::now());
    enforced.enforcement = None;
    w.ports.audit.advance(&p.event_id, &enforced).await.unwrap();
    let answer = w.call(&approver(), body(&p.event_id, "approve")).await;
    assert_eq!(answer.status, 409, "{answer:?}");
    assert!(
        answer.body["reason"]
            .as_str()
            .unwrap()
            .contains("it is enforced"),
        "{answer:?}"
    );
    let by_name = w.call(&approver(), body(&p.resource, "approve")).await;
    assert_eq!(by_name.status, 409, "{by_name:?}");
    assert!(
        by_name.body["reason"]
            .as_str()
            .unwrap()
            .contains("has no pending event"),
        "{by_name:?}"
    );
}

#[tokio::test]
async fn an_unknown_target_is_not_found_and_an_ambiguous_one_a_conflict() {
    let w = world().await;
    let unknown = w
        .call(&approver(), body(&unique("nothing"), "approve"))
        .await;
    assert_eq!(unknown.status, 404, "{unknown:?}");

    let name = unique("ep");
    let approvers =
        json!([{"binding": "b", "anyOf": [format!("arn:aws:iam::{ACCOUNT}:role/SecurityOps")]}]);
    let first = w.pending_with(approvers.clone(), &name, 300).await;
    let second = w.pending_with(approvers, &name, 300).await;
    let answer = w.call(&approver(), body(&name, "approve")).await;
    assert_eq!(answer.status, 409, "{answer:?}");
    let reason = answer.body["reason"].as_str().unwrap();
    assert!(
        reason.contains(&first.event_id) && reason.contains(&second.event_id),
        "{reason}"
    );
}

#[tokio::test]
async fn an_approval_after_the_wait_timed_out_is_refused_and_withdrawn() {
    let w = world().await;
    let p = w
        .pending_with(
            json!([{"binding": "b", "anyOf": [format!("arn:aws:iam::{ACCOUNT}:role/SecurityOps")]}]),
            &unique("ep"),
            1,
        )
        .await;
    let (status, _) = w.status(&p.execution, 20).await;
    assert_eq!(status, "FAILED", "the wait timed out");
    let answer = w.call(&approver(), body(&p.event_id, "approve")).await;
    assert_eq!(answer.status, 409, "{answer:?}");
    assert!(
        answer.body["reason"]
            .as_str()
            .unwrap()
            .contains("grace period has ended"),
        "{answer:?}"
    );
    assert!(
        w.item(&p.event_id).await.get("approval").is_none(),
        "no approval that never happened"
    );
}

#[tokio::test]
async fn malformed_requests_are_refused_with_a_reason() {
    let w = world().await;
    let p = w.pending().await;
    let cases: Vec<(Value, u16, &str)> = vec![
        (
            url_request("POST", Some(&approver()), "not json"),
            400,
            "not an approval request",
        ),
        (
            url_request(
                "POST",
                Some(&approver()),
                r#"{"target":"x","decision":"maybe","reason":"r"}"#,
            ),
            400,
            "decision",
        ),
        (
            url_request(
                "POST",
                Some(&approver()),
                &json!({"target": p.event_id, "decision": "approve"}).to_string(),
            ),
            400,
            "reason",
        ),
        (
            url_request(
                "POST",
                Some(&approver()),
                &json!({"target": p.event_id, "decision": "approve", "reason": " ",
                        "nonce": "0123456789abcdef0123456789abcdef", "proof": "p"})
                .to_string(),
            ),
            400,
            "reason: empty",
        ),
        (url_request("GET", Some(&approver()), ""), 405, "use POST"),
        (
            json!({"requestContext": "nope"}),
            400,
            "not a Function URL request",
        ),
    ];
    for (request, status, expected) in cases {
        let answer = handle(request.clone(), &w.ports, Some(ACCOUNT), chrono::Utc::now()).await;
        assert_eq!(answer.status, status, "{request}: {answer:?}");
        let reason = answer.body["reason"].as_str().unwrap();
        assert!(reason.contains(expected), "{reason:?} lacks {expected:?}");
    }
    // A federated user's session: STS vouches for it, the function still refuses it.
    let federated = w
        .call(
            &format!("arn:aws:sts::{ACCOUNT}:federated-user/carol"),
            body(&p.event_id, "approve"),
        )
        .await;
    assert_eq!(federated.status, 403, "{federated:?}");
    assert!(
        federated.body["reason"]
            .as_str()
            .unwrap()
            .contains("federated user")
    );
    assert_eq!(w.status(&p.execution, 0).await.0, "RUNNING");
    assert!(w.item(&p.event_id).await.get("approval").is_none());
}

/// An IAM role in the testbed, at `path`; returns its ARN as IAM gives it.
async fn iam_role(config: &SdkConfig, path: &str, name: &str) -> String {
    let iam = aws_sdk_iam::Client::new(config);
    match iam
        .create_role()
        .role_name(name)
        .path(path)
        .assume_role_policy_document("{}")
        .send()
        .await
    {
        Ok(out) => out.role().unwrap().arn().to_owned(),
        Err(_) => iam
            .get_role()
            .role_name(name)
            .send()
            .await
            .unwrap()
            .role()
            .unwrap()
            .arn()
            .to_owned(),
    }
}

const SSO_PATH: &str = "/aws-reserved/sso.amazonaws.com/us-east-1/";

fn admins() -> Value {
    json!([{"binding": "model#fraud-*", "anyOf": ["arn:aws:iam::*:role/AWSReservedSSO_MLPlatformAdmin_*"]}])
}

#[tokio::test]
async fn the_same_identity_center_user_cannot_approve_under_another_permission_set() {
    // Attack: alice deploys as DataScience, then approves her own deployment as MLPlatformAdmin.
    let w = world().await;
    let suffix = unique("h").replace('-', "");
    let ds = iam_role(
        &w.config,
        SSO_PATH,
        &format!("AWSReservedSSO_DataScience_{suffix}"),
    )
    .await;
    let admin_name = format!("AWSReservedSSO_MLPlatformAdmin_{suffix}");
    let admin = iam_role(&w.config, SSO_PATH, &admin_name).await;
    assert!(admin.contains(SSO_PATH), "{admin}");
    let p = w
        .pending_by(
            admins(),
            &unique("ep"),
            300,
            Some((&ds, "identity-center-user:alice@example.com")),
            &unique("evt"),
        )
        .await;
    let alice = format!("arn:aws:sts::{ACCOUNT}:assumed-role/{admin_name}/alice@example.com");
    let answer = w.call(&alice, body(&p.event_id, "approve")).await;
    assert_eq!(answer.status, 403, "{answer:?}");
    let (suffix_, event_) = (suffix.clone(), p.event_id.clone());
    insta::assert_json_snapshot!(answer.body, {".reason" => insta::dynamic_redaction(move |v, _| {
        v.as_str().unwrap().replace(&suffix_, "SUFFIX").replace(&event_, "EVENT")
    })});
    let reason = answer.body["reason"].as_str().unwrap();
    assert!(
        reason.contains("the same person (identity-center-user:alice@example.com)"),
        "{reason}"
    );
    assert_eq!(w.status(&p.execution, 0).await.0, "RUNNING");

    // Near-miss: bob, under the same permission set, may; the audit keeps his role (with its
    // path, from IAM) and him.
    let bob = format!("arn:aws:sts::{ACCOUNT}:assumed-role/{admin_name}/bob@example.com");
    let answer = w.call(&bob, body(&p.event_id, "approve")).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    let approval = &w.item(&p.event_id).await["approval"];
    assert_eq!(approval["by"], admin.as_str());
    assert_eq!(approval["person"], "identity-center-user:bob@example.com");
}

#[tokio::test]
async fn a_look_alike_of_an_identity_center_role_cannot_approve() {
    // Attack: anyone who may create roles makes /AWSReservedSSO_MLPlatformAdmin_x and approves.
    let w = world().await;
    let look_alike = format!(
        "AWSReservedSSO_MLPlatformAdmin_{}",
        unique("x").replace('-', "")
    );
    iam_role(&w.config, "/", &look_alike).await;
    let p = w
        .pending_by(admins(), &unique("ep"), 300, None, &unique("evt"))
        .await;
    let mallory = format!("arn:aws:sts::{ACCOUNT}:assumed-role/{look_alike}/carol@example.com");
    let answer = w.call(&mallory, body(&p.event_id, "approve")).await;
    assert_eq!(answer.status, 403, "{answer:?}");
    assert!(
        answer.body["reason"]
            .as_str()
            .unwrap()
            .contains("is not an approver"),
        "{answer:?}"
    );
    assert_eq!(w.status(&p.execution, 0).await.0, "RUNNING");
}

#[tokio::test]
async fn a_target_that_names_an_event_and_a_resource_is_refused_with_both_named() {
    // Attack: an endpoint named like another pending event's id, so that approving "the
    // endpoint" approves that event instead.
    let w = world().await;
    let victim = w.pending().await;
    let look_alike = w
        .pending_by(
            json!([{"binding": "model#fraud-*", "anyOf": [format!("arn:aws:iam::{ACCOUNT}:role/SecurityOps*")]}]),
            &victim.event_id,
            300,
            None,
            &unique("evt"),
        )
        .await;
    let answer = w.call(&approver(), body(&victim.event_id, "approve")).await;
    assert_eq!(answer.status, 409, "{answer:?}");
    let (victim_, look_alike_, resource_) = (
        victim.event_id.clone(),
        look_alike.event_id.clone(),
        victim.resource.clone(),
    );
    insta::assert_json_snapshot!(answer.body, {".reason" => insta::dynamic_redaction(move |v, _| {
        v.as_str()
            .unwrap()
            .replace(&resource_, "VICTIM-RESOURCE")
            .replace(&victim_, "VICTIM-EVENT")
            .replace(&look_alike_, "OTHER-EVENT")
    })});
    let reason = answer.body["reason"].as_str().unwrap();
    assert!(
        reason.contains("could mean two things")
            && reason.contains(&victim.event_id)
            && reason.contains(&look_alike.event_id),
        "{reason}"
    );
    assert_eq!(w.status(&victim.execution, 0).await.0, "RUNNING");
    assert_eq!(w.status(&look_alike.execution, 0).await.0, "RUNNING");

    // Saying which settles it.
    let mut by_resource = body(&victim.event_id, "approve");
    by_resource["targetKind"] = json!("resource");
    let answer = w.call(&approver(), by_resource).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.body["eventId"], look_alike.event_id.as_str());
    let mut by_event = body(&victim.event_id, "enforce-now");
    by_event["targetKind"] = json!("event");
    let answer = w.call(&approver(), by_event).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.body["eventId"], victim.event_id.as_str());
}

/// The attack: anyone allowed `lambda:InvokeFunction` on the approval function invokes it
/// directly with a Function URL event whose authorizer names an approver. Before the fix the
/// function took its caller from there and approved.
#[tokio::test]
async fn a_made_up_caller_in_the_event_approves_nothing_and_is_alerted() {
    let w = world().await;
    let p = w.pending().await;
    let forged = url_request(
        "POST",
        Some(&approver()),
        &body(&p.event_id, "approve").to_string(),
    );
    let answer = handle(forged, &w.ports, Some(ACCOUNT), chrono::Utc::now()).await;
    assert_eq!(answer.status, 400, "no proof: {answer:?}");
    // With a proof made up, or signed with a key STS does not know: refused, and alerted.
    let mut made_up = body(&p.event_id, "approve");
    prove(
        &w.sts,
        &("ASIAUNKNOWNKEY000000".into(), "guess".into()),
        &mut made_up,
    );
    let answer = w.send(&made_up).await;
    assert_eq!(answer.status, 403, "{answer:?}");
    let alerts = w.alerts.expect(1, Duration::from_secs(10)).await;
    assert_eq!(
        alerts[0].message["tamper"]["what"],
        "approval-proof-refused"
    );
    assert_eq!(w.status(&p.execution, 0).await.0, "RUNNING");
    assert!(w.item(&p.event_id).await.get("approval").is_none());
}

/// A proof is the approver's for one request only: another target, decision or reason with the
/// same proof does not match its signature; the same request again reuses its nonce; a proof
/// whose form is wrong (another action, another host's headers) is refused before STS is asked.
#[tokio::test]
async fn a_proof_cannot_be_moved_altered_or_replayed() {
    let w = world().await;
    let p = w.pending().await;
    let other = w.pending().await;
    let signer = register_key(&approver()).await;
    let mut signed = body(&p.event_id, "enforce-now");
    prove(&w.sts, &signer, &mut signed);
    for (field, value) in [
        ("target", json!(other.event_id)),
        ("decision", json!("approve")),
        ("reason", json!("something else")),
        ("nonce", json!("00000000000000000000000000000000")),
    ] {
        let mut moved = signed.clone();
        moved[field] = value;
        let answer = w.send(&moved).await;
        assert_eq!(answer.status, 403, "{field}: {answer:?}");
        assert!(
            answer.body["reason"]
                .as_str()
                .unwrap()
                .contains("STS refused"),
            "{field}: {answer:?}"
        );
        let alerts = w.alerts.expect(1, Duration::from_secs(10)).await;
        assert_eq!(
            alerts[0].message["tamper"]["what"],
            "approval-proof-refused"
        );
    }
    let mut smuggled = signed.clone();
    smuggled["proof"] = json!(format!(
        "{}&Action=AssumeRole",
        signed["proof"].as_str().unwrap()
    ));
    let answer = w.send(&smuggled).await;
    assert_eq!(answer.status, 403, "{answer:?}");
    assert!(
        answer.body["reason"]
            .as_str()
            .unwrap()
            .contains("more than once")
    );
    w.alerts.expect(1, Duration::from_secs(10)).await;

    // The request as signed works once; the same bytes again are a replay.
    let answer = w.send(&signed).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    let replay = w.send(&signed).await;
    assert_eq!(replay.status, 403, "{replay:?}");
    assert!(
        replay.body["reason"]
            .as_str()
            .unwrap()
            .contains("used before")
    );
    let alerts = w.alerts.expect(1, Duration::from_secs(10)).await;
    assert_eq!(
        alerts[0].message["tamper"]["what"],
        "approval-proof-refused"
    );
    assert_eq!(w.status(&other.execution, 0).await.0, "RUNNING");
}
