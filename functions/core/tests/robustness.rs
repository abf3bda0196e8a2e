//! Robustness: arbitrary JSON, mutated fixtures and arbitrary bytes through parse + resolve +
//! decide. Nothing panics, and every verdict is well formed and survives a serde round trip.

use std::path::{Path, PathBuf};

use model_guard_core::{
    Catalog, CatalogResolver, Defaults, ParseOutcome, PolicySet, Verdict, explain,
    parse_event_slice, parse_event_value,
};
use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::{Map, Value};

/// CI runs 10,000 cases of each property (PROPTEST_CASES overrides).
fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(10_000);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn events_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/events")
}

fn read_json(path: &Path) -> Value {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

struct World {
    policy: PolicySet,
    resolver: CatalogResolver,
    defaults: Defaults,
    fixtures: Vec<Value>,
}

fn world() -> &'static World {
    static WORLD: std::sync::OnceLock<World> = std::sync::OnceLock::new();
    WORLD.get_or_init(|| {
        let dir = events_dir();
        let mut fixtures: Vec<(String, Value)> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{e}"))
            .filter_map(|e| {
                let path = e.ok()?.path();
                (path.extension()? == "json")
                    .then(|| (path.display().to_string(), read_json(&path)))
            })
            .collect();
        fixtures.sort_by(|a, b| a.0.cmp(&b.0));
        World {
            policy: PolicySet::from_json(&read_json(&dir.join("example/policy.json")))
                .unwrap_or_else(|e| panic!("{e}")),
            resolver: CatalogResolver::new(
                Catalog::from_json(&read_json(&dir.join("example/catalog.json")))
                    .unwrap_or_else(|e| panic!("{e}")),
            ),
            defaults: Defaults::default(),
            fixtures: fixtures.into_iter().map(|(_, v)| v).collect(),
        }
    })
}

fn verdict_of(outcome: ParseOutcome) -> Verdict {
    let w = world();
    pollster::block_on(explain(
        outcome,
        &w.resolver.lookups(),
        &w.policy,
        &w.defaults,
    ))
    .unwrap_or_else(|e| panic!("a catalog never fails a describe: {e}"))
}

fn check(verdict: &Verdict) -> Result<(), TestCaseError> {
    verdict
        .check_well_formed()
        .map_err(|e| TestCaseError::fail(format!("{e}: {verdict:?}")))?;
    let text = serde_json::to_string(verdict).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let back: Verdict =
        serde_json::from_str(&text).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(&back, verdict);
    Ok(())
}

/// Strings that steer generated documents towards the parser's interesting paths.
fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(vec![
            "aws.sagemaker", "sagemaker.amazonaws.com", "AWS API Call via CloudTrail",
            "CreateEndpoint", "UpdateEndpoint", "CreateInferenceComponent",
            "UpdateInferenceComponent", "CreateTransformJob", "CreateTrainingJob",
            "CreateProcessingJob", "CreateHyperParameterTuningJob", "AwsServiceEvent",
            "AssumedRole", "IAMUser", "Root", "FederatedUser", "AWSService", "fraud-v3",
            "fraud-v3-config", "arn:aws:iam::111122223333:role/MLDeployer",
            "arn:aws:sts::111122223333:assumed-role/MLDeployer/s", "arn:aws:iam::1:role/a/b/",
            "arn:", "arn:aws:sagemaker:eu-west-1:111122223333:endpoint/x", "2026-11-20T10:15:31Z",
            "", "*", "?",
        ]).prop_map(str::to_owned),
        1 => any::<String>(),
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(vec![
            "version", "id", "detail-type", "source", "account", "time", "region", "resources",
            "detail", "eventSource", "eventName", "eventID", "eventType", "errorCode",
            "errorMessage", "readOnly", "userIdentity", "type", "arn", "accountId", "invokedBy",
            "sessionContext", "sessionIssuer", "requestParameters", "responseElements",
            "endpointName", "endpointConfigName", "endpointArn", "modelName", "roleArn",
            "specification", "trainingJobDefinitions", "inferenceComponentName",
        ]).prop_map(str::to_owned),
        1 => any::<String>(),
    ]
}

fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f)
            .map(Value::Number)),
        word().prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 96, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..10)
                .prop_map(|entries| Value::Object(entries.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// The JSON pointers of every node of a document.
fn pointers(value: &Value, at: String, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let escaped = k.replace('~', "~0").replace('/', "~1");
                pointers(v, format!("{at}/{escaped}"), out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                pointers(v, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
    out.push(at);
}

#[derive(Debug, Clone)]
enum Mutation {
    Remove(Index),
    Replace(Index, Value),
    Retype(Index),
}

fn mutate(doc: &mut Value, mutation: &Mutation) {
    let mut all = Vec::new();
    pointers(doc, String::new(), &mut all);
    let pick = |i: &Index| all[i.index(all.len())].clone();
    match mutation {
        Mutation::Remove(i) => {
            let pointer = pick(i);
            if let Some((parent, last)) = pointer.rsplit_once('/') {
                let last = last.replace("~1", "/").replace("~0", "~");
                match doc.pointer_mut(parent) {
                    Some(Value::Object(map)) => {
                        map.remove(&last);
                    }
                    Some(Value::Array(items)) => {
                        if let Ok(n) = last.parse::<usize>()
                            && n < items.len()
                        {
                            items.remove(n);
                        }
                    }
                    _ => {}
                }
            }
        }
        Mutation::Replace(i, value) => {
            if let Some(node) = doc.pointer_mut(&pick(i)) {
                *node = value.clone();
            }
        }
        Mutation::Retype(i) => {
            if let Some(node) = doc.pointer_mut(&pick(i)) {
                *node = match node.take() {
                    Value::String(s) => Value::from(s.len()),
                    Value::Object(map) => Value::Array(map.into_iter().map(|(_, v)| v).collect()),
                    Value::Array(items) => Value::String(format!("{} items", items.len())),
                    Value::Null => Value::Object(Map::new()),
                    other => Value::String(other.to_string()),
                };
            }
        }
    }
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<Index>().prop_map(Mutation::Remove),
        (any::<Index>(), json()).prop_map(|(i, v)| Mutation::Replace(i, v)),
        any::<Index>().prop_map(Mutation::Retype),
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_json_gives_a_well_formed_verdict(doc in json()) {
        let outcome = parse_event_value(&doc);
        let bytes = serde_json::to_vec(&doc).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let from_bytes = parse_event_slice(&bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&from_bytes, &outcome);
        check(&verdict_of(outcome))?;
    }

    #[test]
    fn mutated_fixtures_give_a_well_formed_verdict(
        fixture in any::<Index>(),
        mutations in prop::collection::vec(mutation(), 1..4),
    ) {
        let w = world();
        let mut doc = w.fixtures[fixture.index(w.fixtures.len())].clone();
        for m in &mutations {
            mutate(&mut doc, m);
        }
        check(&verdict_of(parse_event_value(&doc)))?;
    }

    #[test]
    fn arbitrary_bytes_are_not_json_or_a_well_formed_verdict(
        bytes in prop::collection::vec(any::<u8>(), 0..256),
    ) {
        if let Ok(outcome) = parse_event_slice(&bytes) {
            check(&verdict_of(outcome))?;
        }
    }
}
