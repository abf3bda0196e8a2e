//! Step Functions task responses: the approval function answers AwaitApproval's task token.

use aws_sdk_sfn::Client;
use model_guard_core::ports::{TaskResponder, TaskResponseError};
use serde_json::Value;

use crate::error::service_code;
use crate::sdk_error;

/// The errors that mean the task is no longer waiting for this token.
const TASK_GONE: &[&str] = &["TaskTimedOut", "TaskDoesNotExist", "InvalidToken"];

pub struct StepFunctionsTasks {
    client: Client,
}

impl StepFunctionsTasks {
    pub fn new(client: Client) -> StepFunctionsTasks {
        StepFunctionsTasks { client }
    }
}

fn classify<E>(
    doing: &str,
    error: aws_smithy_runtime_api::client::result::SdkError<
        E,
        aws_smithy_runtime_api::http::Response,
    >,
) -> TaskResponseError
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + 'static,
{
    match service_code(&error) {
        Some(code) if TASK_GONE.contains(&code) => {
            TaskResponseError::TaskGone(sdk_error(doing, &error).message)
        }
        _ => TaskResponseError::Failed(sdk_error(doing, &error)),
    }
}

impl TaskResponder for StepFunctionsTasks {
    async fn succeed(&self, token: &str, output: &Value) -> Result<(), TaskResponseError> {
        self.client
            .send_task_success()
            .task_token(token)
            .output(output.to_string())
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify("SendTaskSuccess", e))
    }

    async fn fail(&self, token: &str, error: &str, cause: &str) -> Result<(), TaskResponseError> {
        self.client
            .send_task_failure()
            .task_token(token)
            .error(error)
            .cause(cause)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify("SendTaskFailure", e))
    }
}

/// The triage state machine, started as the EventBridge rule starts it.
pub struct TriageMachine {
    client: Client,
    arn: String,
}

impl TriageMachine {
    pub fn new(client: Client, arn: impl Into<String>) -> TriageMachine {
        TriageMachine {
            client,
            arn: arn.into(),
        }
    }
}

impl model_guard_core::ports::TriageStarter for TriageMachine {
    async fn start(&self, name: &str, event: &str) -> Result<(), model_guard_core::GuardError> {
        self.client
            .start_execution()
            .state_machine_arn(&self.arn)
            .name(name)
            .input(event)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                let mut error = sdk_error(&format!("StartExecution {}", self.arn), &e);
                // An input Step Functions refuses (too large, not JSON) is refused every time.
                if matches!(
                    service_code(&e),
                    Some("InvalidExecutionInput" | "ValidationException")
                ) {
                    error.kind = model_guard_core::ErrorKind::InvalidInput;
                }
                error
            })
    }
}

/// The enforcement machine's executions, for the sweep's watch.
pub struct EnforcementExecutions {
    client: Client,
    machine_arn: String,
}

impl EnforcementExecutions {
    pub fn new(client: Client, machine_arn: impl Into<String>) -> EnforcementExecutions {
        EnforcementExecutions {
            client,
            machine_arn: machine_arn.into(),
        }
    }

    pub fn machine_arn(&self) -> &str {
        &self.machine_arn
    }

    /// `arn:…:stateMachine:NAME` → `arn:…:execution:NAME:EXECUTION`.
    fn execution_arn(&self, name: &str) -> String {
        format!(
            "{}:{name}",
            self.machine_arn
                .replacen(":stateMachine:", ":execution:", 1)
        )
    }
}

impl model_guard_core::ports::EnforcementMachine for EnforcementExecutions {
    async fn status(
        &self,
        name: &str,
    ) -> Result<Option<model_guard_core::sweep::ExecutionStatus>, model_guard_core::GuardError>
    {
        use model_guard_core::sweep::ExecutionStatus;
        let arn = self.execution_arn(name);
        match self
            .client
            .describe_execution()
            .execution_arn(&arn)
            .send()
            .await
        {
            Ok(out) => Ok(Some(match out.status() {
                aws_sdk_sfn::types::ExecutionStatus::Running => ExecutionStatus::Running,
                other => ExecutionStatus::Ended(other.as_str().to_owned()),
            })),
            Err(e) if service_code(&e) == Some("ExecutionDoesNotExist") => Ok(None),
            Err(e) => Err(sdk_error(&format!("DescribeExecution {arn}"), &e)),
        }
    }

    async fn start(&self, name: &str, input: &Value) -> Result<bool, model_guard_core::GuardError> {
        match self
            .client
            .start_execution()
            .state_machine_arn(&self.machine_arn)
            .name(name)
            .input(input.to_string())
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if service_code(&e) == Some("ExecutionAlreadyExists") => Ok(false),
            Err(e) => Err(sdk_error(
                &format!("StartExecution {} {name}", self.machine_arn),
                &e,
            )),
        }
    }
}
