//! Net Promoter Score: % promoters (9–10) − % detractors (0–6) of 0–10
//! "how likely are you to recommend" answers, with its three shares and an
//! interval.
//!
//! NPS is a difference of two shares of one multinomial sample, so its
//! variance is `(p + d − (p − d)²) / n` (p, d the promoter and detractor
//! shares). The interval is an *adjusted Wald* interval: one pseudo-answer is
//! added to each of the three categories before computing centre and
//! variance, in the spirit of Agresti–Coull/Agresti–Caffo. The plain Wald
//! interval collapses to zero width when every answer is a promoter, which is
//! common for small groups and would claim certainty that is not there.

use super::estimate::Estimate;
use super::proportion::Proportion;
use super::special::Z_975;

/// Answers by NPS category.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct NpsCounts {
    /// Answers 9 or 10.
    pub promoters: i64,
    /// Answers 7 or 8.
    pub passives: i64,
    /// Answers 0 to 6.
    pub detractors: i64,
}

/// NPS with its parts. `score` is in points, −100 to 100; the shares are
/// 0 to 1 with Wilson intervals.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NpsEstimate {
    /// % promoters − % detractors, −100 to 100, adjusted-Wald 95% interval.
    pub score: Estimate,
    /// Share of promoters.
    pub promoter_share: Estimate,
    /// Share of passives.
    pub passive_share: Estimate,
    /// Share of detractors.
    pub detractor_share: Estimate,
}

impl NpsCounts {
    /// Counts from a histogram of answers 0..=10 (index = answer).
    pub fn from_ratings(ratings: &[i64; 11]) -> Self {
        let sum = |r: std::ops::RangeInclusive<usize>| -> i64 {
            ratings[r].iter().fold(0i64, |a, &b| a.wrapping_add(b))
        };
        NpsCounts {
            detractors: sum(0..=6),
            passives: sum(7..=8),
            promoters: sum(9..=10),
        }
    }

    /// All answers.
    pub fn total(&self) -> i64 {
        self.promoters
            .wrapping_add(self.passives)
            .wrapping_add(self.detractors)
    }

    /// The score as a fraction in [−1, 1]; 0 with no answers.
    pub fn fraction(&self) -> f64 {
        let n = self.total();
        if n <= 0 {
            return 0.0;
        }
        (self.promoters as f64 - self.detractors as f64) / n as f64
    }

    /// Unadjusted variance of the fraction: (p + d − (p − d)²) / n; 0 with no
    /// answers.
    pub fn variance(&self) -> f64 {
        let n = self.total();
        if n <= 0 {
            return 0.0;
        }
        let nf = n as f64;
        let p = self.promoters as f64 / nf;
        let d = self.detractors as f64 / nf;
        ((p + d - (p - d) * (p - d)) / nf).max(0.0)
    }

    /// Variance of the fraction with one pseudo-answer per category (the
    /// adjusted-Wald variance); 0 with no answers.
    pub fn adjusted_variance(&self) -> f64 {
        if self.total() <= 0 {
            return 0.0;
        }
        let adjusted = NpsCounts {
            promoters: self.promoters.wrapping_add(1),
            passives: self.passives.wrapping_add(1),
            detractors: self.detractors.wrapping_add(1),
        };
        adjusted.variance()
    }

    /// The score, in points, with its interval, and the three shares.
    /// No answers → every part is no data.
    pub fn estimate(&self) -> NpsEstimate {
        let n = self.total();
        if n <= 0 {
            return NpsEstimate {
                score: Estimate::NO_DATA,
                promoter_share: Estimate::NO_DATA,
                passive_share: Estimate::NO_DATA,
                detractor_share: Estimate::NO_DATA,
            };
        }
        let adjusted = NpsCounts {
            promoters: self.promoters.wrapping_add(1),
            passives: self.passives.wrapping_add(1),
            detractors: self.detractors.wrapping_add(1),
        };
        let centre = adjusted.fraction();
        let half = Z_975 * adjusted.variance().sqrt();
        let low = (centre - half).clamp(-1.0, 1.0);
        let high = (centre + half).clamp(-1.0, 1.0);
        let score = Estimate::new(self.fraction(), low, high, n).scaled(100.0);
        NpsEstimate {
            score,
            promoter_share: Proportion::new(self.promoters, n).wilson(),
            passive_share: Proportion::new(self.passives, n).wilson(),
            detractor_share: Proportion::new(self.detractors, n).wilson(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn worked_example() {
        // 10 answers: 5 promoters, 3 passives, 2 detractors → NPS 30.
        // Adjusted: 6/13 − 3/13 = 0.230769; var = (9/13 − (3/13)²)/13
        //   = (0.692308 − 0.053254)/13 = 0.049158; half = 1.96·0.221716 = 0.434556
        let c = NpsCounts {
            promoters: 5,
            passives: 3,
            detractors: 2,
        };
        let e = c.estimate();
        assert!((e.score.value - 30.0).abs() < 1e-12);
        let centre = 3.0 / 13.0;
        let var = (9.0 / 13.0 - centre * centre) / 13.0;
        let half = Z_975 * f64::sqrt(var);
        assert!((e.score.ci_low - 100.0 * (centre - half)).abs() < 1e-9);
        assert!((e.score.ci_high - 100.0 * (centre + half)).abs() < 1e-9);
        assert_eq!(e.score.sample_size, 10);
        assert!((e.promoter_share.value - 0.5).abs() < 1e-15);
        assert!((e.detractor_share.value - 0.2).abs() < 1e-15);
        // Unadjusted variance: (0.5 + 0.2 − 0.09)/10 = 0.061
        assert!((c.variance() - 0.061).abs() < 1e-15);
    }

    #[test]
    fn ratings_bucket_into_categories() {
        let mut r = [0i64; 11];
        r[0] = 1;
        r[6] = 2;
        r[7] = 3;
        r[8] = 4;
        r[9] = 5;
        r[10] = 6;
        let c = NpsCounts::from_ratings(&r);
        assert_eq!((c.detractors, c.passives, c.promoters), (3, 7, 11));
    }

    #[test]
    fn all_promoters_has_a_real_interval() {
        let c = NpsCounts {
            promoters: 8,
            passives: 0,
            detractors: 0,
        };
        let e = c.estimate().score;
        assert_eq!(e.value, 100.0);
        assert_eq!(e.ci_high, 100.0);
        assert!(
            e.ci_low < 80.0,
            "an honest interval, not a point: {}",
            e.ci_low
        );
    }

    #[test]
    fn empty_is_no_data() {
        let e = NpsCounts::default().estimate();
        assert!(e.score.no_data && e.promoter_share.no_data);
        assert_eq!(NpsCounts::default().variance(), 0.0);
        assert_eq!(NpsCounts::default().adjusted_variance(), 0.0);
    }

    proptest! {
        #[test]
        fn proper_interval(p in 0i64..500, a in 0i64..500, d in 0i64..500) {
            let c = NpsCounts { promoters: p, passives: a, detractors: d };
            let e = c.estimate();
            if c.total() == 0 {
                prop_assert!(e.score.no_data);
            } else {
                prop_assert!(-100.0 <= e.score.ci_low && e.score.ci_low <= e.score.value);
                prop_assert!(e.score.value <= e.score.ci_high && e.score.ci_high <= 100.0);
                let shares = e.promoter_share.value + e.passive_share.value + e.detractor_share.value;
                prop_assert!((shares - 1.0).abs() < 1e-12);
            }
        }
    }
}
