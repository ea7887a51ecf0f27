//! [`ScoreHistogram`]: evaluation scores in 20 bins of 5 points.
//!
//! Fixed bins make the histogram a mergeable counter array like every other
//! part of a rollup cell: merging months is adding arrays. Twenty 5-point bins
//! are fine enough to show the shape of a distribution and to be re-binned
//! exactly into 10-point bins for coarser charts.

/// Number of bins.
pub const BINS: usize = 20;
/// Width of one bin in score hundredths (5 points).
pub const BIN_WIDTH_HUNDREDTHS: i64 = 500;

/// Counts of scores per 5-point bin: [0, 5), [5, 10), …, [95, 100]; the last
/// bin includes 100.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct ScoreHistogram(pub [i64; BINS]);

impl ScoreHistogram {
    /// The bin of a score in hundredths (clamped into 0..=10,000).
    pub fn bin_of(score_hundredths: i64) -> usize {
        let clamped = score_hundredths.clamp(0, 10_000);
        ((clamped / BIN_WIDTH_HUNDREDTHS) as usize).min(BINS - 1)
    }

    /// A histogram holding one score.
    pub fn of(score_hundredths: i64) -> Self {
        let mut h = ScoreHistogram::default();
        h.0[Self::bin_of(score_hundredths)] = 1;
        h
    }

    /// Adds another histogram.
    pub fn add(&mut self, other: &ScoreHistogram) {
        for (a, b) in self.0.iter_mut().zip(other.0.iter()) {
            *a = a.wrapping_add(*b);
        }
    }

    /// Removes a histogram previously added.
    pub fn subtract(&mut self, other: &ScoreHistogram) {
        for (a, b) in self.0.iter_mut().zip(other.0.iter()) {
            *a = a.wrapping_sub(*b);
        }
    }

    /// Total count.
    pub fn total(&self) -> i64 {
        self.0.iter().fold(0i64, |a, &b| a.wrapping_add(b))
    }

    /// Lower edge of each bin in points: 0, 5, …, 95.
    pub fn lower_bounds() -> [f64; BINS] {
        let mut edges = [0.0; BINS];
        for (i, e) in edges.iter_mut().enumerate() {
            *e = (i as f64) * 5.0;
        }
        edges
    }

    /// The counts merged pairwise into ten 10-point bins.
    pub fn ten_point_bins(&self) -> [i64; 10] {
        let mut out = [0i64; 10];
        for (i, o) in out.iter_mut().enumerate() {
            *o = self.0[2 * i].wrapping_add(self.0[2 * i + 1]);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binning_edges() {
        let table = [
            (0, 0),
            (499, 0),
            (500, 1),
            (9_499, 18),
            (9_500, 19),
            (10_000, 19),
            (-5, 0),
            (20_000, 19),
        ];
        for (score, bin) in table {
            assert_eq!(ScoreHistogram::bin_of(score), bin, "score {score}");
        }
    }

    #[test]
    fn merge_and_rebin() {
        let mut h = ScoreHistogram::of(8_000);
        h.add(&ScoreHistogram::of(8_600));
        h.add(&ScoreHistogram::of(10_000));
        assert_eq!(h.total(), 3);
        let ten = h.ten_point_bins();
        assert_eq!(ten[8], 2);
        assert_eq!(ten[9], 1);
        h.subtract(&ScoreHistogram::of(10_000));
        assert_eq!(h.total(), 2);
        assert_eq!(ScoreHistogram::lower_bounds()[19], 95.0);
    }
}
