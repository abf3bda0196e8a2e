//! Robustness: arbitrary JSON, mutated fixtures and arbitrary bytes through parse + resolve +
//! decide. Nothing panics, and every verdict is well formed and survives a serde round trip.
//! And safety: a violating call with any field removed or corrupted is never allowed.

use std::path::{Path, PathBuf};

use model_guard_core::contract::Decision;
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

/// The covered calls that are violations as they are: the safety property's starting points.
fn violating() -> &'static [Value] {
    static VIOLATING: std::sync::OnceLock<Vec<Value>> = std::sync::OnceLock::new();
    VIOLATING.get_or_init(|| {
        let found: Vec<Value> = world()
            .fixtures
            .iter()
            .filter(|doc| {
                let outcome = parse_event_value(doc);
                matches!(outcome, ParseOutcome::Request { .. })
                    && verdict_of(outcome).decision == Decision::Violation
            })
            .cloned()
            .collect();
        assert!(found.len() >= 20, "only {} violating fixtures", found.len());
        found
    })
}

/// What says which call an event is and whether it succeeded: change one of these and the event
/// is another (or a failed, or a service's) call, which the guard may ignore.
const CALL_IDENTITY: &[&str] = &[
    "/source",
    "/detail-type",
    "/id",
    "/detail",
    "/detail/eventSource",
    "/detail/eventName",
    "/detail/eventType",
    "/detail/eventID",
    "/detail/errorCode",
    "/detail/errorMessage",
];

/// A value that means nothing: never a name, an ARN or a word the policy knows.
fn junk() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        Just(Value::String(String::new())),
        "[a-z0-9 ]{1,12}".prop_map(|s| Value::String(format!("junk {s}"))),
        Just(Value::Array(Vec::new())),
        Just(Value::Object(Map::new())),
    ]
}

fn corruption() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        2 => any::<Index>().prop_map(Mutation::RemoveField),
        2 => (any::<Index>(), junk()).prop_map(|(i, v)| Mutation::Replace(i, v)),
        1 => any::<Index>().prop_map(Mutation::Retype),
    ]
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

/// Fields a call may leave out, by call (an inference component's container without an
/// artifact: the image holds the model; a cluster without a `clusterRole`: it does not scale; an
/// experiment's update that sets no variants): removing one makes another call, not a corrupted
/// one.
const OPTIONAL_CONTENT: &[(&str, &str)] = &[
    (
        "CreateInferenceComponent",
        "/detail/requestParameters/specification/container/artifactUrl",
    ),
    (
        "UpdateInferenceComponent",
        "/detail/requestParameters/specification/container/artifactUrl",
    ),
    ("CreateCluster", "/detail/requestParameters/clusterRole"),
    ("UpdateCluster", "/detail/requestParameters/clusterRole"),
    (
        "UpdateInferenceExperiment",
        "/detail/requestParameters/modelVariants",
    ),
];

#[derive(Debug, Clone)]
enum Mutation {
    Remove(Index),
    /// Removes an object's member (never an array's element: fewer variants or definitions make
    /// another call, not a corrupted one).
    RemoveField(Index),
    Replace(Index, Value),
    Retype(Index),
}

fn mutate(doc: &mut Value, mutation: &Mutation) {
    let mut all = Vec::new();
    pointers(doc, String::new(), &mut all);
    let pick = |i: &Index| all[i.index(all.len())].clone();
    match mutation {
        Mutation::Remove(i) | Mutation::RemoveField(i) => {
            let fields_only = matches!(mutation, Mutation::RemoveField(_));
            let pointer = pick(i);
            if let Some((parent, last)) = pointer.rsplit_once('/') {
                let last = last.replace("~1", "/").replace("~0", "~");
                match doc.pointer_mut(parent) {
                    Some(Value::Object(map)) => {
                        map.remove(&last);
                    }
                    Some(Value::Array(items)) if !fields_only => {
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

    /// Safety: a violating covered call with fields removed or corrupted is never allowed. It
    /// may be ignored only when its resource can no longer be identified, or when what was
    /// corrupted says which call it is (then it is another call, a failed one or a service's).
    #[test]
    fn a_violation_with_any_field_removed_or_corrupted_is_never_allowed(
        fixture in any::<Index>(),
        corruptions in prop::collection::vec(corruption(), 1..4),
    ) {
        let violating = violating();
        let original = &violating[fixture.index(violating.len())];
        let mut doc = original.clone();
        for c in &corruptions {
            mutate(&mut doc, c);
        }
        // Content a call may legitimately leave out: without it, it is another call.
        // (A null is read as absent, as serde reads it.)
        let event = original.pointer("/detail/eventName").and_then(Value::as_str);
        let removed = |(call, p): &(&str, &str)| {
            event == Some(*call)
                && original.pointer(p).is_some()
                && doc.pointer(p).is_none_or(serde_json::Value::is_null)
        };
        prop_assume!(!OPTIONAL_CONTENT.iter().any(removed));
        let verdict = verdict_of(parse_event_value(&doc));
        prop_assert_ne!(verdict.decision, Decision::Allow, "{}\n{:?}", doc, verdict);
        if verdict.decision == Decision::Ignored {
            let identity_changed = CALL_IDENTITY
                .iter()
                .any(|p| original.pointer(p) != doc.pointer(p));
            let unidentifiable = verdict
                .reasons
                .iter()
                .any(|r| r.starts_with("resource not identifiable"));
            prop_assert!(
                identity_changed || unidentifiable || !doc.is_object(),
                "ignored although the same call on an identifiable resource: {}\n{:?}",
                doc,
                verdict
            );
        }
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
