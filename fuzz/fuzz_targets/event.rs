//! Any bytes as an EventBridge event: parsed, and when it is a covered call, judged against the
//! example policy. Nothing panics; every verdict is well formed and survives a round trip.
#![no_main]

use libfuzzer_sys::fuzz_target;
use model_guard_core::parse_event_slice;
use model_guard_fuzz::{judge, world};

fuzz_target!(|bytes: &[u8]| {
    if let Ok(outcome) = parse_event_slice(bytes) {
        judge(outcome, &world().policy);
    }
});
