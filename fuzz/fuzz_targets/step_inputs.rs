//! Every step's input contract, as the state machines hand it over: the first byte chooses the
//! step, the rest is its input. Nothing panics; what a step reads, it can write back unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use model_guard_core::ParseOutcome;
use model_guard_core::contract::EvaluateInput;
use model_guard_core::custody::{ClaimInput, HandOverRequest};
use model_guard_core::enforcement::EnforceInput;
use model_guard_core::notification::NotifyInput;
use model_guard_core::scan::ScanRequest;
use model_guard_core::sweep::SweepStep;
use model_guard_fuzz::round_trip;

fuzz_target!(|bytes: &[u8]| {
    let Some((step, input)) = bytes.split_first() else {
        return;
    };
    match step % 8 {
        // Record's input: the parse outcome.
        0 => round_trip::<ParseOutcome>(input),
        1 => {
            let _ = serde_json::from_slice::<EvaluateInput>(input);
        }
        2 => round_trip::<ClaimInput>(input),
        3 => round_trip::<HandOverRequest>(input),
        4 => round_trip::<EnforceInput>(input),
        5 => round_trip::<NotifyInput>(input),
        6 => round_trip::<ScanRequest>(input),
        _ => {
            let _ = serde_json::from_slice::<SweepStep>(input);
        }
    }
});
