#![no_main]
//! Fuzz target `scorecard_import`: see `earshot_fuzz::scorecard_import`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| earshot_fuzz::scorecard_import(data));
