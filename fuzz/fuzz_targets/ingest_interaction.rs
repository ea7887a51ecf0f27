#![no_main]
//! Fuzz target `ingest_interaction`: see `earshot_fuzz::ingest_interaction`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| earshot_fuzz::ingest_interaction(data));
