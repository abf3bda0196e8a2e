//! What reaches the approval function from outside: the request body an approver posts, and the
//! answer the function reads back from STS for the approver's presigned proof.
#![no_main]

use libfuzzer_sys::fuzz_target;
use model_guard_core::approval::ApproveRequest;
use model_guard_core::proof::read_caller_identity;
use model_guard_fuzz::round_trip;

fuzz_target!(|bytes: &[u8]| {
    if let Ok(request) = ApproveRequest::from_body(bytes) {
        let _ = request.binding();
    }
    round_trip::<ApproveRequest>(bytes);
    let _ = read_caller_identity(bytes);
});
