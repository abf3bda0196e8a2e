//! Parse + decide for a typical CreateEndpoint event against a 1,000-item (and a 10,000-item)
//! policy, side by side with a bare `serde_json::from_slice::<Value>` of the same bytes; and the
//! same for a deployment judged by its content too (a model from a registry package: package,
//! image by digest and data, each with keys in the policy).
//!
//! Run: `cargo bench -p model-guard-core --bench parse_decide`.

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use model_guard_core::{Catalog, CatalogResolver, Defaults, PolicySet, explain, parse_event_slice};
use serde_json::{Value, json};

fn events_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/events")
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A policy of `size` items shaped like a real one: mostly exact model names, some team globs,
/// role bindings, the example policy's items and a default.
fn policy(size: usize) -> PolicySet {
    let example: Value = serde_json::from_slice(&read(&events_dir().join("example/policy.json")))
        .unwrap_or_else(|e| panic!("{e}"));
    let mut items: Vec<Value> = example.as_array().cloned().unwrap_or_default();
    let mut i = 0;
    while items.len() < size {
        let team = i % 97;
        let principals = json!([format!(
            "arn:aws:iam::111122223333:role/team{team}-deployer"
        )]);
        items.push(match i % 10 {
            0..=5 => json!({"pk": format!("model#team{team}-model-{i}-v{}", i % 7), "principals": principals}),
            6 | 7 => json!({"pk": format!("model#team{team}-experiment-{i}-*"), "principals": principals, "mode": "notify"}),
            8 => json!({"pk": format!("role#arn:aws:iam::111122223333:role/service-role/team{team}-exec-{i}"), "principals": principals}),
            _ => json!({"pk": format!("role#arn:aws:iam::*:role/team{team}-batch-{i}-*"), "principals": principals, "graceSeconds": 60}),
        });
        i += 1;
    }
    PolicySet::from_json(&Value::Array(items)).unwrap_or_else(|e| panic!("{e}"))
}

fn bench(c: &mut Criterion) {
    let catalog: Value = serde_json::from_slice(&read(&events_dir().join("example/catalog.json")))
        .unwrap_or_else(|e| panic!("{e}"));
    let resolver =
        CatalogResolver::new(Catalog::from_json(&catalog).unwrap_or_else(|e| panic!("{e}")));
    let defaults = Defaults::default();
    let lookups = resolver.lookups();
    let policies: Vec<(usize, PolicySet)> = [1_000, 10_000].map(|n| (n, policy(n))).into();

    for (group_name, fixture) in [
        ("create_endpoint", "covered-create-endpoint-allowed.json"),
        ("content", "covered-content-package-approved.json"),
    ] {
        let bytes = read(&events_dir().join(fixture));
        let mut group = c.benchmark_group(group_name);
        group.bench_function("serde_json_value", |b| {
            b.iter(|| serde_json::from_slice::<Value>(black_box(&bytes)))
        });
        group.bench_function("parse_only", |b| {
            b.iter(|| parse_event_slice(black_box(&bytes)))
        });
        for (size, policy) in &policies {
            assert_eq!(policy.items().len(), *size);
            group.bench_function(format!("parse_decide_{size}"), |b| {
                b.iter(|| {
                    let outcome =
                        parse_event_slice(black_box(&bytes)).unwrap_or_else(|e| panic!("{e}"));
                    pollster::block_on(explain(outcome, &lookups, policy, &defaults)).ok()
                })
            });
        }
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
