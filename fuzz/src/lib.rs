//! What the fuzz targets share: the example policy and catalog the repository's fixtures are
//! judged against, and the checks every verdict must pass.

use model_guard_core::{
    Catalog, CatalogResolver, Defaults, ParseOutcome, PolicySet, Verdict, explain,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub struct World {
    pub policy: PolicySet,
    pub resolver: CatalogResolver,
    pub defaults: Defaults,
}

/// The example policy and catalog (tests/events/example), read once.
pub fn world() -> &'static World {
    static WORLD: std::sync::OnceLock<World> = std::sync::OnceLock::new();
    WORLD.get_or_init(|| {
        let policy: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/events/example/policy.json"))
                .expect("the example policy is JSON");
        let catalog: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/events/example/catalog.json"))
                .expect("the example catalog is JSON");
        World {
            policy: PolicySet::from_json(&policy).expect("the example policy validates"),
            resolver: CatalogResolver::new(
                Catalog::from_json(&catalog).expect("the example catalog reads"),
            ),
            defaults: Defaults::default(),
        }
    })
}

/// The verdict for a parse outcome under `policy`, checked: well formed, and the same after a
/// JSON round trip (it is the contract Evaluate hands the state machine).
pub fn judge(outcome: ParseOutcome, policy: &PolicySet) -> Verdict {
    let w = world();
    let verdict = pollster::block_on(explain(outcome, &w.resolver.lookups(), policy, &w.defaults))
        .expect("a catalog never fails a describe");
    if let Err(e) = verdict.check_well_formed() {
        panic!("{e}: {verdict:?}");
    }
    let text = serde_json::to_string(&verdict).expect("a verdict serialises");
    let back: Verdict = serde_json::from_str(&text).expect("a verdict reads back");
    assert_eq!(back, verdict, "a verdict changed in a JSON round trip");
    verdict
}

/// A contract read from bytes, written and read again, is what was read: a step's output is the
/// next step's input, so what one writes the other must read the same.
pub fn round_trip<T>(bytes: &[u8])
where
    T: DeserializeOwned + Serialize + PartialEq + std::fmt::Debug,
{
    let Ok(value) = serde_json::from_slice::<T>(bytes) else {
        return;
    };
    let text = serde_json::to_vec(&value).expect("what was read can be written");
    let back: T = serde_json::from_slice(&text).unwrap_or_else(|e| {
        panic!(
            "what was written does not read back ({e}): {}",
            String::from_utf8_lossy(&text)
        )
    });
    assert_eq!(back, value, "changed in a JSON round trip");
}
