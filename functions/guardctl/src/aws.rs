//! The SDK configuration and the deployed stack's names: from flags, else environment variables
//! (both through clap), else the outputs of the stack named by `--stack`, read once.

use std::collections::HashMap;

use aws_config::{BehaviorVersion, SdkConfig};

use crate::Global;
use crate::failure::{Failure, sdk};

pub struct Aws {
    /// Loaded on first use: `explain` from files needs no AWS at all.
    config: Option<SdkConfig>,
    global: Global,
    outputs: Option<HashMap<String, String>>,
}

/// A name the stack exports: its flag, its environment variable and its output key.
struct Name {
    flag: &'static str,
    env: &'static str,
    output: &'static str,
}

const POLICY_TABLE: Name = Name {
    flag: "--policy-table",
    env: "MODEL_GUARD_POLICY_TABLE",
    output: "PolicyTableName",
};
const DECISIONS_TABLE: Name = Name {
    flag: "--decisions-table",
    env: "MODEL_GUARD_DECISIONS_TABLE",
    output: "DecisionsTableName",
};
const RECORDS_TABLE: Name = Name {
    flag: "--records-table",
    env: "MODEL_GUARD_RECORDS_TABLE",
    output: "RecordsTableName",
};
const HEALTH_TARGETS: Name = Name {
    flag: "--health-targets",
    env: "MODEL_GUARD_HEALTH_TARGETS",
    output: "HealthTargets",
};
const APPROVAL_URL: Name = Name {
    flag: "--approval-url",
    env: "MODEL_GUARD_APPROVAL_URL",
    output: "ApprovalUrl",
};

const SCAN_FUNCTION: Name = Name {
    flag: "--scan-function",
    env: "MODEL_GUARD_SCAN_FUNCTION",
    output: "ScanFunctionName",
};

impl Aws {
    pub fn new(global: Global) -> Aws {
        Aws {
            config: None,
            global,
            outputs: None,
        }
    }

    pub async fn config(&mut self) -> &SdkConfig {
        if self.config.is_none() {
            self.config = Some(aws_config::load_defaults(BehaviorVersion::latest()).await);
        }
        self.config
            .get_or_insert_with(|| SdkConfig::builder().build())
    }

    pub async fn dynamodb(&mut self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(self.config().await)
    }

    pub async fn policy_table(&mut self) -> Result<String, Failure> {
        let given = self.global.policy_table.clone();
        self.name(given, &POLICY_TABLE).await
    }

    pub async fn decisions_table(&mut self) -> Result<String, Failure> {
        let given = self.global.decisions_table.clone();
        self.name(given, &DECISIONS_TABLE).await
    }

    pub async fn records_table(&mut self) -> Result<String, Failure> {
        let given = self.global.records_table.clone();
        self.name(given, &RECORDS_TABLE).await
    }

    pub async fn health_targets(&mut self) -> Result<String, Failure> {
        let given = self.global.health_targets.clone();
        self.name(given, &HEALTH_TARGETS).await
    }

    pub async fn scan_function(&mut self) -> Result<String, Failure> {
        let given = self.global.scan_function.clone();
        self.name(given, &SCAN_FUNCTION).await
    }

    pub async fn approval_url(&mut self) -> Result<String, Failure> {
        let given = self.global.approval_url.clone();
        self.name(given, &APPROVAL_URL).await
    }

    async fn name(&mut self, given: Option<String>, name: &Name) -> Result<String, Failure> {
        if let Some(value) = given.filter(|v| !v.is_empty()) {
            return Ok(value);
        }
        let Some(stack) = self.global.stack.clone().filter(|s| !s.is_empty()) else {
            return Err(Failure::bad_input(
                format!("no {} to use", name.output),
                format!(
                    "name the stack with --stack (MODEL_GUARD_STACK), or give {} (or set {})",
                    name.flag, name.env
                ),
            ));
        };
        let outputs = self.outputs(&stack).await?;
        outputs.get(name.output).cloned().ok_or_else(|| {
            Failure::bad_input(
                format!("stack {stack} has no output {}", name.output),
                format!(
                    "name a Model Guard stack with --stack (of this guardctl's version), or give {}",
                    name.flag
                ),
            )
        })
    }

    async fn outputs(&mut self, stack: &str) -> Result<&HashMap<String, String>, Failure> {
        if self.outputs.is_none() {
            let described = aws_sdk_cloudformation::Client::new(self.config().await)
                .describe_stacks()
                .stack_name(stack)
                .send()
                .await
                .map_err(|e| sdk(&format!("DescribeStacks {stack}"), &e))?;
            let outputs = described
                .stacks()
                .first()
                .map(|s| {
                    s.outputs()
                        .iter()
                        .filter_map(|o| {
                            Some((o.output_key()?.to_owned(), o.output_value()?.to_owned()))
                        })
                        .collect()
                })
                .unwrap_or_default();
            self.outputs = Some(outputs);
        }
        Ok(self.outputs.get_or_insert_with(HashMap::new))
    }
}
