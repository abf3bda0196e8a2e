//! `guardctl explain` as a user runs it: the real binary, real files, exit codes and stderr.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use model_guard_core::{
    Catalog, CatalogResolver, Defaults, PolicySet, Verdict, explain, parse_event_slice,
};

const DEFAULT_APPROVER: &str = "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_SecurityOps_*";

fn events() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/events")
}

fn guardctl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_guardctl"))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run guardctl: {e}"))
}

fn path(p: &Path) -> &str {
    p.to_str()
        .unwrap_or_else(|| panic!("non-UTF-8 path {}", p.display()))
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn tmp(name: &str, content: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("guardctl-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let file = dir.join(name);
    std::fs::write(&file, content).unwrap_or_else(|e| panic!("{e}"));
    file
}

#[test]
fn prints_the_same_verdict_as_the_core_for_every_fixture() {
    let example = events().join("example");
    let policy_file = example.join("policy.json");
    let catalog_file = example.join("catalog.json");
    let read = |p: &Path| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(p).unwrap_or_else(|e| panic!("{e}")))
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let policy = PolicySet::from_json(&read(&policy_file)).unwrap_or_else(|e| panic!("{e}"));
    let resolver = CatalogResolver::new(
        Catalog::from_json(&read(&catalog_file)).unwrap_or_else(|e| panic!("{e}")),
    );
    let defaults = Defaults::new(Defaults::GRACE_SECONDS, &[DEFAULT_APPROVER.to_owned()])
        .unwrap_or_else(|e| panic!("{e}"));
    let mut checked = 0;
    for entry in std::fs::read_dir(events()).unwrap_or_else(|e| panic!("{e}")) {
        let file = entry.unwrap_or_else(|e| panic!("{e}")).path();
        if file.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let out = guardctl(&[
            "explain",
            "--event",
            path(&file),
            "--policy",
            path(&policy_file),
            "--catalog",
            path(&catalog_file),
            "--default-approver",
            DEFAULT_APPROVER,
        ]);
        assert!(out.status.success(), "{}: {}", file.display(), stderr(&out));
        let printed: Verdict = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{}: stdout is not a verdict: {e}", file.display()));
        let bytes = std::fs::read(&file).unwrap_or_else(|e| panic!("{e}"));
        let parsed = parse_event_slice(&bytes).unwrap_or_else(|e| panic!("{e}"));
        let expected = pollster::block_on(explain(parsed, &resolver.lookups(), &policy, &defaults))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(printed, expected, "{}", file.display());
        checked += 1;
    }
    assert!(checked >= 40);
}

#[test]
fn without_a_catalog_nothing_resolves_and_the_guard_fails_closed() {
    let out = guardctl(&[
        "explain",
        "--event",
        path(&events().join("covered-create-endpoint-allowed.json")),
        "--policy",
        path(&events().join("example/policy.json")),
        "--default-grace",
        "42",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(v["decision"], "violation");
    // Enforced, though the example's default item is notify-only: what the guard cannot see
    // costs the stack's unresolved action.
    assert_eq!(v["action"], "enforce");
    // Nothing resolved, so no binding sets the grace: the --default-grace value applies.
    assert_eq!(v["graceSeconds"], 42);
    assert_eq!(v["approvers"][0]["binding"], "unresolved");
    assert_eq!(v["subjects"][0]["kind"], "endpoint-config");
    assert_eq!(v["subjects"][0]["resolved"], false);
    let reasons = v["reasons"].to_string();
    assert!(
        reasons.contains("could not be resolved (no catalog given;"),
        "{reasons}"
    );
}

#[test]
fn the_unresolved_action_may_be_lowered_as_the_stack_setting_does() {
    for (mode, action) in [
        ("notify", "notify"),
        ("off", "none"),
        ("enforce", "enforce"),
    ] {
        let out = guardctl(&[
            "explain",
            "--event",
            path(&events().join("covered-create-endpoint-config-gone.json")),
            "--policy",
            path(&events().join("example/policy.json")),
            "--unresolved-action",
            mode,
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        let v: serde_json::Value =
            serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (&v["decision"], &v["action"]),
            (&"violation".into(), &action.into())
        );
    }
    let out = guardctl(&[
        "explain",
        "--event",
        path(&events().join("covered-create-endpoint-config-gone.json")),
        "--policy",
        path(&events().join("example/policy.json")),
        "--unresolved-action",
        "block",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("block"), "{}", stderr(&out));
}

#[test]
fn bad_files_exit_2_with_one_line_naming_the_file() {
    let event = events().join("covered-create-endpoint-allowed.json");
    let policy = events().join("example/policy.json");
    let catalog = events().join("example/catalog.json");
    let not_json = tmp("not-json.json", "{ this is not json");
    let invalid_policy = tmp(
        "invalid-policy.json",
        r#"[{"pk": "model#a", "principals": []}, {"pk": "model#b", "principals": [], "mode": "block"}]"#,
    );
    let duplicate_policy = tmp(
        "duplicate-policy.json",
        r#"[{"pk": "model#a", "principals": []}, {"pk": "model#a", "principals": ["*"]}]"#,
    );
    let bad_catalog = tmp(
        "bad-catalog.json",
        r#"{"endpointConfigs": {"c": {"models": "m"}}}"#,
    );
    let pin_on_a_role = tmp(
        "pin-on-a-role.json",
        r#"[{"pk": "role#arn:aws:iam::1:role/R", "principals": [], "images": ["r/a:*"]}]"#,
    );
    let never_a_digest = tmp(
        "never-a-digest.json",
        r#"[{"pk": "model#m", "principals": [], "images": ["r/a:1", "r/a@sha256:ABC"]}]"#,
    );
    let bad_describe = tmp(
        "bad-describe.json",
        r#"{"models": {"m": {"ModelName": "m", "PrimaryContainer": {"Image": 7}}}}"#,
    );
    let missing = Path::new("/nonexistent/event.json");
    let cases: Vec<(Vec<&str>, &Path, &str)> = vec![
        (
            vec!["--event", path(&event), "--policy", path(&pin_on_a_role)],
            &pin_on_a_role,
            "field images: pins a model's content: only a model# item has images",
        ),
        (
            vec!["--event", path(&event), "--policy", path(&never_a_digest)],
            &never_a_digest,
            "(pk \"model#m\"), field images[1]: image pattern \"r/a@sha256:ABC\" digest part",
        ),
        (
            vec![
                "--event",
                path(&event),
                "--policy",
                path(&policy),
                "--catalog",
                path(&bad_describe),
            ],
            &bad_describe,
            "not a catalog: at models.m: primaryContainer.image is not a string",
        ),
        (
            vec!["--event", path(missing), "--policy", path(&policy)],
            missing,
            "cannot read",
        ),
        (
            vec!["--event", path(&not_json), "--policy", path(&policy)],
            &not_json,
            "not JSON",
        ),
        (
            vec!["--event", path(&event), "--policy", path(&not_json)],
            &not_json,
            "not JSON",
        ),
        (
            vec!["--event", path(&event), "--policy", path(&invalid_policy)],
            &invalid_policy,
            "policy item .[1] (pk \"model#b\"), field mode: unknown variant `block`",
        ),
        (
            vec!["--event", path(&event), "--policy", path(&duplicate_policy)],
            &duplicate_policy,
            "duplicate pk",
        ),
        (
            vec![
                "--event",
                path(&event),
                "--policy",
                path(&policy),
                "--catalog",
                path(&bad_catalog),
            ],
            &bad_catalog,
            "not a catalog: at endpointConfigs.c.models: invalid type",
        ),
        (
            vec![
                "--event",
                path(&event),
                "--policy",
                path(&policy),
                "--catalog",
                path(&not_json),
            ],
            &not_json,
            "not JSON",
        ),
        (
            vec!["--event", path(&event), "--policy", path(&catalog)],
            &catalog,
            "a policy is a JSON array of items",
        ),
    ];
    for (args, file, expected) in cases {
        let mut full = vec!["explain"];
        full.extend(args);
        let out = guardctl(&full);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{full:?}: {err}");
        assert!(out.stdout.is_empty(), "{full:?} printed to stdout");
        // One line naming the file and what is wrong with it, one with the fix.
        let lines: Vec<&str> = err.trim_end().lines().collect();
        assert_eq!(lines.len(), 2, "{full:?}: not two lines: {err}");
        assert!(
            lines[0].starts_with(&format!("guardctl: {}: ", file.display())),
            "{full:?}: {err}"
        );
        assert!(
            lines[0].contains(expected),
            "{full:?}: {err} lacks {expected}"
        );
        let hint = lines[1].strip_prefix("hint: ").unwrap_or_else(|| {
            panic!("{full:?}: no hint: {err}");
        });
        // The fix for what the flag takes: the flag just before the file.
        let flag = full
            .iter()
            .position(|a| *a == path(file))
            .and_then(|i| full.get(i - 1))
            .copied();
        let fix = match flag {
            _ if expected == "cannot read" => "check the path",
            Some("--event") => "EventBridge event",
            Some("--catalog") => "catalog",
            _ => "policy file",
        };
        assert!(
            hint.contains(fix),
            "{full:?}: the hint lacks {fix:?}: {err}"
        );
        assert!(!err.contains('\x1b'), "no colour into a pipe: {err:?}");
    }
}

#[test]
fn a_default_grace_out_of_range_is_refused() {
    let out = guardctl(&[
        "explain",
        "--event",
        path(&events().join("covered-create-endpoint-allowed.json")),
        "--policy",
        path(&events().join("example/policy.json")),
        "--default-grace",
        "9999999",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("out of range"), "{}", stderr(&out));
}

#[test]
fn json_that_is_not_an_event_is_an_ignored_verdict_not_an_error() {
    let odd = tmp("odd-event.json", r#"{"hello": "world"}"#);
    let out = guardctl(&[
        "explain",
        "--event",
        path(&odd),
        "--policy",
        path(&events().join("example/policy.json")),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(v["decision"], "ignored");
    assert_eq!(v["version"], 1);
}

/// Shell completions and the man page come from the same clap definition as the commands: every
/// subcommand is in both. A reader that stops early (`| head`) makes no panic.
#[test]
fn completions_and_the_man_page_name_every_command() {
    for shell in ["bash", "zsh", "fish"] {
        let out = guardctl(&["completions", shell]);
        assert!(out.status.success(), "{shell}: {}", stderr(&out));
        let script = String::from_utf8_lossy(&out.stdout);
        for command in ["explain", "approve", "enforce-now", "scan", "completions"] {
            assert!(
                script.contains(command),
                "{shell} completion lacks {command}"
            );
        }
    }
    let out = guardctl(&["man"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let page = String::from_utf8_lossy(&out.stdout);
    assert!(
        page.starts_with(".ie") && page.contains(".TH guardctl 1"),
        "{page}"
    );
    assert!(page.contains("enforce\\-now"), "{page}");
    let bad = guardctl(&["completions", "cmd.exe"]);
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));

    // The reader goes away after the first bytes.
    let mut child = Command::new(env!("CARGO_BIN_EXE_guardctl"))
        .arg("man")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    drop(child.stdout.take());
    let done = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
    assert!(
        !String::from_utf8_lossy(&done.stderr).contains("panicked"),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
}

/// guardctl on a terminal, through a real pseudo-terminal (util-linux `script`): what a person
/// at a shell sees, NO_COLOR set or not.
fn on_a_terminal(args: &[&str], no_color: bool) -> String {
    let line = std::iter::once(env!("CARGO_BIN_EXE_guardctl"))
        .chain(args.iter().copied())
        .map(|a| format!("'{}'", a.replace('\'', r"'\''")))
        .collect::<Vec<_>>()
        .join(" ");
    let mut script = Command::new("script");
    script
        .args(["-qec", &format!("{line} 2>&1"), "/dev/null"])
        .env("TERM", "xterm-256color")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("CLICOLOR")
        .env_remove("NO_COLOR");
    if no_color {
        script.env("NO_COLOR", "1");
    }
    let out = script
        .output()
        .unwrap_or_else(|e| panic!("cannot run script (util-linux): {e}"));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn colour_reaches_a_terminal_only_and_never_with_no_color() {
    let args = [
        "explain",
        "--event",
        "/nonexistent/event.json",
        "--policy",
        "p.json",
    ];
    let bold_hint = "\u{1b}[1mhint: check the path";
    let seen = on_a_terminal(&args, false);
    assert!(seen.contains(bold_hint), "{seen:?}");
    let seen = on_a_terminal(&args, true);
    assert!(seen.contains("hint: check the path"), "{seen:?}");
    assert!(!seen.contains('\u{1b}'), "NO_COLOR: {seen:?}");
    // A pipe gets plain text (the other tests read guardctl through pipes and check it too).
    let piped = guardctl(&args);
    assert!(!stderr(&piped).contains('\u{1b}'), "{}", stderr(&piped));
}

/// What guardctl writes into a pipe is exactly what it made: a JSON string with a control byte
/// JSON need not escape (DEL) reaches the reader whole (a colour-stripping writer would drop it).
#[test]
fn json_into_a_pipe_is_written_byte_for_byte() {
    let mut event: serde_json::Value = serde_json::from_slice(
        &std::fs::read(events().join("covered-create-endpoint-allowed.json"))
            .unwrap_or_else(|e| panic!("{e}")),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    event["detail"]["requestParameters"]["endpointName"] = serde_json::json!("fraud\u{7f}ep");
    let file = tmp("del-event.json", &event.to_string());
    let out = guardctl(&[
        "explain",
        "--event",
        path(&file),
        "--policy",
        path(&events().join("example/policy.json")),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        out.stdout.windows(8).any(|w| w == b"fraud\x7fep"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
