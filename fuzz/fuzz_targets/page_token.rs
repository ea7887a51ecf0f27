#![no_main]
//! Fuzz target `page_token`: see `earshot_fuzz::page_token`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| earshot_fuzz::page_token(data));
