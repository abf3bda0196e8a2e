//! The ports the Lambda handlers are generic over. The AWS adapters (`model-guard-aws`) implement
//! them over the SDK; tests use the same adapters against the local emulator.

use std::future::Future;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::audit::{ApprovalRecord, AuditItem, AuditState, FailureRecord};
use crate::contract::{RollbackTo, Verdict};
use crate::enforcement::EnforcementResult;
use crate::error::{ErrorKind, GuardError};
use crate::ledger::LedgerEntry;
use crate::notification::Notification;
use crate::policy::PolicySet;
use crate::principal::Caller;
use crate::records::{History, RecordKind, ResourceRecord};

/// Where the policy items live (the policy table).
pub trait PolicyStore {
    fn policies(&self) -> impl Future<Output = Result<Arc<PolicySet>, GuardError>> + Send;
}

/// What Evaluate's write found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    /// The item is new.
    Created,
    /// The event was decided before (a duplicate delivery): the stored item, unchanged.
    Existing(Box<AuditItem>),
}

/// A forward move of an audit item, and what comes with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advance {
    pub to: AuditState,
    pub at: DateTime<Utc>,
    pub deadline: Option<DateTime<Utc>>,
    pub task_token: Option<String>,
    pub enforcement: Option<EnforcementResult>,
    pub failure: Option<FailureRecord>,
}

impl Advance {
    pub fn to(state: AuditState, at: DateTime<Utc>) -> Advance {
        Advance {
            to: state,
            at,
            deadline: None,
            task_token: None,
            enforcement: None,
            failure: None,
        }
    }
}

/// The decisions table.
pub trait AuditLog {
    /// Writes a new item unless the event already has one.
    fn record(&self, item: &AuditItem)
    -> impl Future<Output = Result<Recorded, GuardError>> + Send;

    fn get(
        &self,
        event_id: &str,
    ) -> impl Future<Output = Result<Option<AuditItem>, GuardError>> + Send;

    /// Items for a resource key (`audit::resource_key`), newest first.
    fn for_resource(
        &self,
        resource_key: &str,
    ) -> impl Future<Output = Result<Vec<AuditItem>, GuardError>> + Send;

    /// Moves the item forward: a conditional write from one of `advance.to`'s predecessors. An
    /// item already in `advance.to` is returned unchanged (a retried step); any other state is an
    /// `AuditConflict`.
    fn advance(
        &self,
        event_id: &str,
        advance: &Advance,
    ) -> impl Future<Output = Result<AuditItem, GuardError>> + Send;

    /// Records an approver's decision on a pending item that has none yet; `Ok(false)` when the
    /// item is no longer pending or already has a decision (a race lost).
    fn record_approval(
        &self,
        event_id: &str,
        approval: &ApprovalRecord,
    ) -> impl Future<Output = Result<bool, GuardError>> + Send;

    /// Writes on the item held by `execution` that Enforce is about to roll its endpoint back
    /// (`RollbackRecord`), unless a record is there already; the record on the item after the
    /// write. Refused (`AuditConflict`) when `execution` does not hold the item.
    fn note_rollback(
        &self,
        event_id: &str,
        execution: &str,
        record: &crate::audit::RollbackRecord,
    ) -> impl Future<Output = Result<crate::audit::RollbackRecord, GuardError>> + Send;

    /// Takes back a recorded decision that could not be delivered (the wait had ended).
    fn withdraw_approval(
        &self,
        event_id: &str,
        approval: &ApprovalRecord,
    ) -> impl Future<Output = Result<(), GuardError>> + Send;

    /// Takes an unsettled item (`evaluated` or `pending`) for an enforcement execution, if no
    /// other holds it, and sets its deadline unless it has one. The item after the write, or
    /// `None` when the condition did not hold (read the item to see why).
    fn claim(
        &self,
        event_id: &str,
        execution: &str,
        deadline: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<Option<AuditItem>, GuardError>> + Send;

    /// Hands an unsettled item from the execution that holds it (`from`; `None`: none does) to
    /// a restart; `false` when it is no longer so.
    fn hand_over(
        &self,
        event_id: &str,
        from: Option<&str>,
        to: &str,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, GuardError>> + Send;

    /// Records an approval request's nonce as used; `false` when it was used before (a replay).
    fn use_nonce(
        &self,
        nonce: &str,
        by: &str,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, GuardError>> + Send;

    /// Marks the alert `kind` as published: removes `alertOwed` if it is still `kind` (a later
    /// move owes a later alert, which stays owed). `false` when it was not owed (any more).
    fn alert_sent(
        &self,
        event_id: &str,
        kind: crate::notification::NotificationKind,
    ) -> impl Future<Output = Result<bool, GuardError>> + Send;

    /// The items that owe an alert (`alertOwed`), oldest decision first.
    fn owing_alerts(&self) -> impl Future<Output = Result<Vec<AuditItem>, GuardError>> + Send;

    /// The items in a state, oldest decision first.
    fn in_state(
        &self,
        state: AuditState,
    ) -> impl Future<Output = Result<Vec<AuditItem>, GuardError>> + Send;
}

/// Why an identity proof names no caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProofError {
    /// STS refused it (a bad or expired signature, an unknown key): forged, or tampered with.
    Refused(String),
    /// STS could not be asked (network, 5xx, throttling): try again.
    Failed(GuardError),
}

/// Sends a checked identity proof to STS, at the endpoint the guard resolves, with the binding
/// header the guard computes, and says whom STS names.
pub trait CallerVerifier {
    /// The region whose STS endpoint the proof must be signed for.
    fn region(&self) -> &str;
    fn verify(
        &self,
        proof: &crate::proof::CheckedProof,
        binding: &str,
    ) -> impl Future<Output = Result<crate::proof::ProvenCaller, ProofError>> + Send;
}

/// Keeps the approval task token unreadable at rest: sealed by Notify before it is stored,
/// opened by the approval function, bound to its event (a token sealed for one event does not
/// open for another).
pub trait TokenVault {
    fn seal(
        &self,
        event_id: &str,
        token: &str,
    ) -> impl Future<Output = Result<String, GuardError>> + Send;
    fn open(
        &self,
        event_id: &str,
        sealed: &str,
    ) -> impl Future<Output = Result<String, GuardError>> + Send;
}

/// Stops or deletes what a verdict found in violation.
pub trait Enforcer {
    /// Stops or deletes the verdict's resource.
    fn enforce(
        &self,
        verdict: &Verdict,
    ) -> impl Future<Output = Result<EnforcementResult, GuardError>> + Send;

    /// Where rolling the verdict's endpoint back to `to` stands: done (or nothing left to do),
    /// ready for the update, or refused with why (the endpoint is then deleted). `attempt` is the
    /// rollback record of an earlier attempt, if any. A busy endpoint is `ResourceBusy`.
    fn rollback_state(
        &self,
        verdict: &Verdict,
        to: &RollbackTo,
        attempt: Option<&crate::audit::RollbackRecord>,
    ) -> impl Future<Output = Result<RollbackState, GuardError>> + Send;

    /// Updates the verdict's endpoint back to `to` and confirms it serves it; `ResourceBusy`
    /// while the update is under way.
    fn roll_back(
        &self,
        verdict: &Verdict,
        to: &RollbackTo,
    ) -> impl Future<Output = Result<EnforcementResult, GuardError>> + Send;
}

/// [`Enforcer::rollback_state`]'s answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RollbackState {
    /// Nothing left to do: rolled back (a retried step, or SageMaker undid the update itself),
    /// or the endpoint is gone or re-created.
    Done(Box<EnforcementResult>),
    /// The endpoint can take the update now.
    Ready,
    /// It cannot be rolled back (the config gone, re-created, or not what was allowed; the
    /// endpoint failed; an earlier rollback did not take): why. It is deleted instead.
    Refused(String),
}

/// Publishes a notification; returns the message id.
pub trait Notifier {
    fn publish(
        &self,
        notification: &Notification,
    ) -> impl Future<Output = Result<String, GuardError>> + Send;
}

/// Why a task response was not delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskResponseError {
    /// The task is no longer waiting: it timed out, or the token is unknown or already used.
    TaskGone(String),
    Failed(GuardError),
}

/// Answers a waiting `.waitForTaskToken` task.
pub trait TaskResponder {
    fn succeed(
        &self,
        token: &str,
        output: &Value,
    ) -> impl Future<Output = Result<(), TaskResponseError>> + Send;
    fn fail(
        &self,
        token: &str,
        error: &str,
        cause: &str,
    ) -> impl Future<Output = Result<(), TaskResponseError>> + Send;
}

/// CloudTrail's record of calls (LookupEvents): the records of successful calls with one
/// attribute (an eventName, or an eventSource) in a time window (a failed call changed nothing). A lookup still paging at `until` fails (out
/// of time) rather than run on: a flood of calls must not make its caller overrun.
pub trait CallHistory {
    fn lookup(
        &self,
        key: LookupKey<'_>,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        until: Option<DateTime<Utc>>,
    ) -> impl Future<Output = Result<Vec<Value>, GuardError>> + Send;
}

/// The one attribute a LookupEvents request may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LookupKey<'a> {
    EventName(&'a str),
    EventSource(&'a str),
}

impl std::fmt::Display for LookupKey<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LookupKey::EventName(name) => write!(f, "EventName={name}"),
            LookupKey::EventSource(source) => write!(f, "EventSource={source}"),
        }
    }
}

/// Starts the triage machine with an event, as the EventBridge rule does, under `name`. The
/// event is JSON text, passed on exactly (a ledger entry is settled only by a run of the very
/// text it holds).
pub trait TriageStarter {
    fn start(&self, name: &str, event: &str)
    -> impl Future<Output = Result<(), GuardError>> + Send;
}

/// The enforcement state machine's executions, as the sweep watches them.
pub trait EnforcementMachine {
    /// The status of the execution of that name; `None` when there is none.
    fn status(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Option<crate::sweep::ExecutionStatus>, GuardError>> + Send;
    /// Starts an execution; `false` when the name is taken (Step Functions keeps names for 90
    /// days).
    fn start(
        &self,
        name: &str,
        input: &Value,
    ) -> impl Future<Output = Result<bool, GuardError>> + Send;
}

/// The ledger of events seen and not yet settled (`ledger`), beside the audit items.
pub trait EventLedger {
    /// Writes the entry unless the event has one; `false` when it had.
    fn note(&self, entry: &LedgerEntry) -> impl Future<Output = Result<bool, GuardError>> + Send;
    /// Counts a submission; `false` when the entry is gone (the event was settled meanwhile).
    fn submitted(
        &self,
        event_id: &str,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, GuardError>> + Send;
    /// Records why a submission failed before any triage ran (Step Functions refused it).
    fn failed(
        &self,
        event_id: &str,
        failure: &FailureRecord,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), GuardError>> + Send;
    /// Deletes the entry if it still holds `envelope` (the event is settled: decided, recorded
    /// or ignored); `false` when it is gone or holds another text.
    fn settle(
        &self,
        event_id: &str,
        envelope: &str,
    ) -> impl Future<Output = Result<bool, GuardError>> + Send;
    /// Every entry, oldest first; one that cannot be read is an error of its own, so that it
    /// holds up none of the others.
    #[allow(clippy::type_complexity)]
    fn entries(
        &self,
    ) -> impl Future<Output = Result<Vec<Result<LedgerEntry, GuardError>>, GuardError>> + Send;
}

/// Where the sweep keeps the end of the last window it finished, one for each place it looks in
/// (`scope`: `None` at home, else `<account>/<region>`).
pub trait SweepCheckpoint {
    fn last_end(
        &self,
        scope: Option<&str>,
    ) -> impl Future<Output = Result<Option<DateTime<Utc>>, GuardError>> + Send;
    fn save_end(
        &self,
        scope: Option<&str>,
        end: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), GuardError>> + Send;
}

/// The accounts of the guard's AWS organization (Organizations' `ListAccounts`): the active ones.
pub trait OrganizationAccounts {
    fn active_accounts(&self) -> impl Future<Output = Result<Vec<String>, GuardError>> + Send;
}

/// IAM's roles in this account: a role's ARN, path included, by its name; `None` when there is
/// no such role.
pub trait RoleDirectory {
    /// The ARN of the role `name` of `account` (IAM answers for each account's own roles).
    fn role_arn(
        &self,
        account: &str,
        name: &str,
    ) -> impl Future<Output = Result<Option<String>, GuardError>> + Send;
}

/// A directory that knows no role (`guardctl explain` and the fixtures: the path stays unknown).
pub struct NoDirectory;

impl RoleDirectory for NoDirectory {
    async fn role_arn(&self, _account: &str, _name: &str) -> Result<Option<String>, GuardError> {
        Ok(None)
    }
}

/// The caller with its role's path looked up where nothing gave it, for a role of `account`
/// (IAM answers for this account's roles only). What IAM cannot say (no such role, access
/// denied) leaves the path unknown, which only patterns without a path and not of IAM Identity
/// Center's form match; a failure that may pass (throttling, a 5xx) is returned, to be retried.
pub async fn look_up_role_path<D: RoleDirectory>(
    caller: Caller,
    account: Option<&str>,
    roles: &D,
) -> Result<Caller, GuardError> {
    let Some(account) = caller
        .role_account()
        .filter(|a| account.is_some_and(|own| own == *a))
        .map(str::to_owned)
    else {
        return Ok(caller);
    };
    let Some(name) = caller.role_name().filter(|_| caller.path_unknown) else {
        return Ok(caller);
    };
    match roles.role_arn(&account, name).await {
        Ok(Some(arn)) => Ok(caller.with_role_arn(&arn)),
        Ok(None) => Ok(caller),
        Err(e) if matches!(e.kind, ErrorKind::Throttled | ErrorKind::Unavailable) => Err(e),
        // The adapter logs it; the verdict or refusal says the path is unknown.
        Err(_) => Ok(caller),
    }
}

/// A port for each place the guard acts in: a central guard acts in a member account through
/// the member role there, and in any region through regional clients (`organization`). `None`
/// is the guard's own account, or its own region.
pub trait Reach {
    type Port;
    fn at(
        &self,
        account: Option<&str>,
        region: Option<&str>,
    ) -> impl Future<Output = Result<Self::Port, GuardError>> + Send;
}

/// The records table: what each model and endpoint config contained when created.
pub trait RecordStore {
    /// Keeps a record (idempotent: a duplicate delivery writes the same item).
    fn put(&self, record: &ResourceRecord) -> impl Future<Output = Result<(), GuardError>> + Send;

    /// The records of a name, in any order: all of them, or the newest
    /// [`MAX_HISTORY`](crate::records::MAX_HISTORY) and `truncated`. A record's content need
    /// only carry its execution role, models and containers.
    fn history(
        &self,
        kind: RecordKind,
        name: &str,
        scope: Option<&str>,
    ) -> impl Future<Output = Result<History, GuardError>> + Send;

    /// Whether this record is kept already (the sweep's question).
    fn contains(
        &self,
        record: &ResourceRecord,
    ) -> impl Future<Output = Result<bool, GuardError>> + Send;
}

/// A record store with one more record in it: a recorded call judged as the pipeline judges it,
/// its own record kept first (`guardctl explain` on a CreateModel).
pub struct WithRecord<'a, S> {
    pub store: &'a S,
    pub record: &'a ResourceRecord,
}

impl<S: RecordStore + Sync> RecordStore for WithRecord<'_, S> {
    async fn put(&self, record: &ResourceRecord) -> Result<(), GuardError> {
        self.store.put(record).await
    }

    async fn history(
        &self,
        kind: RecordKind,
        name: &str,
        scope: Option<&str>,
    ) -> Result<History, GuardError> {
        let mut history = self.store.history(kind, name, scope).await?;
        let mine = self.record.key() == ResourceRecord::partition_key(kind, name, scope);
        if mine && !history.records.contains(self.record) {
            history.records.push(self.record.clone());
        }
        Ok(history)
    }

    async fn contains(&self, record: &ResourceRecord) -> Result<bool, GuardError> {
        Ok(record == self.record || self.store.contains(record).await?)
    }
}

/// The guard's own resources, as the health check looks at them (`health`). Each answer is
/// what AWS says now; `Ok(None)` when the resource is gone.
pub trait GuardResources {
    /// An EventBridge rule: its state and the ARNs of its targets.
    fn rule(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Option<crate::health::RuleFact>, GuardError>> + Send;
    /// Every trail that logs in this region (the account's, an organization's, multi-region).
    fn trails(
        &self,
    ) -> impl Future<Output = Result<Vec<crate::health::TrailFact>, GuardError>> + Send;
    /// A function's reserved concurrency (`Some(None)`: none set).
    fn reserved_concurrency(
        &self,
        function: &str,
    ) -> impl Future<Output = Result<Option<crate::health::ReservedConcurrency>, GuardError>> + Send;
    /// An event source mapping's state.
    fn mapping_state(
        &self,
        uuid: &str,
    ) -> impl Future<Output = Result<Option<String>, GuardError>> + Send;
    /// A topic's confirmed subscriptions.
    fn confirmed_subscriptions(
        &self,
        topic: &str,
    ) -> impl Future<Output = Result<Option<u64>, GuardError>> + Send;
}

/// What the health check found at its last run: its alert goes out when that changes.
pub trait HealthMemory {
    /// The failing checks of the last run that was alerted; `None` before the first.
    fn last_failing(&self) -> impl Future<Output = Result<Option<Vec<String>>, GuardError>> + Send;
    fn save_failing(
        &self,
        failing: &[String],
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), GuardError>> + Send;
}

/// Where the guard topic's messages are kept (`guard_log`).
pub trait GuardAlertLog {
    /// Keeps it unless it is kept already (SNS may deliver a message twice); `false` then.
    fn keep(
        &self,
        record: &crate::guard_log::GuardAlertRecord,
    ) -> impl Future<Output = Result<bool, GuardError>> + Send;
    /// The messages kept since `since`, newest first.
    fn since(
        &self,
        since: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<crate::guard_log::GuardAlertRecord>, GuardError>> + Send;
}

/// What the drift scan alerted before (`drift#<finding key>` items of the decisions table):
/// each finding is alerted once.
pub trait DriftMemory {
    /// Whether the finding was alerted by an earlier drift scan.
    fn alerted(&self, key: &str) -> impl Future<Output = Result<bool, GuardError>> + Send;
    /// Remembers that it was alerted (after the alert went out: a failure here costs a second
    /// alert, never a lost one).
    fn remember(
        &self,
        key: &str,
        resource: &str,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), GuardError>> + Send;
}
