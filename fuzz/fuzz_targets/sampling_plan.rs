#![no_main]
//! Fuzz target `sampling_plan`: see `earshot_fuzz::sampling_plan`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| earshot_fuzz::sampling_plan(data));
