//! The tenant's reporting settings and their validation.
//!
//! [`SettingsDraft`] is what a caller sent (plain values, enums already
//! mapped, `None` for "unspecified"); [`Settings::parse`] turns it into
//! valid [`Settings`] or returns every bad field at once. UpdateSettings'
//! field mask is applied to drafts with [`SettingsDraft::merge_masked`]
//! before parsing, so a partial update is validated as a whole.

use std::collections::{BTreeMap, BTreeSet};

use chrono_tz::Tz;

use crate::dimension::{Channel, Dimension};
use crate::metrics::{Better, Metric};
use crate::rollup::contribution::{RollupContext, ServiceLevelThresholds};
use crate::validation::{Violations, parse_id};

/// Default minimum sample.
pub const DEFAULT_MINIMUM_SAMPLE: i64 = 10;
/// Largest minimum sample.
pub const MAX_MINIMUM_SAMPLE: i64 = 10_000;
/// Most targets per tenant.
pub const MAX_TARGETS: usize = 200;
/// Longest industry reference source, in characters.
pub const MAX_SOURCE_CHARS: usize = 200;
/// Longest service-level threshold: 7 days, in ms.
pub const MAX_THRESHOLD_MS: i64 = 7 * 24 * 3_600_000;

/// "`target_share` answered within `threshold_ms`".
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ServiceLevelObjective {
    /// The threshold, whole seconds in ms, 1 s to 7 days.
    pub threshold_ms: i64,
    /// The share to reach, in (0, 1].
    pub target_share: f64,
}

impl Default for ServiceLevelObjective {
    /// 80% within 20 seconds.
    fn default() -> Self {
        ServiceLevelObjective {
            threshold_ms: 20_000,
            target_share: 0.8,
        }
    }
}

/// How a value meets a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Comparator {
    /// value ≥ target.
    AtLeast,
    /// value ≤ target.
    AtMost,
}

/// Who a target applies to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TargetScope {
    /// Every group and the center.
    All,
    /// One group (overrides `All` for it); `Dimension::Center` with the
    /// empty id is the center alone.
    Group(Dimension, String),
}

/// A target for one metric.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// The metric.
    pub metric: Metric,
    /// The value, in the metric's unit.
    pub value: f64,
    /// How it is met.
    pub comparator: Comparator,
    /// Who it applies to.
    pub scope: TargetScope,
}

/// A published reference value.
#[derive(Debug, Clone, PartialEq)]
pub struct IndustryReference {
    /// The metric.
    pub metric: Metric,
    /// The value, in the metric's unit.
    pub value: f64,
    /// Where it comes from.
    pub source: String,
}

/// Valid reporting settings of a tenant.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Minimum sample, 1..=10,000.
    pub minimum_sample: i64,
    /// Objective of channels without an override.
    pub default_service_level: ServiceLevelObjective,
    /// Per-channel objectives.
    pub channel_service_levels: BTreeMap<Channel, ServiceLevelObjective>,
    /// Targets (at most one per metric and scope).
    pub targets: Vec<Target>,
    /// Industry references, one per metric.
    pub industry_references: BTreeMap<Metric, IndustryReference>,
    /// The tenant's time zone (from sampling's feed, not writable here).
    pub time_zone: Tz,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            minimum_sample: DEFAULT_MINIMUM_SAMPLE,
            default_service_level: ServiceLevelObjective::default(),
            channel_service_levels: BTreeMap::new(),
            targets: Vec::new(),
            industry_references: BTreeMap::new(),
            time_zone: Tz::UTC,
        }
    }
}

/// A service-level objective as sent.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ObjectiveDraft {
    /// Threshold in ms; `None` when unset.
    pub threshold_ms: Option<i64>,
    /// Target share.
    pub target_share: f64,
}

/// A target as sent (`None` = unspecified enum).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TargetDraft {
    /// `metric`.
    pub metric: Option<Metric>,
    /// `value`.
    pub value: f64,
    /// `comparison`.
    pub comparator: Option<Comparator>,
    /// `dimension`.
    pub dimension: Option<Dimension>,
    /// `group_id`.
    pub group_id: String,
}

/// An industry reference as sent.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReferenceDraft {
    /// `metric`.
    pub metric: Option<Metric>,
    /// `value`.
    pub value: f64,
    /// `source`.
    pub source: String,
}

/// The writable settings as sent.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SettingsDraft {
    /// `minimum_sample`.
    pub minimum_sample: i64,
    /// `default_service_level`; `None` when absent.
    pub default_service_level: Option<ObjectiveDraft>,
    /// `channel_service_levels` as (channel, objective).
    pub channel_service_levels: Vec<(Option<Channel>, Option<ObjectiveDraft>)>,
    /// `targets`.
    pub targets: Vec<TargetDraft>,
    /// `industry_references`.
    pub industry_references: Vec<ReferenceDraft>,
}

/// The field-mask paths UpdateSettings accepts.
pub const WRITABLE_PATHS: [&str; 5] = [
    "minimum_sample",
    "default_service_level",
    "channel_service_levels",
    "targets",
    "industry_references",
];

impl SettingsDraft {
    /// Copies from `update` the fields named in `paths` (all writable fields
    /// when `paths` is empty). Unknown paths are violations of
    /// `update_mask.paths[i]`.
    pub fn merge_masked(
        mut self,
        update: SettingsDraft,
        paths: &[String],
    ) -> Result<SettingsDraft, Violations> {
        if paths.is_empty() {
            return Ok(update);
        }
        let mut v = Violations::new();
        for (i, p) in paths.iter().enumerate() {
            match p.as_str() {
                "minimum_sample" => self.minimum_sample = update.minimum_sample,
                "default_service_level" => {
                    self.default_service_level = update.default_service_level
                }
                "channel_service_levels" => {
                    self.channel_service_levels = update.channel_service_levels.clone()
                }
                "targets" => self.targets = update.targets.clone(),
                "industry_references" => {
                    self.industry_references = update.industry_references.clone()
                }
                other => v.push(
                    format!("update_mask.paths[{i}]"),
                    format!(
                        "unknown or read-only field {other:?}; writable: {}",
                        WRITABLE_PATHS.join(", ")
                    ),
                ),
            }
        }
        v.into_result(self)
    }
}

fn parse_objective(d: Option<ObjectiveDraft>) -> Result<ServiceLevelObjective, Violations> {
    let mut v = Violations::new();
    let Some(d) = d else {
        return Err(Violations::one("", "is required"));
    };
    let threshold_ms = match d.threshold_ms {
        None => {
            v.push("threshold", "is required");
            0
        }
        Some(ms) if !(1_000..=MAX_THRESHOLD_MS).contains(&ms) => {
            v.push("threshold", "must be between 1 second and 7 days");
            0
        }
        Some(ms) if ms % 1_000 != 0 => {
            v.push("threshold", "must be whole seconds");
            0
        }
        Some(ms) => ms,
    };
    if !(d.target_share.is_finite() && d.target_share > 0.0 && d.target_share <= 1.0) {
        v.push("target_share", "must be greater than 0 and at most 1");
    }
    v.into_result(ServiceLevelObjective {
        threshold_ms,
        target_share: d.target_share,
    })
}

fn natural_comparator(metric: Metric) -> Comparator {
    match metric.better() {
        Better::Lower => Comparator::AtMost,
        Better::Higher | Better::Neither => Comparator::AtLeast,
    }
}

fn check_value(metric: Option<Metric>, value: f64, v: &mut Violations) {
    if !value.is_finite() {
        v.push("value", "must be a finite number");
    } else if let Some(m) = metric {
        let (lo, hi) = m.range();
        if value < lo || value > hi {
            v.push(
                "value",
                format!("must be between {lo} and {hi} for {}", m.name()),
            );
        }
    }
}

fn parse_target(d: &TargetDraft) -> Result<Target, Violations> {
    let mut v = Violations::new();
    if d.metric.is_none() {
        v.push("metric", "is required");
    }
    check_value(d.metric, d.value, &mut v);
    let scope = match d.dimension {
        None => {
            if !d.group_id.is_empty() {
                v.push("group_id", "must be empty when no dimension is given");
            }
            TargetScope::All
        }
        Some(Dimension::Center) => {
            if !d.group_id.is_empty() {
                v.push("group_id", "must be empty for DIMENSION_CENTER");
            }
            TargetScope::Group(Dimension::Center, String::new())
        }
        Some(dim) => match parse_id(&d.group_id) {
            Ok(id) => TargetScope::Group(dim, id),
            Err(e) => {
                v.extend_prefixed("group_id", e);
                TargetScope::All
            }
        },
    };
    let metric = d.metric.unwrap_or(Metric::QualityScore);
    v.into_result(Target {
        metric,
        value: d.value,
        comparator: d.comparator.unwrap_or(natural_comparator(metric)),
        scope,
    })
}

impl Settings {
    /// Validates a draft; `time_zone` is kept as given (it is not writable).
    pub fn parse(d: &SettingsDraft, time_zone: Tz) -> Result<Settings, Violations> {
        let mut v = Violations::new();
        if !(1..=MAX_MINIMUM_SAMPLE).contains(&d.minimum_sample) {
            v.push(
                "minimum_sample",
                format!("must be between 1 and {MAX_MINIMUM_SAMPLE}"),
            );
        }
        let default_service_level = v
            .take(
                "default_service_level",
                parse_objective(d.default_service_level),
            )
            .unwrap_or_default();
        let mut channel_service_levels = BTreeMap::new();
        let mut seen_channels = BTreeSet::new();
        for (i, (channel, objective)) in d.channel_service_levels.iter().enumerate() {
            let field = format!("channel_service_levels[{i}]");
            let objective = v.take(&format!("{field}.objective"), parse_objective(*objective));
            match channel {
                None => v.push(format!("{field}.channel"), "is required"),
                Some(c) if !seen_channels.insert(*c) => {
                    v.push(
                        format!("{field}.channel"),
                        format!("{} is listed twice", c.name()),
                    );
                }
                Some(c) => {
                    if let Some(o) = objective {
                        channel_service_levels.insert(*c, o);
                    }
                }
            }
        }
        if d.targets.len() > MAX_TARGETS {
            v.push("targets", format!("at most {MAX_TARGETS} targets"));
        }
        let mut targets = Vec::new();
        let mut seen = BTreeSet::new();
        for (i, t) in d.targets.iter().enumerate() {
            if let Some(t) = v.take(&format!("targets[{i}]"), parse_target(t)) {
                if !seen.insert((t.metric, t.scope.clone())) {
                    v.push(
                        format!("targets[{i}]"),
                        "duplicates an earlier target for the same metric and group",
                    );
                }
                targets.push(t);
            }
        }
        let mut industry_references = BTreeMap::new();
        for (i, r) in d.industry_references.iter().enumerate() {
            let field = format!("industry_references[{i}]");
            let mut rv = Violations::new();
            check_value(r.metric, r.value, &mut rv);
            if r.source.chars().count() > MAX_SOURCE_CHARS {
                rv.push(
                    "source",
                    format!("must be at most {MAX_SOURCE_CHARS} characters"),
                );
            }
            match r.metric {
                None => rv.push("metric", "is required"),
                Some(m) if industry_references.contains_key(&m) => {
                    rv.push("metric", format!("{} has a reference already", m.name()));
                }
                Some(m) if rv.is_empty() => {
                    industry_references.insert(
                        m,
                        IndustryReference {
                            metric: m,
                            value: r.value,
                            source: r.source.trim().to_owned(),
                        },
                    );
                }
                Some(_) => {}
            }
            v.extend_prefixed(&field, rv);
        }
        v.into_result(Settings {
            minimum_sample: d.minimum_sample,
            default_service_level,
            channel_service_levels,
            targets,
            industry_references,
            time_zone,
        })
    }

    /// The writable fields as a draft (to merge a masked update into).
    pub fn to_draft(&self) -> SettingsDraft {
        let objective = |o: &ServiceLevelObjective| ObjectiveDraft {
            threshold_ms: Some(o.threshold_ms),
            target_share: o.target_share,
        };
        SettingsDraft {
            minimum_sample: self.minimum_sample,
            default_service_level: Some(objective(&self.default_service_level)),
            channel_service_levels: self
                .channel_service_levels
                .iter()
                .map(|(c, o)| (Some(*c), Some(objective(o))))
                .collect(),
            targets: self
                .targets
                .iter()
                .map(|t| {
                    let (dimension, group_id) = match &t.scope {
                        TargetScope::All => (None, String::new()),
                        TargetScope::Group(d, id) => (Some(*d), id.clone()),
                    };
                    TargetDraft {
                        metric: Some(t.metric),
                        value: t.value,
                        comparator: Some(t.comparator),
                        dimension,
                        group_id,
                    }
                })
                .collect(),
            industry_references: self
                .industry_references
                .values()
                .map(|r| ReferenceDraft {
                    metric: Some(r.metric),
                    value: r.value,
                    source: r.source.clone(),
                })
                .collect(),
        }
    }

    /// Thresholds for rollups.
    pub fn service_level_thresholds(&self) -> ServiceLevelThresholds {
        ServiceLevelThresholds {
            default_ms: self.default_service_level.threshold_ms,
            by_channel: self
                .channel_service_levels
                .iter()
                .map(|(c, o)| (*c, o.threshold_ms))
                .collect(),
        }
    }

    /// The context rollups are computed in.
    pub fn rollup_context(&self) -> RollupContext {
        RollupContext {
            time_zone: self.time_zone,
            service_level: self.service_level_thresholds(),
        }
    }

    /// The service-level target as a target of `Metric::ServiceLevel`, used
    /// when no explicit service-level target exists.
    pub fn implied_service_level_target(&self) -> Target {
        Target {
            metric: Metric::ServiceLevel,
            value: self.default_service_level.target_share,
            comparator: Comparator::AtLeast,
            scope: TargetScope::All,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(e: &Violations) -> Vec<&str> {
        e.as_slice().iter().map(|v| v.field.as_str()).collect()
    }

    #[test]
    fn defaults_round_trip() {
        let s = Settings::default();
        assert_eq!(Settings::parse(&s.to_draft(), Tz::UTC), Ok(s.clone()));
        assert_eq!(s.minimum_sample, 10);
        assert_eq!(
            s.service_level_thresholds().threshold_ms(Channel::Email),
            20_000
        );
    }

    #[test]
    fn a_full_valid_draft() {
        let d = SettingsDraft {
            minimum_sample: 30,
            default_service_level: Some(ObjectiveDraft {
                threshold_ms: Some(20_000),
                target_share: 0.8,
            }),
            channel_service_levels: vec![
                (
                    Some(Channel::Chat),
                    Some(ObjectiveDraft {
                        threshold_ms: Some(60_000),
                        target_share: 0.8,
                    }),
                ),
                (
                    Some(Channel::Email),
                    Some(ObjectiveDraft {
                        threshold_ms: Some(86_400_000),
                        target_share: 0.9,
                    }),
                ),
            ],
            targets: vec![
                TargetDraft {
                    metric: Some(Metric::QualityScore),
                    value: 85.0,
                    ..TargetDraft::default()
                },
                TargetDraft {
                    metric: Some(Metric::AverageHandleTime),
                    value: 360.0,
                    ..TargetDraft::default()
                },
                TargetDraft {
                    metric: Some(Metric::QualityScore),
                    value: 90.0,
                    dimension: Some(Dimension::Team),
                    group_id: "t1".into(),
                    ..TargetDraft::default()
                },
            ],
            industry_references: vec![ReferenceDraft {
                metric: Some(Metric::FirstContactResolution),
                value: 0.7,
                source: " Benchmark study 2025 ".into(),
            }],
        };
        let s = Settings::parse(&d, Tz::Europe__Paris).unwrap();
        assert_eq!(
            s.targets[1].comparator,
            Comparator::AtMost,
            "AHT: lower is better"
        );
        assert_eq!(s.targets[0].comparator, Comparator::AtLeast);
        assert_eq!(
            s.service_level_thresholds().threshold_ms(Channel::Chat),
            60_000
        );
        assert_eq!(s.rollup_context().time_zone, Tz::Europe__Paris);
        assert_eq!(
            s.industry_references[&Metric::FirstContactResolution].source,
            "Benchmark study 2025"
        );
        assert_eq!(Settings::parse(&s.to_draft(), Tz::Europe__Paris), Ok(s));
    }

    #[test]
    fn every_bad_field_is_reported() {
        let d = SettingsDraft {
            minimum_sample: 0,
            default_service_level: Some(ObjectiveDraft {
                threshold_ms: Some(500),
                target_share: 1.5,
            }),
            channel_service_levels: vec![
                (
                    None,
                    Some(ObjectiveDraft {
                        threshold_ms: Some(20_000),
                        target_share: 0.8,
                    }),
                ),
                (
                    Some(Channel::Chat),
                    Some(ObjectiveDraft {
                        threshold_ms: Some(20_500),
                        target_share: 0.8,
                    }),
                ),
                (Some(Channel::Chat), None),
            ],
            targets: vec![
                TargetDraft {
                    metric: None,
                    value: f64::NAN,
                    ..TargetDraft::default()
                },
                TargetDraft {
                    metric: Some(Metric::Nps),
                    value: 150.0,
                    ..TargetDraft::default()
                },
                TargetDraft {
                    metric: Some(Metric::Csat),
                    value: 0.9,
                    dimension: Some(Dimension::Agent),
                    ..TargetDraft::default()
                },
                TargetDraft {
                    metric: Some(Metric::Csat),
                    value: 0.9,
                    group_id: "x".into(),
                    ..TargetDraft::default()
                },
                TargetDraft {
                    metric: Some(Metric::PassRate),
                    value: 0.9,
                    ..TargetDraft::default()
                },
                TargetDraft {
                    metric: Some(Metric::PassRate),
                    value: 0.8,
                    ..TargetDraft::default()
                },
            ],
            industry_references: vec![
                ReferenceDraft {
                    metric: Some(Metric::Csat),
                    value: 0.8,
                    source: "x".repeat(201),
                },
                ReferenceDraft {
                    metric: None,
                    value: 1.0,
                    source: String::new(),
                },
            ],
        };
        let e = Settings::parse(&d, Tz::UTC).unwrap_err();
        assert_eq!(
            fields(&e),
            [
                "minimum_sample",
                "default_service_level.threshold",
                "default_service_level.target_share",
                "channel_service_levels[0].channel",
                "channel_service_levels[1].objective.threshold",
                "channel_service_levels[2].objective",
                "channel_service_levels[2].channel",
                "targets[0].metric",
                "targets[0].value",
                "targets[1].value",
                "targets[2].group_id",
                "targets[3].group_id",
                "targets[5]",
                "industry_references[0].source",
                "industry_references[1].metric",
            ]
        );
    }

    #[test]
    fn masked_updates() {
        let current = Settings::default().to_draft();
        let update = SettingsDraft {
            minimum_sample: 25,
            ..SettingsDraft::default()
        };
        let merged = current
            .clone()
            .merge_masked(update.clone(), &["minimum_sample".into()])
            .unwrap();
        let s = Settings::parse(&merged, Tz::UTC).unwrap();
        assert_eq!(s.minimum_sample, 25);
        assert_eq!(s.default_service_level, ServiceLevelObjective::default());
        // No mask: the whole draft, so a missing objective is an error.
        let whole = current.clone().merge_masked(update.clone(), &[]).unwrap();
        assert!(Settings::parse(&whole, Tz::UTC).is_err());
        let e = current
            .merge_masked(update, &["time_zone".into()])
            .unwrap_err();
        assert_eq!(fields(&e), ["update_mask.paths[0]"]);
    }
}
