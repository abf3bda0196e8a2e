//! ParseEvent: an EventBridge "AWS API Call via CloudTrail" event into a [`Request`], or an
//! ignored verdict that says why.

use aws_lambda_events::event::cloudwatch_events::CloudWatchEvent;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::contract::{
    Action, Decision, ParseOutcome, Request, ResourceRef, ResourceType, Target, Verdict, Version1,
};
use crate::covered::{
    ANY_VALUE, CoveredCall, GATES, Leads, ONE_OF, RecordedCall, SubjectPath, WhenNoSubject,
    covered_call, recorded_call,
};
use crate::lenient::{Field, JsonKind};
use crate::organization::Guarded;
use crate::principal::{MAX_ARN_LEN, UserIdentity, canonical_arn, principal_of, truncate_chars};
use crate::records::{RecordContent, RecordOp, ResourceRecord};

/// No SageMaker name is longer than 63 characters; allow some slack, but a name longer than this
/// is not a name, and would only bloat every message that carries it.
pub const MAX_NAME_LEN: usize = 256;
/// How much of an `errorMessage` a reason quotes.
const MAX_QUOTED: usize = 200;

const API_CALL: &str = "AWS API Call via CloudTrail";

/// The CloudTrail record in `detail`, read leniently (see [`Field`]). `aws_lambda_events`'
/// `AWSAPICall` requires fields real events lack and has no `errorCode`, so only its envelope is
/// used.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default, rename_all = "camelCase")]
pub struct CloudTrailDetail {
    pub event_source: Field<String>,
    pub event_name: Field<String>,
    #[serde(rename = "eventID")]
    pub event_id: Field<String>,
    pub event_time: Field<String>,
    pub event_type: Field<String>,
    pub aws_region: Field<String>,
    pub recipient_account_id: Field<String>,
    pub error_code: Field<String>,
    pub error_message: Field<String>,
    pub read_only: Field<bool>,
    pub user_identity: Field<UserIdentity>,
    pub request_parameters: Option<Value>,
    pub response_elements: Option<Value>,
}

pub type Envelope = CloudWatchEvent<CloudTrailDetail>;

/// The input is not JSON at all (as opposed to JSON that is not a usable event).
#[derive(Debug)]
pub struct NotJson(pub serde_json::Error);

impl std::fmt::Display for NotJson {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "not JSON: {}", self.0)
    }
}

impl std::error::Error for NotJson {}

/// Parses raw bytes. Only bytes that are not JSON are an error; any JSON that is not a usable
/// event is an ignored verdict.
pub fn parse_event_slice(bytes: &[u8]) -> Result<ParseOutcome, NotJson> {
    match serde_json::from_slice::<Envelope>(bytes) {
        Ok(envelope) => Ok(interpret(envelope)),
        // Not usable as an event: read it again, slowly, to say where and why.
        Err(e) if e.is_data() => match serde_json::from_slice::<Value>(bytes) {
            Ok(value) => Ok(parse_event_value(&value)),
            Err(e) => Err(NotJson(e)),
        },
        Err(e) => Err(NotJson(e)),
    }
}

/// Parses an event already read as JSON (as the Lambda receives it).
pub fn parse_event_value(value: &Value) -> ParseOutcome {
    if !value.is_object() {
        let kind = JsonKind::of(value).map_or("null".to_owned(), |k| k.to_string());
        return ignored(
            Known::default(),
            format!("not an EventBridge event: the document is {kind}, expected an object"),
        );
    }
    match Envelope::deserialize(value) {
        Ok(envelope) => interpret(envelope),
        Err(_) => lenient_envelope(value),
    }
}

/// Parses an event for a guard that answers for `guarded`: as [`parse_event_value`], then a call
/// from an account the guard does not answer for is ignored saying why, and any other request or
/// record carries its scope (`organization`). The account and region are the envelope's, which
/// EventBridge sets (no one can put an `aws.` event on a bus), else the detail's.
pub fn parse_guarded_event(value: &Value, guarded: &Guarded) -> ParseOutcome {
    let outcome = parse_event_value(value);
    let text = |v: Option<&Value>| {
        v.and_then(Value::as_str)
            .filter(|t| !t.is_empty() && t.len() <= MAX_NAME_LEN)
            .map(str::to_owned)
    };
    let detail = |field: &str| value.get("detail").and_then(|d| d.get(field));
    let (account, region) = match &outcome {
        ParseOutcome::Request { request } => (request.account.clone(), request.region.clone()),
        _ => (
            text(value.get("account")).or_else(|| text(detail("recipientAccountId"))),
            text(value.get("region")).or_else(|| text(detail("awsRegion"))),
        ),
    };
    guarded.admit(outcome, account.as_deref(), region.as_deref())
}

/// The envelope as `aws_lambda_events` reads it requires `time` and `resources`, which do not
/// matter here; when it refuses an event, read the fields that do matter one by one, so that a
/// covered call is still decided.
fn lenient_envelope(value: &Value) -> ParseOutcome {
    #[derive(Deserialize, Default)]
    #[serde(default)]
    struct Lenient {
        id: Field<String>,
        source: Field<String>,
        #[serde(rename = "detail-type")]
        detail_type: Field<String>,
        account: Field<String>,
        region: Field<String>,
    }
    let fields = Lenient::deserialize(value).unwrap_or_default();
    let detail = match value.get("detail") {
        None | Some(Value::Null) => None,
        Some(detail) => match serde_path_to_error::deserialize::<_, CloudTrailDetail>(detail) {
            Ok(detail) => Some(detail),
            Err(e) => {
                let at = e.path().to_string();
                let at = if at == "." {
                    "detail".to_owned()
                } else {
                    format!("detail.{at}")
                };
                let why = e.into_inner().to_string();
                return ignored(
                    Known::default(),
                    format!("not a CloudTrail event: {at}: {}", strip_position(&why)),
                );
            }
        },
    };
    let mut envelope = Envelope::default();
    envelope.id = fields.id.present().cloned();
    envelope.source = fields.source.present().cloned();
    envelope.detail_type = fields.detail_type.present().cloned();
    envelope.account_id = fields.account.present().cloned();
    envelope.region = fields.region.present().cloned();
    envelope.detail = detail;
    interpret(envelope)
}

/// serde_json appends " at line L column C", which means nothing for a value already parsed.
fn strip_position(message: &str) -> &str {
    message.split(" at line ").next().unwrap_or(message)
}

/// What could be read of an event, for an ignored verdict.
#[derive(Default, Clone)]
struct Known {
    event_id: Option<String>,
    event_name: Option<String>,
    event_time: Option<String>,
    account: Option<String>,
    region: Option<String>,
}

fn ignored(known: Known, reason: String) -> ParseOutcome {
    ParseOutcome::Ignored {
        verdict: Verdict {
            version: Version1,
            event_id: known.event_id,
            event_name: known.event_name,
            event_time: known.event_time,
            account: known.account,
            region: known.region,
            decision: Decision::Ignored,
            action: Action::None,
            grace_seconds: 0,
            principal: None,
            person: None,
            source_identity: None,
            resource: None,
            subjects: Vec::new(),
            approvers: Vec::new(),
            reasons: vec![reason],
            started_by: None,
            observed: false,
            restorable: None,
            rollback_to: None,
            scope: None,
        },
    }
}

/// The longest Step Functions execution name.
pub const MAX_EXECUTION_NAME_LEN: usize = 80;

/// The event's id as Model Guard uses it: it keys the audit item and names the enforcement
/// execution, so it must be a valid execution name (at most 80 of `A-Z a-z 0-9 - _`). CloudTrail's
/// eventIDs are UUIDs and are kept as they are; anything else becomes its valid characters (at
/// most 47) and a hash of the whole, the same for every delivery of the same event.
pub fn execution_name(event_id: &str) -> String {
    let valid = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    if !event_id.is_empty()
        && event_id.len() <= MAX_EXECUTION_NAME_LEN
        && event_id.chars().all(valid)
    {
        return event_id.to_owned();
    }
    // FNV-1a: stable across builds and platforms, unlike the standard library's hasher.
    let hash = event_id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    let kept: String = event_id.chars().filter(|c| valid(*c)).take(47).collect();
    format!("{kept}-{hash:016x}")
}

fn bounded(text: Option<&str>, max: usize) -> Option<String> {
    text.filter(|t| !t.is_empty() && t.len() <= max)
        .map(str::to_owned)
}

fn interpret(envelope: Envelope) -> ParseOutcome {
    let Some(detail) = envelope.detail else {
        return ignored(Known::default(), "the event has no detail".to_owned());
    };
    let known = Known {
        event_id: bounded(detail.event_id.as_str(), MAX_NAME_LEN),
        event_name: bounded(detail.event_name.as_str(), MAX_NAME_LEN),
        event_time: bounded(detail.event_time.as_str(), MAX_NAME_LEN),
        account: bounded(envelope.account_id.as_deref(), MAX_NAME_LEN)
            .or_else(|| bounded(detail.recipient_account_id.as_str(), MAX_NAME_LEN)),
        region: bounded(envelope.region.as_deref(), MAX_NAME_LEN)
            .or_else(|| bounded(detail.aws_region.as_str(), MAX_NAME_LEN)),
    };

    match (envelope.source.as_deref(), detail.event_source.as_str()) {
        (Some(source), _) if source != "aws.sagemaker" => {
            let source = truncate_chars(source, MAX_QUOTED);
            return ignored(
                known,
                format!("other service: source {source:?}, not aws.sagemaker"),
            );
        }
        (_, Some(source)) if source != "sagemaker.amazonaws.com" => {
            let source = truncate_chars(source, MAX_QUOTED);
            return ignored(
                known,
                format!("other service: eventSource {source:?}, not sagemaker.amazonaws.com"),
            );
        }
        (None, None) => {
            return ignored(
                known,
                "neither source nor detail.eventSource says this is a SageMaker call".to_owned(),
            );
        }
        _ => {}
    }
    if let Some(detail_type) = envelope.detail_type.as_deref()
        && detail_type != API_CALL
    {
        let detail_type = truncate_chars(detail_type, MAX_QUOTED);
        return ignored(
            known,
            format!("not an API call: detail-type {detail_type:?}, not {API_CALL:?}"),
        );
    }
    if detail.event_type.as_str() == Some("AwsServiceEvent") {
        return ignored(
            known,
            "a service event (such as a training job started by a tuning job), not a caller's \
             API call: the call that caused it is checked instead"
                .to_owned(),
        );
    }
    let event_name = match detail.event_name.as_str() {
        Some(name) if !name.is_empty() => name,
        _ => {
            let problem = field_problem(&detail.event_name);
            return ignored(known, format!("detail.eventName {problem}"));
        }
    };
    if let Some(recorded) = recorded_call(event_name) {
        let outcome = record_of(recorded, &detail, known.clone(), envelope.id.as_deref());
        // A recorded call that is judged too (CreateModel): its request goes with the record.
        return match (outcome, covered_call(event_name)) {
            (ParseOutcome::Record { record, .. }, Some(call)) => {
                match request_of(call, &detail, known, envelope.id.as_deref()) {
                    ParseOutcome::Request { request } => ParseOutcome::Record {
                        record,
                        request: Some(Box::new(request)),
                    },
                    _ => ParseOutcome::Record {
                        record,
                        request: None,
                    },
                }
            }
            (outcome, _) => outcome,
        };
    }
    let Some(call) = covered_call(event_name) else {
        let name = truncate_chars(event_name, MAX_QUOTED);
        let reason = if detail.read_only.present() == Some(&true) {
            format!("read-only call {name}: only deployments are covered")
        } else {
            format!("{name} is not a covered SageMaker call")
        };
        return ignored(known, reason);
    };
    request_of(call, &detail, known, envelope.id.as_deref())
}

/// A covered call's request.
fn request_of(
    call: &CoveredCall,
    detail: &CloudTrailDetail,
    known: Known,
    envelope_id: Option<&str>,
) -> ParseOutcome {
    if let Some(code) = failure(detail) {
        return ignored(known, code);
    }
    let event_id = match event_id_of(&known, detail, envelope_id) {
        Ok(id) => id,
        Err(why) => return ignored(known, why),
    };
    let resource = match resource_of(call, detail) {
        Ok(resource) => resource,
        Err(why) => return ignored(known, format!("resource not identifiable: {why}")),
    };
    let targets = targets_of(call, detail.request_parameters.as_ref());
    let caller = principal_of(&detail.user_identity);
    ParseOutcome::Request {
        request: Request {
            version: Version1,
            event_id,
            event_name: call.event_name.to_owned(),
            event_time: known.event_time,
            account: known.account,
            region: known.region,
            principal: caller.principal,
            principal_path_unknown: caller.path_unknown,
            session: caller.session,
            source_identity: caller.source_identity,
            resource,
            targets,
            pipeline_execution: pipeline_execution_tag(detail.request_parameters.as_ref()),
            scope: None,
        },
    }
}

/// The tag SageMaker Pipelines puts on what a step creates, naming the execution.
pub const PIPELINE_EXECUTION_TAG: &str = "sagemaker:pipeline-execution-arn";

/// The execution a request's `tags` say the resource is a step of. Only a claim: anyone who
/// creates a resource may write tags (`children` checks it against the execution's steps).
fn pipeline_execution_tag(params: Option<&Value>) -> Option<String> {
    params?
        .get("tags")?
        .as_array()?
        .iter()
        .find(|tag| tag.get("key").and_then(Value::as_str) == Some(PIPELINE_EXECUTION_TAG))?
        .get("value")?
        .as_str()
        .filter(|arn| arn.starts_with("arn:") && arn.len() <= MAX_ARN_LEN)
        .map(str::to_owned)
}

/// A pipeline execution's name, from its ARN (`…:pipeline/NAME/execution/ID` → `NAME/ID`).
fn execution_name_of(arn: &str) -> Option<String> {
    let (_, path) = arn.split_once(":pipeline/")?;
    let (pipeline, id) = path.split_once("/execution/")?;
    (!pipeline.is_empty() && !id.is_empty() && !id.contains('/'))
        .then(|| format!("{pipeline}/{id}"))
}

/// The CloudTrail eventID, which keys the audit item and the enforcement; EventBridge's own id is
/// as unique, so a record without one is still decided.
fn event_id_of(
    known: &Known,
    detail: &CloudTrailDetail,
    envelope_id: Option<&str>,
) -> Result<String, String> {
    known
        .event_id
        .as_deref()
        .or(envelope_id.filter(|id| !id.is_empty()))
        .map(execution_name)
        .ok_or_else(|| {
            format!(
                "detail.eventID {}, and the envelope has no id: the event cannot be audited or \
                 de-duplicated",
                field_problem(&detail.event_id)
            )
        })
}

/// A recorded call's record: its name, its time and, for a create, its content as given.
fn record_of(
    call: &RecordedCall,
    detail: &CloudTrailDetail,
    known: Known,
    envelope_id: Option<&str>,
) -> ParseOutcome {
    if let Some(code) = failure(detail) {
        return ignored(known, code);
    }
    let event_id = match event_id_of(&known, detail, envelope_id) {
        Ok(id) => id,
        Err(why) => return ignored(known, why),
    };
    let Some(event_time) = detail
        .event_time
        .as_str()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
    else {
        let problem = field_problem(&detail.event_time);
        return ignored(
            known,
            format!(
                "detail.eventTime {problem}: a {} cannot be recorded without the time of the call",
                call.event_name
            ),
        );
    };
    let params = detail.request_parameters.as_ref().filter(|p| p.is_object());
    let from_params = params
        .map(|p| usable_string(p.get(call.name_field), MAX_NAME_LEN))
        .unwrap_or_else(|| Err("is missing (requestParameters is missing)".to_owned()));
    let from_arn = call.arn_field.and_then(|field| {
        let arn = detail.response_elements.as_ref()?.get(field);
        let arn = usable_string(arn, MAX_ARN_LEN).ok()?;
        let name = arn.rsplit_once('/')?.1;
        (!name.is_empty()).then(|| name.to_owned())
    });
    let name = match (from_params, from_arn) {
        (Ok(name), _) => name,
        (Err(_), Some(name)) => name,
        (Err(problem), None) => {
            return ignored(
                known,
                format!(
                    "cannot be recorded: requestParameters.{} {problem}",
                    call.name_field
                ),
            );
        }
    };
    let content = match (call.op, params) {
        (RecordOp::Create, Some(params)) => 'content: {
            let mut models = Vec::new();
            for path in call.models {
                let mut found = Vec::new();
                walk(params, path, String::new(), &mut found);
                for f in found {
                    match f {
                        Found::Name(name) => models.push(name),
                        // A model that cannot be read: the content is not known, rather than
                        // known without it.
                        Found::Unusable { .. } => break 'content None,
                    }
                }
            }
            let mut given = params.clone();
            if let Some(object) = given.as_object_mut() {
                object.remove("tags");
            }
            // A model's containers; one that cannot be read leaves them unknown (not empty).
            let containers = (call.kind == crate::records::RecordKind::Model)
                .then(|| crate::content::model_containers(params).ok())
                .flatten();
            Some(RecordContent {
                execution_role_arn: usable_string(params.get("executionRoleArn"), MAX_ARN_LEN).ok(),
                models,
                containers,
                given,
            })
        }
        _ => None,
    };
    ParseOutcome::Record {
        request: None,
        record: ResourceRecord {
            version: Version1,
            kind: call.kind,
            name,
            op: call.op,
            event_id,
            event_time,
            principal: principal_of(&detail.user_identity).principal,
            content,
            scope: None,
        },
    }
}

fn field_problem(field: &Field<String>) -> String {
    match field {
        Field::Present(s) if s.is_empty() => "is empty".to_owned(),
        Field::Present(s) => format!("is {} bytes long", s.len()),
        other => other.problem(JsonKind::String).unwrap_or_default(),
    }
}

/// A call that failed carries `errorCode` and created nothing.
fn failure(detail: &CloudTrailDetail) -> Option<String> {
    // Only a real error code means the call failed: an empty or mistyped one is not evidence
    // enough to ignore a deployment.
    let code = truncate_chars(detail.error_code.non_empty()?, MAX_QUOTED);
    let name = detail.event_name.as_str().unwrap_or_default();
    Some(match detail.error_message.as_str() {
        Some(message) if !message.is_empty() => format!(
            "failed call: {name} returned errorCode {code:?} ({}); it created nothing",
            truncate_chars(message, MAX_QUOTED)
        ),
        _ => format!("failed call: {name} returned errorCode {code:?}; it created nothing"),
    })
}

fn resource_of(call: &CoveredCall, detail: &CloudTrailDetail) -> Result<ResourceRef, String> {
    let arn_path = format!("responseElements.{}", call.arn_field);
    let arn_value = detail
        .response_elements
        .as_ref()
        .and_then(|r| r.get(call.arn_field));
    let arn = match usable_string(arn_value, MAX_ARN_LEN) {
        Ok(arn) if is_resource_arn(&arn) => Ok(arn),
        Ok(_) => Err(format!("{arn_path} is not a resource ARN")),
        Err(problem) => Err(format!("{arn_path} {problem}")),
    };
    // An execution has no name of its own: the request names its pipeline, or the execution by
    // ARN. The response's ARN names it, and nothing else will do.
    if call.resource_type == ResourceType::PipelineExecution {
        let arn = arn?;
        let name = execution_name_of(&arn)
            .ok_or_else(|| format!("{arn_path} is not a pipeline execution's ARN"))?;
        return Ok(ResourceRef {
            resource_type: call.resource_type,
            name,
            arn: Some(arn),
        });
    }
    // Studio resources are named by all their IDs, from the request (a CreateApp's ARN cannot
    // tell a profile's app from a space's; a presigned URL's response has no ARN).
    let params = detail.request_parameters.as_ref().filter(|p| p.is_object());
    let studio = match (call.resource_type, params) {
        (ResourceType::App, Some(p)) => Some(crate::studio::app_name(p)),
        (ResourceType::UserProfile, Some(p)) => {
            Some(crate::studio::in_domain_name(p, "userProfileName"))
        }
        (ResourceType::Space, Some(p)) => Some(crate::studio::in_domain_name(p, "spaceName")),
        // A created domain's ID is in its ARN only.
        (ResourceType::Domain, Some(p)) if call.name_field == "domainId" => {
            Some(crate::studio::domain_id(p))
        }
        (ResourceType::App | ResourceType::UserProfile | ResourceType::Space, None) => {
            Some(Err("requestParameters is missing".to_owned()))
        }
        _ => None,
    };
    if let Some(name) = studio {
        return Ok(ResourceRef {
            resource_type: call.resource_type,
            name: name?,
            arn: arn.ok(),
        });
    }
    let name = match detail.request_parameters.as_ref() {
        Some(params) => usable_string(params.get(call.name_field), MAX_NAME_LEN)
            .map_err(|problem| format!("requestParameters.{} {problem}", call.name_field)),
        None => Err("requestParameters is missing".to_owned()),
    };
    // A created domain is named by its ID, which only its ARN (`…:domain/d-…`) gives. A HyperPod
    // cluster by its ARN (`…:cluster/ID`): a request may name it by name or ARN, and a cluster
    // re-created under the same name has another ID.
    let name = match (call.resource_type, &arn) {
        (ResourceType::Domain, Ok(arn)) => Ok(arn.rsplit('/').next().unwrap_or(arn).to_owned()),
        (ResourceType::Cluster, Ok(arn)) => Ok(arn.clone()),
        // A model package version by its ARN (`…:model-package/GROUP/VERSION`): a create names
        // only its group.
        (ResourceType::ModelPackage, Ok(arn)) => Ok(arn.clone()),
        _ => name,
    };
    let name = match (name, &arn) {
        (Ok(name), _) => name,
        // CloudTrail leaves out requestParameters that are too large; the ARN still names it.
        (Err(_), Ok(arn)) => arn.rsplit('/').next().unwrap_or(arn).to_owned(),
        (Err(name_problem), Err(arn_problem)) => {
            return Err(format!("{name_problem}, and {arn_problem}"));
        }
    };
    Ok(ResourceRef {
        resource_type: call.resource_type,
        name,
        arn: arn.ok(),
    })
}

fn is_resource_arn(arn: &str) -> bool {
    arn.starts_with("arn:")
        && arn
            .rsplit_once('/')
            .is_some_and(|(_, name)| !name.is_empty())
}

/// Why a value is not of the `expected` kind: "is missing" where it is absent or null.
fn kind_problem(value: Option<&Value>, expected: JsonKind) -> String {
    match value.and_then(JsonKind::of) {
        None => "is missing".to_owned(),
        Some(kind) => format!("is {kind}, expected {expected}"),
    }
}

/// A usable name or ARN: a non-empty string of at most `max` bytes.
fn usable_string(value: Option<&Value>, max: usize) -> Result<String, String> {
    match value {
        Some(Value::String(s)) if s.is_empty() => Err("is empty".to_owned()),
        Some(Value::String(s)) if s.len() > max => Err(format!(
            "is {} bytes, longer than any SageMaker name or ARN",
            s.len()
        )),
        Some(Value::String(s)) => Ok(s.clone()),
        other => Err(kind_problem(other, JsonKind::String)),
    }
}

/// What a value at a subject path turned out to be.
enum Found {
    Name(String),
    Unusable { field: String, problem: String },
}

/// Walks `path` (dotted, `[]` for every array element) through `root`, collecting what is there.
/// Absent parts collect nothing; a part of the wrong type is reported.
fn walk(root: &Value, path: &str, at: String, out: &mut Vec<Found>) {
    let (segment, rest) = match path.split_once('.') {
        Some((segment, rest)) => (segment, Some(rest)),
        None => (path, None),
    };
    // `name!`: where the object holding it is there, the field must be too.
    let (segment, required) = match segment.strip_suffix('!') {
        Some(segment) => (segment, true),
        None => (segment, false),
    };
    // `a|b|c!`, last: where the object is there, one of the fields must be (a presence check;
    // the fields themselves are other paths' to judge).
    if rest.is_none() && segment.contains('|') {
        let object = root.as_object();
        let present = segment.split('|').any(|key| {
            object
                .and_then(|o| o.get(key))
                .is_some_and(|v| !v.is_null())
        });
        if required && !present {
            out.push(Found::Unusable {
                field: at,
                problem: format!("names none of {}", segment.replace('|', ", ")),
            });
        }
        return;
    }
    let (key, each) = match segment.strip_suffix("[]") {
        Some(key) => (key, true),
        None => (segment, false),
    };
    let here = if at.is_empty() {
        key.to_owned()
    } else {
        format!("{at}.{key}")
    };
    let value = root.as_object().and_then(|o| o.get(key));
    let Some(value) = value.filter(|v| !v.is_null()) else {
        if required {
            out.push(Found::Unusable {
                problem: kind_problem(value, JsonKind::String),
                field: here,
            });
        }
        return;
    };
    let visit = |value: &Value, here: String, out: &mut Vec<Found>| match rest {
        Some(rest) => match value {
            Value::Object(_) => walk(value, rest, here, out),
            other => out.push(Found::Unusable {
                problem: kind_problem(Some(other), JsonKind::Object),
                field: here,
            }),
        },
        None => out.push(match usable_string(Some(value), MAX_ARN_LEN) {
            Ok(name) => Found::Name(name),
            Err(problem) => Found::Unusable {
                field: here,
                problem,
            },
        }),
    };
    if each {
        match value {
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    visit(item, format!("{here}[{i}]"), out);
                }
            }
            other => out.push(Found::Unusable {
                problem: kind_problem(Some(other), JsonKind::Array),
                field: here,
            }),
        }
    } else {
        visit(value, here, out);
    }
}

fn targets_of(call: &CoveredCall, params: Option<&Value>) -> Vec<Target> {
    // A capacity change names no model or role, with its parameters or without.
    if matches!(call.when_no_subject, WhenNoSubject::CapacityOnly) {
        return Vec::new();
    }
    // Without requestParameters nothing says what the call deployed: fail closed, whatever the
    // row does when the parameters merely name no subject.
    let params = match params {
        Some(params @ Value::Object(_)) => params,
        other => {
            let expected = match (call.subjects.first(), call.when_no_subject) {
                (Some(s), _) => s.leads_to.subject_kind(),
                (None, WhenNoSubject::ResourceRole) => crate::contract::SubjectKind::Role,
                (None, _) => crate::contract::SubjectKind::Model,
            };
            return vec![Target::Unreadable {
                expected,
                field: "requestParameters".to_owned(),
                problem: kind_problem(other, JsonKind::Object),
            }];
        }
    };
    let gate = GATES.iter().find(|g| g.event_name == call.event_name);
    if let Some(gate) = gate {
        let field = gate
            .path
            .split('.')
            .try_fold(params, |v, key| v.get(key).filter(|v| !v.is_null()));
        let holds = |v: &Value| {
            v.as_str()
                .is_some_and(|a| a.eq_ignore_ascii_case(gate.value))
        };
        let present = |v: &Value| match v {
            Value::Array(a) => !a.is_empty(),
            Value::Object(m) => !m.is_empty(),
            Value::String(s) => !s.is_empty(),
            _ => true,
        };
        match field {
            Some(v) if gate.value == ANY_VALUE && present(v) => {}
            Some(_) if gate.value == ANY_VALUE => return Vec::new(),
            Some(Value::Object(map)) if map.values().any(holds) => {}
            Some(v) if holds(v) => {}
            Some(Value::Object(_) | Value::String(_)) => return Vec::new(),
            None if !gate.required => return Vec::new(),
            other => {
                let subject = call
                    .subjects
                    .first()
                    .map_or(crate::contract::SubjectKind::Model, |s| {
                        s.leads_to.subject_kind()
                    });
                return vec![Target::Unreadable {
                    expected: subject,
                    field: format!("requestParameters.{}", gate.path),
                    problem: match other {
                        None => "is missing".to_owned(),
                        Some(_) => "is neither a string nor an object".to_owned(),
                    },
                }];
            }
        }
    }
    let mut targets = Vec::new();
    for subject in call.subjects {
        collect(params, subject, &mut targets);
    }
    // A gated call that names no subject acts on what the resource says.
    if gate.is_some() && targets.is_empty() {
        return vec![Target::ResourceRole];
    }
    for one_of in ONE_OF.iter().filter(|o| o.event_name == call.event_name) {
        let object = match one_of.object {
            "" => Some(params),
            path => path
                .split('.')
                .try_fold(params, |v, key| v.get(key).filter(|v| !v.is_null())),
        };
        let problem = match object {
            None => Some("is missing".to_owned()),
            Some(Value::Object(members)) => (!one_of
                .members
                .iter()
                // An empty list names nothing either.
                .any(|m| {
                    members
                        .get(*m)
                        .is_some_and(|v| !v.is_null() && v.as_array().is_none_or(|a| !a.is_empty()))
                }))
            .then(|| format!("names none of {}", one_of.members.join(", "))),
            Some(other) => Some(kind_problem(Some(other), JsonKind::Object)),
        };
        if let Some(problem) = problem {
            let field = match one_of.object {
                "" => "requestParameters".to_owned(),
                path => format!("requestParameters.{path}"),
            };
            targets.push(Target::Unreadable {
                expected: one_of.leads_to.subject_kind(),
                field,
                problem,
            });
        }
    }
    if targets.is_empty() {
        let fallback = match call.when_no_subject {
            WhenNoSubject::DefaultDecides
            | WhenNoSubject::CapacityOnly
            | WhenNoSubject::StartsNothing => return targets,
            WhenNoSubject::ResourceRole => return vec![Target::ResourceRole],
            WhenNoSubject::LookUp(subject) => {
                collect(params, &subject, &mut targets);
                Some(subject)
            }
            WhenNoSubject::FailClosed => call.subjects.first().copied(),
        };
        if let (true, Some(subject)) = (targets.is_empty(), fallback) {
            targets.push(Target::Unreadable {
                expected: subject.leads_to.subject_kind(),
                field: format!("requestParameters.{}", subject.path.replace('!', "")),
                problem: "is missing".to_owned(),
            });
        }
    }
    targets
}

fn collect(params: &Value, subject: &SubjectPath, targets: &mut Vec<Target>) {
    let mut found = Vec::new();
    walk(params, subject.path, String::new(), &mut found);
    for found in found {
        targets.push(match found {
            Found::Name(name) => match subject.leads_to {
                Leads::EndpointConfig => Target::EndpointConfig { name },
                Leads::Model => Target::Model { name },
                Leads::Role => Target::Role {
                    arn: canonical_arn(&name),
                },
                Leads::InferenceComponentModel => Target::InferenceComponentModel { name },
                Leads::Image => Target::Image { uri: name },
                Leads::Data => Target::Data {
                    uri: name,
                    prefix: false,
                },
                Leads::Package => Target::Package { name },
            },
            Found::Unusable { field, problem } => Target::Unreadable {
                expected: subject.leads_to.subject_kind(),
                field: format!("requestParameters.{field}"),
                problem,
            },
        });
    }
}

#[cfg(test)]
mod execution_name_tests {
    use super::{MAX_EXECUTION_NAME_LEN, execution_name};

    #[test]
    fn cloudtrail_ids_are_kept_and_others_made_valid_and_stable() {
        let uuid = "00000005-00e1-4c1d-9e2f-5a6b7c8d9e0f";
        assert_eq!(execution_name(uuid), uuid);
        for odd in ["a b/c:d", "é", &"x".repeat(81), &"y".repeat(256)] {
            let name = execution_name(odd);
            assert!(name.len() <= MAX_EXECUTION_NAME_LEN, "{name}");
            assert!(
                name.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
                "{name}"
            );
            assert_eq!(name, execution_name(odd), "the same event, the same name");
        }
        assert_ne!(
            execution_name("a b"),
            execution_name("a:b"),
            "the hash tells them apart"
        );
    }
}
