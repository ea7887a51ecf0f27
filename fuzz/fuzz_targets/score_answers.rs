#![no_main]
//! Fuzz target `score_answers`: see `earshot_fuzz::score_answers_request`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| earshot_fuzz::score_answers_request(data));
