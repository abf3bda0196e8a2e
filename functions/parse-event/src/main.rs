use lambda_runtime::{Error, LambdaEvent, service_fn};
use model_guard_aws::{env_var, init_logging, serve_init_error};
use model_guard_core::GuardError;
use model_guard_core::organization::Guarded;
use serde_json::Value;

/// The guard's own account (`GUARD_ACCOUNT`), its region (Lambda's `AWS_REGION`) and its members
/// (`MEMBER_ACCOUNTS`).
fn guarded() -> Result<Guarded, GuardError> {
    Guarded::new(
        &env_var("GUARD_ACCOUNT")?,
        &env_var("AWS_REGION")?,
        std::env::var("MEMBER_ACCOUNTS").ok().as_deref(),
    )
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    init_logging();
    let guarded = match guarded() {
        Ok(guarded) => guarded,
        Err(error) => return serve_init_error(error).await,
    };
    let guarded = &guarded;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        Ok::<_, std::convert::Infallible>(parse_event::handle(&event.payload, guarded))
    }))
    .await
}
