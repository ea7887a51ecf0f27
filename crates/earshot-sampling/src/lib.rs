//! Earshot's sampling service (WIP lib docs).
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod business_hours;
pub mod calendar;
pub mod draw;
pub mod eligibility;
pub mod feedback;
pub mod ids;
pub mod ingest;
pub mod interaction;
pub mod plan;
pub mod quota;
pub mod repeat_contact;
pub mod sample_size;
pub mod selection;
pub mod settings;
pub mod stratification;
pub mod survey;
pub mod targeted;
pub mod time;
pub mod top_up;
pub mod violation;
