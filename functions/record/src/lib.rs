//! Record: keeps what a CreateModel or CreateEndpointConfig contained (and when a model or config
//! was deleted) in the records table, so that a later deployment is judged by the version that
//! was current at its call, not by what the name points to when Evaluate runs. A recorded call
//! that is judged too (CreateModel) comes out as ParseEvent's request, for Evaluate.

use model_guard_core::ports::RecordStore;
use model_guard_core::{ErrorKind, GuardError, ParseOutcome};
use serde_json::{Value, json};

pub struct Ports<S> {
    pub records: S,
}

/// ParseEvent's output for a recorded call in; what was recorded out.
pub async fn handle<S: RecordStore>(input: Value, ports: &Ports<S>) -> Result<Value, GuardError> {
    let outcome: ParseOutcome = serde_path_to_error::deserialize(input).map_err(|e| {
        GuardError::new(
            ErrorKind::InvalidInput,
            format!("not ParseEvent's output: {}: {}", e.path(), e.inner()),
        )
    })?;
    let ParseOutcome::Record { record, request } = outcome else {
        return Err(GuardError::new(
            ErrorKind::InvalidInput,
            "not a recorded call: the triage sends Record only ParseEvent's \"record\" outcomes",
        ));
    };
    ports.records.put(&record).await?;
    tracing::info!(
        kind = record.kind.as_str(),
        name = %record.name,
        op = ?record.op,
        event_id = %record.event_id,
        "recorded"
    );
    // A recorded call that is judged too (CreateModel): Evaluate takes it from here, the record
    // kept, so the model resolves to the version this call made.
    if let Some(request) = request {
        return serde_json::to_value(ParseOutcome::Request { request: *request })
            .map_err(|e| GuardError::new(ErrorKind::InvalidInput, format!("the request: {e}")));
    }
    Ok(json!({"recorded": {
        "kind": record.kind,
        "name": record.name,
        "op": record.op,
        "eventId": record.event_id,
        "eventTime": record.event_time,
    }}))
}
