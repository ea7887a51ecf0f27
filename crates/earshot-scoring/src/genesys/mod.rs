//! Genesys Cloud evaluation forms: the document ([`form`]) and its mapping
//! onto an Earshot scorecard ([`mod@import`]). Scoring such a scorecard "as
//! Genesys documents it" is [`crate::score::genesys`].

pub mod form;
pub mod import;

pub use import::{GenesysImport, import};
