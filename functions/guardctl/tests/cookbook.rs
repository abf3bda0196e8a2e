//! The policy cookbook (docs/cookbook) cannot rot: every call of every recipe goes through the
//! real `guardctl explain` against the recipe's policy and the example world, and must get the
//! decision and action the recipe says; each recipe's policy in docs/cookbook/README.md is its
//! file, as it is.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn recipes() -> Vec<PathBuf> {
    let dir = root().join("docs/cookbook");
    let mut found: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.is_dir())
        .collect();
    found.sort();
    found
}

#[test]
fn every_recipe_decides_its_calls_as_it_says() {
    let recipes = recipes();
    assert!(
        recipes.len() >= 10,
        "the cookbook holds {} recipes",
        recipes.len()
    );
    let catalog = root().join("tests/events/example/catalog.json");
    let mut checked = 0;
    for recipe in &recipes {
        let policy = recipe.join("policy.json");
        let cases: Vec<Value> = serde_json::from_str(&read(&recipe.join("cases.json")))
            .unwrap_or_else(|e| panic!("{}: {e}", recipe.display()));
        let decisions: Vec<&str> = cases
            .iter()
            .filter_map(|c| c["decision"].as_str())
            .collect();
        assert!(
            decisions.contains(&"violation"),
            "{}: a recipe shows a call it stops or reports",
            recipe.display()
        );
        for case in &cases {
            let event = root().join(case["event"].as_str().unwrap_or_default());
            let out = Command::new(env!("CARGO_BIN_EXE_guardctl"))
                .args(["explain", "--json", "--event"])
                .arg(&event)
                .arg("--policy")
                .arg(&policy)
                .arg("--catalog")
                .arg(&catalog)
                .output()
                .unwrap_or_else(|e| panic!("cannot run guardctl: {e}"));
            let verdict: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
                panic!(
                    "{} on {}: {e}: {}",
                    recipe.display(),
                    event.display(),
                    String::from_utf8_lossy(&out.stderr)
                )
            });
            assert_eq!(
                (&verdict["decision"], &verdict["action"]),
                (&case["decision"], &case["action"]),
                "{} on {}: {:#}",
                recipe.display(),
                event.display(),
                verdict["reasons"]
            );
            checked += 1;
        }
    }
    assert!(checked >= 20, "{checked} calls checked");
}

#[test]
fn the_cookbook_shows_each_policy_as_its_file_and_each_call_it_checks() {
    let book = read(&root().join("docs/cookbook/README.md"));
    for recipe in recipes() {
        let policy = read(&recipe.join("policy.json"));
        assert!(
            book.contains(policy.trim_end()),
            "docs/cookbook/README.md does not show {} as it is",
            recipe.display()
        );
        let cases: Vec<Value> =
            serde_json::from_str(&read(&recipe.join("cases.json"))).unwrap_or_default();
        for case in cases {
            let row = format!(
                "| {} | {} |",
                case["decision"].as_str().unwrap_or_default(),
                case["action"].as_str().unwrap_or_default()
            );
            let event = case["event"].as_str().unwrap_or_default();
            assert!(
                book.lines().any(
                    |line| line.contains(event.trim_start_matches("tests/events/"))
                        && line.ends_with(&row)
                ),
                "docs/cookbook/README.md does not list {event} as {row}"
            );
        }
    }
}
