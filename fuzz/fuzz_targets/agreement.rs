#![no_main]
//! Fuzz target `agreement`: see `earshot_fuzz::agreement`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| earshot_fuzz::agreement(data));
