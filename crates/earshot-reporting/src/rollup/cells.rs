//! Rollup cells: the mergeable state kept per (tenant × local day, ten-day or
//! month × key). Every field is an integer counter, so cells add and subtract
//! exactly: a re-scored evaluation subtracts its old contribution and adds
//! the new one, and summing day cells into a month gives exactly the cell
//! computed from the month's raw facts.
//!
//! Three families, each with the key it needs (see [`super::keys`]):
//! - [`InteractionCell`]: operational and customer counters of interactions.
//! - [`QualityCell`]: evaluation scores, pass and critical-failure counts and
//!   the score histogram.
//! - [`QuestionCell`]: per-question pass/fail/N-A counts and their 2×k tables
//!   against CSAT, NPS and FCR of the same interactions.
//!
//! Storage (phase B) maps each field to a column: counts to BIGINT, the
//! i128 sums of squares to two BIGINT halves or a 16-byte BLOB, the fixed
//! arrays to one column per slot, and complaint categories to a child table
//! keyed like the cell.

use std::collections::BTreeMap;

use crate::stats::{Moments, ScoreHistogram};

/// A mergeable rollup cell.
pub trait Cell: Default + Clone + PartialEq + std::fmt::Debug {
    /// Adds another cell's counters.
    fn add(&mut self, other: &Self);
    /// Removes counters previously added (the exact inverse of `add`).
    fn subtract(&mut self, other: &Self);
    /// True when every counter is zero (the cell can be deleted).
    fn is_zero(&self) -> bool {
        *self == Self::default()
    }
}

fn add_arr<const N: usize>(a: &mut [i64; N], b: &[i64; N]) {
    for (x, y) in a.iter_mut().zip(b.iter()) {
        *x = x.wrapping_add(*y);
    }
}

fn sub_arr<const N: usize>(a: &mut [i64; N], b: &[i64; N]) {
    for (x, y) in a.iter_mut().zip(b.iter()) {
        *x = x.wrapping_sub(*y);
    }
}

/// Evaluation counters of one key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QualityCell {
    /// Scores in hundredths of a point; `scores.count` is the number of
    /// evaluations.
    pub scores: Moments,
    /// Evaluations that passed.
    pub passed: i64,
    /// Evaluations with a failed critical question.
    pub critical_failures: i64,
    /// Score histogram (20 bins of 5 points).
    pub histogram: ScoreHistogram,
}

impl Cell for QualityCell {
    fn add(&mut self, o: &Self) {
        self.scores.add(&o.scores);
        self.passed = self.passed.wrapping_add(o.passed);
        self.critical_failures = self.critical_failures.wrapping_add(o.critical_failures);
        self.histogram.add(&o.histogram);
    }

    fn subtract(&mut self, o: &Self) {
        self.scores.subtract(&o.scores);
        self.passed = self.passed.wrapping_sub(o.passed);
        self.critical_failures = self.critical_failures.wrapping_sub(o.critical_failures);
        self.histogram.subtract(&o.histogram);
    }
}

/// Complaints of one category.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ComplaintTally {
    /// Complaints.
    pub count: i64,
    /// Of which resolved.
    pub resolved: i64,
}

/// Operational and customer counters of the interactions of one key.
/// Durations are milliseconds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InteractionCell {
    /// Interactions of any direction and disposition.
    pub interactions: i64,
    /// Inbound interactions answered or abandoned.
    pub offered: i64,
    /// Inbound interactions abandoned before answer.
    pub abandoned: i64,
    /// Inbound interactions answered within their channel's service-level
    /// threshold (the threshold in force when applied).
    pub answered_within_threshold: i64,
    /// Wait before answer of answered inbound interactions.
    pub speed_of_answer: Moments,
    /// Handle time (talk + hold + after-call work) of handled interactions;
    /// `handle.count` is the number handled.
    pub handle: Moments,
    /// Talk time of handled interactions.
    pub talk: Moments,
    /// Hold time of handled interactions.
    pub hold: Moments,
    /// After-call work of handled interactions.
    pub after_call_work: Moments,
    /// Handled interactions that were transferred.
    pub transferred: i64,
    /// Interactions with a known FCR outcome.
    pub fcr_known: i64,
    /// Of which resolved at first contact.
    pub fcr_resolved: i64,
    /// Handled interactions with at least one counting evaluation.
    pub evaluated: i64,
    /// Surveys sent.
    pub surveys_sent: i64,
    /// Surveys with at least one answer.
    pub surveys_answered: i64,
    /// CSAT answers by rating: index 0 is "1", index 4 is "5".
    pub csat: [i64; 5],
    /// NPS answers by rating 0..=10.
    pub nps: [i64; 11],
    /// Interactions with at least one complaint.
    pub with_complaint: i64,
    /// Complaints by category.
    pub complaints: BTreeMap<String, ComplaintTally>,
}

impl Cell for InteractionCell {
    fn add(&mut self, o: &Self) {
        self.interactions = self.interactions.wrapping_add(o.interactions);
        self.offered = self.offered.wrapping_add(o.offered);
        self.abandoned = self.abandoned.wrapping_add(o.abandoned);
        self.answered_within_threshold = self
            .answered_within_threshold
            .wrapping_add(o.answered_within_threshold);
        self.speed_of_answer.add(&o.speed_of_answer);
        self.handle.add(&o.handle);
        self.talk.add(&o.talk);
        self.hold.add(&o.hold);
        self.after_call_work.add(&o.after_call_work);
        self.transferred = self.transferred.wrapping_add(o.transferred);
        self.fcr_known = self.fcr_known.wrapping_add(o.fcr_known);
        self.fcr_resolved = self.fcr_resolved.wrapping_add(o.fcr_resolved);
        self.evaluated = self.evaluated.wrapping_add(o.evaluated);
        self.surveys_sent = self.surveys_sent.wrapping_add(o.surveys_sent);
        self.surveys_answered = self.surveys_answered.wrapping_add(o.surveys_answered);
        add_arr(&mut self.csat, &o.csat);
        add_arr(&mut self.nps, &o.nps);
        self.with_complaint = self.with_complaint.wrapping_add(o.with_complaint);
        for (category, t) in &o.complaints {
            let e = self.complaints.entry(category.clone()).or_default();
            e.count = e.count.wrapping_add(t.count);
            e.resolved = e.resolved.wrapping_add(t.resolved);
        }
        // Adding a difference (the store folds "new minus old" into a
        // stored cell) can bring a category back to zero: it disappears,
        // so equal counters always mean equal cells.
        if !o.complaints.is_empty() {
            self.complaints
                .retain(|_, t| *t != ComplaintTally::default());
        }
    }

    fn subtract(&mut self, o: &Self) {
        self.interactions = self.interactions.wrapping_sub(o.interactions);
        self.offered = self.offered.wrapping_sub(o.offered);
        self.abandoned = self.abandoned.wrapping_sub(o.abandoned);
        self.answered_within_threshold = self
            .answered_within_threshold
            .wrapping_sub(o.answered_within_threshold);
        self.speed_of_answer.subtract(&o.speed_of_answer);
        self.handle.subtract(&o.handle);
        self.talk.subtract(&o.talk);
        self.hold.subtract(&o.hold);
        self.after_call_work.subtract(&o.after_call_work);
        self.transferred = self.transferred.wrapping_sub(o.transferred);
        self.fcr_known = self.fcr_known.wrapping_sub(o.fcr_known);
        self.fcr_resolved = self.fcr_resolved.wrapping_sub(o.fcr_resolved);
        self.evaluated = self.evaluated.wrapping_sub(o.evaluated);
        self.surveys_sent = self.surveys_sent.wrapping_sub(o.surveys_sent);
        self.surveys_answered = self.surveys_answered.wrapping_sub(o.surveys_answered);
        sub_arr(&mut self.csat, &o.csat);
        sub_arr(&mut self.nps, &o.nps);
        self.with_complaint = self.with_complaint.wrapping_sub(o.with_complaint);
        for (category, t) in &o.complaints {
            let e = self.complaints.entry(category.clone()).or_default();
            e.count = e.count.wrapping_sub(t.count);
            e.resolved = e.resolved.wrapping_sub(t.resolved);
        }
        // A category whose counters are back to zero disappears, so that
        // subtracting everything gives the empty cell.
        self.complaints
            .retain(|_, t| *t != ComplaintTally::default());
    }
}

/// Index of the "passed" row in a question's contingency tables.
pub const PASSED: usize = 0;
/// Index of the "failed" row.
pub const FAILED: usize = 1;

/// Per-question counters of one key, with the question's outcome crossed
/// with customer outcomes of the same interactions (N/A answers are in no
/// table).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QuestionCell {
    /// Answers that passed.
    pub passed: i64,
    /// Answers that failed.
    pub failed: i64,
    /// Answers not applicable.
    pub not_applicable: i64,
    /// [passed, failed] × [satisfied (CSAT 4–5), not satisfied].
    pub csat: [[i64; 2]; 2],
    /// [passed, failed] × [promoter, passive, detractor].
    pub nps: [[i64; 3]; 2],
    /// [passed, failed] × [resolved at first contact, not].
    pub fcr: [[i64; 2]; 2],
}

impl Cell for QuestionCell {
    fn add(&mut self, o: &Self) {
        self.passed = self.passed.wrapping_add(o.passed);
        self.failed = self.failed.wrapping_add(o.failed);
        self.not_applicable = self.not_applicable.wrapping_add(o.not_applicable);
        for r in 0..2 {
            add_arr(&mut self.csat[r], &o.csat[r]);
            add_arr(&mut self.nps[r], &o.nps[r]);
            add_arr(&mut self.fcr[r], &o.fcr[r]);
        }
    }

    fn subtract(&mut self, o: &Self) {
        self.passed = self.passed.wrapping_sub(o.passed);
        self.failed = self.failed.wrapping_sub(o.failed);
        self.not_applicable = self.not_applicable.wrapping_sub(o.not_applicable);
        for r in 0..2 {
            sub_arr(&mut self.csat[r], &o.csat[r]);
            sub_arr(&mut self.nps[r], &o.nps[r]);
            sub_arr(&mut self.fcr[r], &o.fcr[r]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn complaint_categories_vanish_when_emptied() {
        let mut a = InteractionCell::default();
        let mut b = InteractionCell {
            interactions: 1,
            with_complaint: 1,
            ..InteractionCell::default()
        };
        b.complaints.insert(
            "Billing".into(),
            ComplaintTally {
                count: 2,
                resolved: 1,
            },
        );
        a.add(&b);
        a.add(&b);
        assert_eq!(a.complaints["Billing"].count, 4);
        a.subtract(&b);
        a.subtract(&b);
        assert!(a.is_zero());
    }

    #[test]
    fn question_cells_round_trip() {
        let mut q = QuestionCell::default();
        let one = QuestionCell {
            failed: 1,
            csat: [[0, 0], [0, 1]],
            nps: [[0, 0, 0], [0, 0, 1]],
            fcr: [[0, 0], [0, 1]],
            ..QuestionCell::default()
        };
        q.add(&one);
        assert!(!q.is_zero());
        q.subtract(&one);
        assert!(q.is_zero());
    }
}
