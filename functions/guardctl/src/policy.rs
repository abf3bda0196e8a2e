//! `guardctl policy …`: the policy table, validated with the code the Lambdas load it with
//! (`PolicyItem::from_value`, `PolicySet::new`) before anything is written.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use model_guard_aws::policy_store::scan_items;
use model_guard_core::policy::{ENFORCEMENT_PK, StackEnforcement};
use model_guard_core::{PolicyItem, PolicySet};
use serde_json::{Value, json};

use crate::PolicyCommand;
use crate::aws::Aws;
use crate::failure::{Failure, sdk};
use crate::table::Table;

/// DynamoDB's limits on one TransactWriteItems call: 100 actions, 4 MB in all.
pub const TRANSACTION_ITEMS: usize = 100;
const TRANSACTION_BYTES: usize = 4 * 1024 * 1024;
/// DynamoDB's limit on one item (400 KB). An item's JSON is never smaller than what DynamoDB
/// counts, so a JSON size under this is an item DynamoDB takes.
const MAX_ITEM_BYTES: usize = 400 * 1024;

/// An item DynamoDB would refuse for its size, refused before anything is written.
fn check_size(position: &str, value: &Value) -> Result<(), Failure> {
    let size = value.to_string().len();
    if size > MAX_ITEM_BYTES {
        return Err(Failure::bad_input(
            format!(
                "policy item {position} (pk {:?}): {size} bytes as JSON; DynamoDB stores at most 400 KB",
                pk_of(value)
            ),
            "make the item smaller: fewer or broader patterns, or split it into several bindings",
        ));
    }
    Ok(())
}

const KEY: &str = model_guard_aws::policy_table::KEY;

/// The fix for an item that does not validate.
const ITEM_HINT: &str = "fix the field named; the README's \"Writing a policy\" shows every \
     field, and docs/cookbook/ ten whole policies";
/// The fix for a set of items that cannot stand together.
const SET_HINT: &str = "two items would bind the same pattern: change one pk, or remove the \
     other first (`guardctl policy rm PK`)";

pub async fn run(aws: &mut Aws, command: PolicyCommand, json: bool) -> Result<String, Failure> {
    let table = aws.policy_table().await?;
    let store = Store {
        client: aws.dynamodb().await,
        table,
    };
    match command {
        PolicyCommand::List => list(&store, json).await,
        PolicyCommand::Get { pk } => {
            let item = store.get(&pk).await?.ok_or_else(|| store.missing(&pk))?;
            pretty(&item)
        }
        PolicyCommand::Export => pretty(&Value::Array(store.all().await?)),
        PolicyCommand::Put { file, dry_run } => put(&store, &file, dry_run, json).await,
        PolicyCommand::Rm { pk, dry_run } => rm(&store, &pk, dry_run, json).await,
        PolicyCommand::Import { file, dry_run } => import(&store, &file, dry_run, json).await,
    }
}

struct Store {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl Store {
    /// Every item, sorted by pk.
    async fn all(&self) -> Result<Vec<Value>, Failure> {
        let mut items = scan_items(&self.client, &self.table)
            .await
            .map_err(Failure::guard)?;
        items.sort_by(|a, b| pk_of(a).cmp(pk_of(b)));
        Ok(items)
    }

    async fn get(&self, pk: &str) -> Result<Option<Value>, Failure> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(KEY, AttributeValue::S(pk.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk(&format!("GetItem {}", self.table), &e))?;
        out.item.map(|item| self.read_item(item)).transpose()
    }

    fn read_item(
        &self,
        item: std::collections::HashMap<String, AttributeValue>,
    ) -> Result<Value, Failure> {
        serde_dynamo::from_item(item).map_err(|e| {
            Failure::bad_input(
                format!("table {}: an item is not JSON-shaped: {e}", self.table),
                "is --policy-table (MODEL_GUARD_POLICY_TABLE) the guard's policy table? If so, \
                 fix or delete that item in the DynamoDB console",
            )
        })
    }

    fn to_item(
        value: &Value,
    ) -> Result<std::collections::HashMap<String, AttributeValue>, Failure> {
        serde_dynamo::to_item(value).map_err(|e| {
            Failure::bad_input(
                format!("cannot store {}: {e}", pk_of(value)),
                "keep the item to plain JSON: strings, numbers, booleans, lists and objects",
            )
        })
    }

    fn missing(&self, pk: &str) -> Failure {
        Failure::refused(
            format!("no policy item with pk {pk:?} in table {}", self.table),
            "`guardctl policy list` shows the pks there (a pk is matched exactly)",
        )
    }
}

fn pk_of(item: &Value) -> &str {
    item.get(KEY).and_then(Value::as_str).unwrap_or("")
}

fn pretty(value: &Value) -> Result<String, Failure> {
    serde_json::to_string_pretty(value).map_err(Failure::cannot_print)
}

fn read_json(path: &Path) -> Result<Value, Failure> {
    let bytes = std::fs::read(path).map_err(|e| {
        Failure::bad_input(
            format!("{}: cannot read: {e}", path.display()),
            "check the path and that you may read the file",
        )
    })?;
    serde_json::from_slice(&bytes).map_err(|e| {
        Failure::bad_input(
            format!("{}: not JSON: {e}", path.display()),
            "`put` takes one policy item as JSON, `import` an array of them (as `export` writes)",
        )
    })
}

/// The table's items that validate, except those whose pk is in `replaced`; an invalid stored item
/// is reported on stderr and left out (it cannot be a duplicate of anything the Lambdas load).
fn valid_others(table: &str, items: &[Value], replaced: &BTreeSet<&str>) -> Vec<PolicyItem> {
    items
        .iter()
        .filter(|v| !replaced.contains(pk_of(v)))
        .filter_map(
            |v| match PolicyItem::from_value(&format!("in table {table}"), v) {
                Ok(item) => Some(item),
                Err(e) => {
                    eprintln!("guardctl: warning: {e}");
                    None
                }
            },
        )
        .collect()
}

async fn list(store: &Store, json: bool) -> Result<String, Failure> {
    let items = store.all().await?;
    // The Lambdas refuse the whole table while one item is bad: say so, and still show it.
    let checked: Result<Vec<_>, _> = items
        .iter()
        .map(|v| PolicyItem::from_value(&format!("in table {}", store.table), v))
        .collect();
    if let Err(e) = checked.and_then(PolicySet::new) {
        eprintln!("guardctl: warning: {e}; evaluations fail closed until it is fixed");
    }
    if json {
        return pretty(&Value::Array(items));
    }
    if items.is_empty() {
        return Ok(format!(
            "no policy items in {}: every request is decided by the built-in default (notify)",
            store.table
        ));
    }
    let mut table = Table::new(&[
        "PK",
        "MODE",
        "GRACE",
        "PRINCIPALS",
        "APPROVERS",
        "DESCRIPTION",
    ]);
    for item in &items {
        let text = |key: &str| item.get(key).and_then(Value::as_str).map(str::to_owned);
        let list = |key: &str| {
            item.get(key).and_then(Value::as_array).map(|l| {
                if l.is_empty() {
                    "(none)".to_owned()
                } else {
                    l.iter()
                        .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            })
        };
        table.row(vec![
            pk_of(item).to_owned(),
            text("mode").unwrap_or_else(|| "enforce".to_owned()),
            item.get("graceSeconds")
                .map_or_else(|| "default".to_owned(), |g| format!("{g}s")),
            list("principals").unwrap_or_else(|| "(none)".to_owned()),
            list("approvers").unwrap_or_else(|| "default".to_owned()),
            text("description").unwrap_or_default(),
        ]);
    }
    Ok(table.render())
}

/// Field by field: `  same`, `- removed or old`, `+ added or new`.
fn diff(before: Option<&Value>, after: Option<&Value>) -> String {
    let fields = |v: Option<&Value>| -> BTreeMap<String, String> {
        v.and_then(Value::as_object)
            .map(|o| o.iter().map(|(k, v)| (k.clone(), v.to_string())).collect())
            .unwrap_or_default()
    };
    let (old, new) = (fields(before), fields(after));
    let keys: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    let mut out = Vec::new();
    // pk first: it names the item.
    let mut keys: Vec<&String> = keys.into_iter().collect();
    keys.sort_by_key(|k| (k.as_str() != KEY, k.as_str()));
    for key in keys {
        match (old.get(key), new.get(key)) {
            (Some(a), Some(b)) if a == b => out.push(format!("  {key}: {a}")),
            (a, b) => {
                if let Some(a) = a {
                    out.push(format!("- {key}: {a}"));
                }
                if let Some(b) = b {
                    out.push(format!("+ {key}: {b}"));
                }
            }
        }
    }
    out.join("\n")
}

fn change(before: Option<&Value>, after: Option<&Value>) -> &'static str {
    match (before, after) {
        (None, Some(_)) => "new",
        (Some(_), None) => "removed",
        (Some(a), Some(b)) if a == b => "unchanged",
        _ => "changed",
    }
}

async fn put(store: &Store, file: &Path, dry_run: bool, json: bool) -> Result<String, Failure> {
    put_value(
        store,
        &file.display().to_string(),
        read_json(file)?,
        dry_run,
        json,
    )
    .await
}

/// `guardctl enforcement`: the stack-wide setting (the policy table's `enforcement` item), shown,
/// or written as `policy put` writes an item.
pub async fn enforcement(
    aws: &mut Aws,
    set: Option<StackEnforcement>,
    json: bool,
) -> Result<String, Failure> {
    let store = Store {
        client: aws.dynamodb().await,
        table: aws.policy_table().await?,
    };
    let Some(setting) = set else {
        let item = store.get(ENFORCEMENT_PK).await?;
        let mode = item
            .as_ref()
            .and_then(|i| i.get("mode"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        if json {
            return pretty(
                &json!({"item": item, "enforcement": mode.as_deref().unwrap_or("enforce")}),
            );
        }
        return Ok(match mode {
            Some(mode) if mode == "observe" => format!(
                "observe: every violation is decided, audited and alerted; nothing is stopped or \
                 deleted (policy table {}, item {ENFORCEMENT_PK})",
                store.table
            ),
            Some(mode) => format!(
                "{mode}: violations are stopped or deleted after their grace (policy table {}, \
                 item {ENFORCEMENT_PK})",
                store.table
            ),
            None => format!(
                "enforce: the policy table {} has no {ENFORCEMENT_PK} item, and without it the \
                 guard enforces",
                store.table
            ),
        });
    };
    let value = json!({
        "pk": ENFORCEMENT_PK,
        "mode": setting.as_str(),
        "description": "set by guardctl enforcement",
    });
    put_value(&store, "guardctl enforcement", value, false, json).await
}

async fn put_value(
    store: &Store,
    position: &str,
    value: Value,
    dry_run: bool,
    json: bool,
) -> Result<String, Failure> {
    let item = PolicyItem::from_value(position, &value)
        .map_err(|e| Failure::bad_input(e.to_string(), ITEM_HINT))?;
    check_size(position, &value)?;
    let all = store.all().await?;
    let before = all.iter().find(|v| pk_of(v) == item.pk).cloned();
    // The same binding under another spelling of its pk would be a duplicate the Lambdas refuse.
    let mut set = valid_others(&store.table, &all, &BTreeSet::from([item.pk.as_str()]));
    set.push(item.clone());
    PolicySet::new(set).map_err(|e| Failure::bad_input(format!("{position}: {e}"), SET_HINT))?;

    let written = !dry_run && before.as_ref() != Some(&value);
    if written {
        store
            .client
            .put_item()
            .table_name(&store.table)
            .set_item(Some(Store::to_item(&value)?))
            .send()
            .await
            .map_err(|e| sdk(&format!("PutItem {}", store.table), &e))?;
    }
    if json {
        return pretty(
            &json!({"pk": item.pk, "before": before, "after": value, "written": written}),
        );
    }
    let what = change(before.as_ref(), Some(&value));
    let outcome = match (dry_run, what) {
        (_, "unchanged") => "nothing to write",
        (true, _) => "dry run: nothing written",
        (false, _) => "written",
    };
    Ok(format!(
        "policy item {} ({what})\n{}\n{outcome}",
        item.pk,
        diff(before.as_ref(), Some(&value))
    ))
}

async fn rm(store: &Store, pk: &str, dry_run: bool, json: bool) -> Result<String, Failure> {
    let before = store.get(pk).await?.ok_or_else(|| store.missing(pk))?;
    if !dry_run {
        store
            .client
            .delete_item()
            .table_name(&store.table)
            .key(KEY, AttributeValue::S(pk.to_owned()))
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#pk", KEY)
            .send()
            .await
            .map_err(|e| sdk(&format!("DeleteItem {}", store.table), &e))?;
    }
    if json {
        return pretty(&json!({"pk": pk, "before": before, "after": null, "written": !dry_run}));
    }
    let outcome = if dry_run {
        "dry run: nothing deleted"
    } else {
        "deleted"
    };
    Ok(format!(
        "policy item {pk} (removed)\n{}\n{outcome}",
        diff(Some(&before), None)
    ))
}

async fn import(store: &Store, file: &Path, dry_run: bool, json: bool) -> Result<String, Failure> {
    let document = read_json(file)?;
    // Every item is checked, and the file as a set, before anything is written.
    PolicySet::from_json(&document)
        .map_err(|e| Failure::bad_input(format!("{}: {e}", file.display()), ITEM_HINT))?;
    let items: Vec<Value> = document.as_array().cloned().unwrap_or_default();
    let all = store.all().await?;
    let replaced: BTreeSet<&str> = items.iter().map(pk_of).collect();
    let mut set = valid_others(&store.table, &all, &replaced);
    for (i, value) in items.iter().enumerate() {
        check_size(&format!("{}: .[{i}]", file.display()), value)?;
        set.push(
            PolicyItem::from_value(&format!(".[{i}]"), value)
                .map_err(|e| Failure::bad_input(format!("{}: {e}", file.display()), ITEM_HINT))?,
        );
    }
    PolicySet::new(set).map_err(|e| {
        Failure::bad_input(
            format!("{}: {e} (an item already in the table)", file.display()),
            SET_HINT,
        )
    })?;

    let before: BTreeMap<&str, &Value> = all.iter().map(|v| (pk_of(v), v)).collect();
    let changes: Vec<(&str, &'static str)> = items
        .iter()
        .map(|v| (pk_of(v), change(before.get(pk_of(v)).copied(), Some(v))))
        .collect();

    let batches = transactions(&items);
    let mut written: Vec<&str> = Vec::new();
    if !dry_run {
        for (n, batch) in batches.iter().enumerate() {
            let mut request = store.client.transact_write_items();
            for value in *batch {
                let put = Put::builder()
                    .table_name(&store.table)
                    .set_item(Some(Store::to_item(value)?))
                    .build()
                    .map_err(|e| {
                        Failure::bad_input(format!("{}: {e}", pk_of(value)), crate::failure::BUG)
                    })?;
                request = request.transact_items(TransactWriteItem::builder().put(put).build());
            }
            if let Err(e) = request.send().await {
                let failed = sdk(
                    &format!(
                        "TransactWriteItems {} (transaction {} of {})",
                        store.table,
                        n + 1,
                        batches.len()
                    ),
                    &e,
                );
                let first_unwritten = written.len();
                return Err(Failure::aws(
                    format!(
                        "{}\nwritten: {} item(s){}\nnot written: {} item(s), from .[{first_unwritten}] ({}) on",
                        failed.message(),
                        written.len(),
                        if written.is_empty() {
                            String::new()
                        } else {
                            format!(" ({})", written.join(", "))
                        },
                        items.len() - first_unwritten,
                        pk_of(&items[first_unwritten]),
                    ),
                    format!(
                        "{}; then run the same import again (an item written again is unchanged)",
                        failed.hint().trim_end_matches('.')
                    ),
                ));
            }
            written.extend(batch.iter().map(pk_of));
        }
    }
    if json {
        let list: Vec<Value> = changes
            .iter()
            .map(|(pk, what)| json!({"pk": pk, "change": what}))
            .collect();
        return pretty(&json!({"items": list, "written": written.len(), "dryRun": dry_run}));
    }
    let mut table = Table::new(&["PK", "CHANGE"]).toned("CHANGE");
    for (pk, what) in &changes {
        table.row(vec![(*pk).to_owned(), (*what).to_owned()]);
    }
    let summary = if dry_run {
        format!("dry run: {} item(s) checked, nothing written", items.len())
    } else {
        format!(
            "{} item(s) written in {} transaction(s)",
            written.len(),
            batches.len()
        )
    };
    Ok(format!("{}\n{summary}", table.render()))
}

/// The items in order, cut into transactions DynamoDB takes: at most 100 items and 4 MB each
/// (sizes as JSON, which is never less than DynamoDB counts).
fn transactions(items: &[Value]) -> Vec<&[Value]> {
    let mut batches = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, item) in items.iter().enumerate() {
        let size = item.to_string().len();
        if i > start && (i - start == TRANSACTION_ITEMS || bytes + size > TRANSACTION_BYTES) {
            batches.push(&items[start..i]);
            (start, bytes) = (i, 0);
        }
        bytes += size;
    }
    if start < items.len() {
        batches.push(&items[start..]);
    }
    batches
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transactions_hold_at_most_100_items_and_4_mb() {
        let small: Vec<Value> = (0..250)
            .map(|i| json!({"pk": format!("model#{i}")}))
            .collect();
        let sizes: Vec<usize> = transactions(&small).iter().map(|b| b.len()).collect();
        assert_eq!(sizes, [100, 100, 50]);
        let big: Vec<Value> = (0..30)
            .map(|i| json!({"pk": i, "d": "x".repeat(300_000)}))
            .collect();
        let batches = transactions(&big);
        assert!(
            batches
                .iter()
                .all(|b| b.iter().map(|v| v.to_string().len()).sum::<usize>() <= TRANSACTION_BYTES)
        );
        assert_eq!(batches.iter().map(|b| b.len()).sum::<usize>(), 30);
        assert_eq!(batches[0].len(), 13);
        assert!(transactions(&[]).is_empty());
    }

    #[test]
    fn the_diff_shows_each_field_once_pk_first() {
        let before = json!({"pk": "model#a", "mode": "notify", "principals": ["x"]});
        let after =
            json!({"pk": "model#a", "mode": "enforce", "principals": ["x"], "graceSeconds": 60});
        assert_eq!(
            diff(Some(&before), Some(&after)),
            "  pk: \"model#a\"\n+ graceSeconds: 60\n- mode: \"notify\"\n+ mode: \"enforce\"\n  principals: [\"x\"]"
        );
        assert_eq!(change(Some(&before), Some(&after)), "changed");
        assert_eq!(change(None, Some(&after)), "new");
        assert_eq!(change(Some(&after), Some(&after)), "unchanged");
    }
}
