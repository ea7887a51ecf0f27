//! placeholder (docs written below once the layout settles)

pub mod answers;
pub mod score;
pub mod scorecard;
pub mod violation;
pub mod visibility;
