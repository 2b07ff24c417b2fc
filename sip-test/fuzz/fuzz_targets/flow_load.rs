//! Fuzzes the flow loader: any bytes as a flow file must give a flow or located diagnostics, never a panic,
//! and a flow that loads must link and start an interpreter session without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let ctx = hotline_ivr::LoadContext::permissive();
    match hotline_ivr::load_str(text, "fuzz.yaml", &ctx) {
        Ok(flow) => {
            let (linked, _) = hotline_ivr::link(vec![flow]);
            for flow in linked.values() {
                let mut session = hotline_ivr::Session::new(flow.clone(), hotline_ivr::CallContext::default());
                let now = std::time::Instant::now();
                session.start(now);
                while session.poll_action().is_some() {}
                while session.poll_event().is_some() {}
            }
        }
        Err(diags) => {
            for d in diags {
                assert!(d.line >= 1 && d.col >= 1, "diagnostics are 1-based: {d}");
            }
        }
    }
});
