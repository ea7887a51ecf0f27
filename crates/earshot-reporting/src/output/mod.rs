//! Output for people and spreadsheets.
//!
//! - [`csv`]: an RFC 4180 writer that streams in bounded chunks.
//! - [`tables`]: every report as a table with a fixed, documented column
//!   order (the CSV export's layout).
//! - [`svg`]: trend and distribution charts as standalone SVG documents,
//!   drawn by hand (no chart library): axes with "nice" ticks, a line per
//!   series with its 95% band, the target line, escaped text.

pub mod csv;
pub mod svg;
pub mod tables;
