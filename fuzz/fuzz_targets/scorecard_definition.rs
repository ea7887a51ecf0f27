#![no_main]
//! Fuzz target `scorecard_definition`: see `earshot_fuzz::scorecard_definition`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| earshot_fuzz::scorecard_definition(data));
