//! Approve: the handler behind the approval Function URL. An approver keeps a violating resource
//! (`approve`) or has it enforced at once (`enforce-now`). Who asks is what AWS says: the request
//! carries a presigned `sts:GetCallerIdentity` signed with the approver's credentials and bound to
//! this request (`model_guard_core::proof`), which the function sends to STS itself; nothing in
//! the event (its `requestContext.authorizer` included, which anyone who may invoke the function
//! directly can write) names the caller. A proof STS does not accept, or one used before, is
//! refused and alerted. Then it checks the caller against the verdict's approvers, refuses
//! self-approval and anything not pending, records who, when and why on the audit item, and
//! answers the waiting AwaitApproval task with the token it unseals.

use aws_lambda_events::event::lambda_function_urls::{
    LambdaFunctionUrlRequest, LambdaFunctionUrlResponse,
};
use aws_lambda_events::http::HeaderMap;
use aws_lambda_events::http::header::{CONTENT_TYPE, HeaderValue};
use chrono::{DateTime, Utc};
use model_guard_core::GuardError;
use model_guard_core::approval::{
    ApprovalDecision, ApproveRequest, Refusal, TargetKind, check_approval,
};
use model_guard_core::audit::{ApprovalRecord, AuditItem, AuditState, TargetKeys};
use model_guard_core::error::ENFORCE_NOW_ERROR;
use model_guard_core::notification::{TamperAlert, TamperKind, render_tamper};
use model_guard_core::ports::{
    AuditLog, CallerVerifier, Notifier, ProofError, RoleDirectory, TaskResponder,
    TaskResponseError, TokenVault, look_up_role_path,
};
use model_guard_core::principal::Caller;
use model_guard_core::proof::check_proof;
use serde_json::{Value, json};

pub struct Ports<A, T, D, S, V, N> {
    pub audit: A,
    pub tasks: T,
    /// IAM, for the path of the caller's role (STS names only its session).
    pub roles: D,
    /// STS, which says who signed the identity proof.
    pub sts: S,
    /// Unseals the stored task token.
    pub vault: V,
    /// For the tamper alert on a forged or replayed proof.
    pub notifier: N,
}

/// The answer, as status and JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

impl Answer {
    fn refused(status: u16, reason: impl Into<String>) -> Answer {
        let error = match status {
            400 => "bad-request",
            403 => "forbidden",
            404 => "not-found",
            405 => "method-not-allowed",
            409 => "conflict",
            _ => "error",
        };
        Answer {
            status,
            body: json!({"error": error, "reason": reason.into()}),
        }
    }

    fn from_refusal(refusal: Refusal) -> Answer {
        Answer::refused(refusal.status, refusal.reason)
    }

    fn failed(error: &GuardError) -> Answer {
        Answer {
            status: 500,
            body: json!({"error": error.error_type(), "reason": error.message}),
        }
    }

    pub fn into_response(self) -> LambdaFunctionUrlResponse {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        let mut response = LambdaFunctionUrlResponse::default();
        response.status_code = i64::from(self.status);
        response.headers = headers;
        response.body = Some(self.body.to_string());
        response
    }
}

/// The Function URL event in (as JSON), the answer out. Never an error: every failure is an
/// answer with a status and a reason.
/// `own_account`: the account the function runs in (from its own ARN, never the event): IAM
/// gives role paths for its roles only.
pub async fn handle<A, T, D, S, V, N>(
    event: Value,
    ports: &Ports<A, T, D, S, V, N>,
    own_account: Option<&str>,
    now: DateTime<Utc>,
) -> Answer
where
    A: AuditLog,
    T: TaskResponder,
    D: RoleDirectory,
    S: CallerVerifier,
    V: TokenVault,
    N: Notifier,
{
    let request: LambdaFunctionUrlRequest = match serde_json::from_value(event) {
        Ok(r) => r,
        Err(e) => return Answer::refused(400, format!("not a Function URL request: {e}")),
    };
    let method = request.request_context.http.method.as_deref().unwrap_or("");
    if !method.eq_ignore_ascii_case("POST") {
        return Answer::refused(405, format!("use POST, not {method:?}"));
    }
    let body = match body_bytes(&request) {
        Ok(b) => b,
        Err(why) => return Answer::refused(400, why),
    };
    let approval_request = match ApproveRequest::from_body(&body) {
        Ok(r) => r,
        Err(why) => return Answer::refused(400, why),
    };

    // Who asks, by AWS's word: the proof's form first (no call for a malformed one), then STS.
    let proof = match check_proof(&approval_request.proof, ports.sts.region(), now) {
        Ok(proof) => proof,
        Err(why) => return refuse_proof(ports, &approval_request, why).await,
    };
    let proven = match ports.sts.verify(&proof, &approval_request.binding()).await {
        Ok(proven) => proven,
        Err(ProofError::Refused(why)) => return refuse_proof(ports, &approval_request, why).await,
        Err(ProofError::Failed(e)) => return Answer::failed(&e),
    };
    let caller_arn = proven.arn.clone();
    // A federated user's session ARN cannot be traced back to the IAM user CloudTrail names as
    // the deployer, so self-approval could not be ruled out: refuse.
    if caller_arn.contains(":federated-user/") {
        return Answer::refused(
            403,
            format!("{caller_arn} is a federated user session; approve with a role or IAM user"),
        );
    }
    // Each proof once: a copy of a request (from a log, a proxy) approves nothing.
    match ports
        .audit
        .use_nonce(&approval_request.nonce, &caller_arn, now)
        .await
    {
        Ok(true) => {}
        Ok(false) => {
            let why = format!(
                "nonce {} was used before: a replayed request (by {caller_arn})",
                approval_request.nonce
            );
            return refuse_proof(ports, &approval_request, why).await;
        }
        Err(e) => return Answer::failed(&e),
    }
    // The path of the caller's role is part of who it is (a look-alike of an Identity Center
    // role at another path is someone else): IAM says, for this account's roles.
    let caller =
        match look_up_role_path(Caller::from_arn(&caller_arn), own_account, &ports.roles).await {
            Ok(caller) => caller,
            Err(e) => return Answer::failed(&e),
        };

    let item = match find(
        &ports.audit,
        &approval_request.target,
        approval_request.target_kind,
    )
    .await
    {
        Ok(Ok(item)) => item,
        Ok(Err(answer)) => return answer,
        Err(e) => return Answer::failed(&e),
    };
    if let Err(refusal) = check_approval(&caller, &item) {
        tracing::warn!(event_id = %item.event_id, caller = %caller.principal, reason = %refusal.reason, "refused");
        return Answer::from_refusal(refusal);
    }
    let Some(sealed) = item.task_token.clone() else {
        return Answer::refused(
            409,
            format!(
                "event {} is pending but has no task token yet; try again",
                item.event_id
            ),
        );
    };
    let token = match ports.vault.open(&item.event_id, &sealed).await {
        Ok(token) => token,
        Err(e) => return Answer::failed(&e),
    };

    let record = ApprovalRecord {
        decision: approval_request.decision,
        by: caller.principal.clone(),
        person: caller.person(),
        caller_arn,
        at: now,
        reason: approval_request.reason.clone(),
    };
    match ports.audit.record_approval(&item.event_id, &record).await {
        Ok(true) => {}
        Ok(false) => {
            return Answer::refused(
                409,
                format!(
                    "event {} was decided by someone else just now",
                    item.event_id
                ),
            );
        }
        Err(e) => return Answer::failed(&e),
    }

    let sent = match record.decision {
        ApprovalDecision::Approve => {
            let output = match serde_json::to_value(&record) {
                Ok(v) => json!({"approval": v}),
                Err(e) => json!({"approval": e.to_string()}),
            };
            ports.tasks.succeed(&token, &output).await
        }
        ApprovalDecision::EnforceNow => {
            let cause = format!("enforce-now by {}: {}", record.by, record.reason);
            ports.tasks.fail(&token, ENFORCE_NOW_ERROR, &cause).await
        }
    };
    match sent {
        Ok(()) => {
            tracing::info!(
                event_id = %item.event_id,
                decision = record.decision.as_str(),
                by = %record.by,
                reason = %record.reason,
                "decided"
            );
            Answer {
                status: 200,
                body: json!({
                    "outcome": record.decision.as_str(),
                    "eventId": item.event_id,
                    "resource": item.verdict.resource,
                    "by": record.by,
                    "person": record.person,
                }),
            }
        }
        Err(TaskResponseError::TaskGone(why)) => {
            // The wait had ended: the decision never reached the enforcement, so take it back
            // and let the audit tell the truth.
            if let Err(e) = ports.audit.withdraw_approval(&item.event_id, &record).await {
                tracing::error!(event_id = %item.event_id, error = %e, "could not withdraw the approval");
            }
            Answer::refused(
                409,
                format!(
                    "event {}: the grace period has ended and enforcement is under way ({why})",
                    item.event_id
                ),
            )
        }
        Err(TaskResponseError::Failed(e)) => {
            // Step Functions may or may not have taken it (a timeout, a 5xx): keep the record,
            // which is right if it did, and say the outcome is unknown.
            tracing::error!(event_id = %item.event_id, error = %e, "task response failed");
            Answer {
                status: 500,
                body: json!({
                    "error": e.error_type(),
                    "reason": format!(
                        "the decision is recorded but may not have reached the enforcement: {}; \
                         check the event's state before trying again",
                        e.message
                    ),
                }),
            }
        }
    }
}

/// Refuses a request whose identity proof AWS did not vouch for (or that was used before), and
/// alerts: someone tried to approve as someone else.
async fn refuse_proof<A, T, D, S, V, N: Notifier>(
    ports: &Ports<A, T, D, S, V, N>,
    request: &ApproveRequest,
    why: String,
) -> Answer {
    let target = request.target.as_str();
    tracing::warn!(target, nonce = %request.nonce, reason = %why, "identity proof refused");
    let alert = TamperAlert {
        what: TamperKind::ApprovalProofRefused,
        event_id: None,
        detail: format!(
            "a request to {} {target:?} (nonce {}): {why}",
            request.decision.as_str(),
            request.nonce
        ),
        place: None,
    };
    if let Err(e) = ports.notifier.publish(&render_tamper(&alert, None)).await {
        tracing::error!(error = %e, "could not alert the refused proof");
    }
    Answer::refused(403, format!("the identity proof was refused: {why}"))
}

fn body_bytes(request: &LambdaFunctionUrlRequest) -> Result<Vec<u8>, String> {
    let body = request.body.as_deref().unwrap_or("");
    if request.is_base64_encoded {
        aws_smithy_types::base64::decode(body).map_err(|e| format!("the body is not base64: {e}"))
    } else {
        Ok(body.as_bytes().to_vec())
    }
}

/// The item a target names: an eventId, or the one pending event of a resource ARN or name. A
/// target that is both (an endpoint named like another event's id) is refused with both named,
/// unless the request says which kind it is.
async fn find<A: AuditLog>(
    audit: &A,
    target: &str,
    kind: Option<TargetKind>,
) -> Result<Result<AuditItem, Answer>, GuardError> {
    let by_event = match kind {
        Some(TargetKind::Resource) => None,
        _ => audit.get(target).await?,
    };
    let items = match kind {
        Some(TargetKind::Event) => Vec::new(),
        _ => {
            let target = TargetKeys::of(target);
            let mut items = Vec::new();
            for key in &target.keys {
                items.extend(
                    audit
                        .for_resource(key)
                        .await?
                        .into_iter()
                        .filter(|i| target.holds(i)),
                );
            }
            items
        }
    };
    if let Some(event) = by_event {
        if items.is_empty() {
            return Ok(Ok(event));
        }
        let events: Vec<&str> = items.iter().map(|i| i.event_id.as_str()).collect();
        return Ok(Err(Answer::refused(
            409,
            format!(
                "{target:?} could mean two things: event {} ({} {}, {}), or the {} named \
                 {target:?} (events {}); say which (guardctl --event or --resource; \
                 \"targetKind\" in the request)",
                event.event_id,
                event.resource_type,
                event
                    .verdict
                    .resource
                    .as_ref()
                    .map_or("?", |r| r.name.as_str()),
                event.state,
                items[0].resource_type,
                events.join(", ")
            ),
        )));
    }
    let pending: Vec<&AuditItem> = items
        .iter()
        .filter(|i| i.state == AuditState::Pending)
        .collect();
    let what = match kind {
        Some(TargetKind::Event) => "event",
        Some(TargetKind::Resource) => "resource",
        None => "event or resource",
    };
    Ok(match (pending.as_slice(), items.first()) {
        ([one], _) => Ok((*one).clone()),
        ([], None) => Err(Answer::refused(
            404,
            format!("no {what} {target:?} is known to Model Guard"),
        )),
        ([], Some(latest)) => Err(Answer::refused(
            409,
            format!(
                "{target} has no pending event: the latest, {}, is {}",
                latest.event_id, latest.state
            ),
        )),
        (several, _) => Err(Answer::refused(
            409,
            format!(
                "{target} has {} pending events; name one: {}",
                several.len(),
                several
                    .iter()
                    .map(|i| i.event_id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
    })
}
