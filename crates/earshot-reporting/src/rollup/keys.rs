//! Rollup keys: which counters a cell holds them for.
//!
//! A key is the date (first, so that a date range is one contiguous index
//! range) followed by the *full* tuple of dimension values the family knows.
//! Keeping the tuple rather than one row per dimension lets one scan serve
//! any grouping with any filter: "per agent, only team T" reads the same
//! rows as "per team", and a supervisor's team restriction applies to every
//! grouping. The tuples are few per day: an agent works in one team, a few
//! queues and one or two channels.
//!
//! | family      | key after the date                                          |
//! |-------------|-------------------------------------------------------------|
//! | interaction | agent, team, queue, channel                                 |
//! | quality     | agent, team, queue, channel, scorecard, evaluator, released |
//! | question    | agent, team, scorecard, question                            |
//!
//! Question cells leave out queue, channel and evaluator to keep their number
//! down (one per agent-day-question); question insights filter by agent and
//! team only.

use chrono::{Datelike, Days, NaiveDate};

use crate::calendar::{Granularity, bucket_start, next_bucket_start};
use crate::dimension::{Channel, Dimension, Filter};

/// The time grain of a stored cell: its date is the first day of the grain.
/// Every grain nests in the next coarser one (a ten-day never straddles a
/// month), which is what lets [`super::cover`] tile any period greedily.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Grain {
    /// One local day.
    Day,
    /// A month-aligned ten-day: days 1–10, 11–20 or 21 to the month's end
    /// (8 to 11 days). It bounds what a partial month costs: at most 9 day
    /// cells and 2 ten-day cells per key instead of up to 30 day cells.
    TenDay,
    /// One calendar month (date = the 1st).
    Month,
    /// One calendar year (date = 1 January).
    Year,
}

impl Grain {
    /// The first day of the grain holding `date`.
    pub fn start_of(self, date: NaiveDate) -> NaiveDate {
        match self {
            Grain::Day => date,
            Grain::TenDay => {
                let first = (date.day().min(21) - 1) / 10 * 10 + 1;
                date.with_day(first).unwrap_or(date)
            }
            Grain::Month => bucket_start(date, Granularity::Month),
            Grain::Year => bucket_start(date, Granularity::Year),
        }
    }

    /// The first day after the grain holding `date` (`NaiveDate::MAX` at
    /// the end of the calendar).
    pub fn next_start(self, date: NaiveDate) -> NaiveDate {
        let start = self.start_of(date);
        match self {
            Grain::Day => next_bucket_start(start, Granularity::Day),
            Grain::TenDay if start.day() < 21 => start
                .checked_add_days(Days::new(10))
                .unwrap_or(NaiveDate::MAX),
            Grain::TenDay | Grain::Month => {
                next_bucket_start(bucket_start(start, Granularity::Month), Granularity::Month)
            }
            Grain::Year => next_bucket_start(start, Granularity::Year),
        }
    }

    /// The last day of the grain holding `date`.
    pub fn end_of(self, date: NaiveDate) -> NaiveDate {
        let next = self.next_start(date);
        if next == NaiveDate::MAX {
            return next;
        }
        next.pred_opt().unwrap_or(next)
    }
}

/// What every rollup key offers to reports.
pub trait CellKey: Ord + Clone + std::fmt::Debug {
    /// The cell's date (the first day of its grain).
    fn date(&self) -> NaiveDate;
    /// The same key at another date.
    fn with_date(&self, date: NaiveDate) -> Self;
    /// The smallest key of a date (for index range scans).
    fn floor(date: NaiveDate) -> Self;
    /// The group id of this key for a dimension (`""` for the center), or
    /// `None` when this family does not know the dimension.
    fn group_id(&self, dimension: Dimension) -> Option<&str>;
    /// True when the key passes the filter. Fields the family does not know
    /// are ignored (the edge rejects them where they would mislead).
    fn passes(&self, filter: &Filter) -> bool;
}

/// Key of an [`super::cells::InteractionCell`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InteractionKey {
    /// Local date (first day of the grain).
    pub date: NaiveDate,
    /// Agent id ("" when none handled it).
    pub agent_id: String,
    /// Team id.
    pub team_id: String,
    /// Queue id.
    pub queue_id: String,
    /// Channel.
    pub channel: Channel,
}

/// Key of a [`super::cells::QualityCell`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct QualityKey {
    /// Local date of the evaluated interaction (first day of the grain).
    pub date: NaiveDate,
    /// Agent evaluated.
    pub agent_id: String,
    /// Their team as of the interaction.
    pub team_id: String,
    /// Queue.
    pub queue_id: String,
    /// Channel.
    pub channel: Channel,
    /// Scorecard.
    pub scorecard_id: String,
    /// Evaluator.
    pub evaluator_id: String,
    /// Released to the agent (agents see only released evaluations).
    pub released: bool,
}

/// Key of a [`super::cells::QuestionCell`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct QuestionKey {
    /// Local date of the evaluated interaction (first day of the grain).
    pub date: NaiveDate,
    /// Agent evaluated.
    pub agent_id: String,
    /// Team.
    pub team_id: String,
    /// Scorecard.
    pub scorecard_id: String,
    /// Question within the scorecard.
    pub question_id: String,
}

impl CellKey for InteractionKey {
    fn date(&self) -> NaiveDate {
        self.date
    }

    fn with_date(&self, date: NaiveDate) -> Self {
        InteractionKey {
            date,
            ..self.clone()
        }
    }

    fn floor(date: NaiveDate) -> Self {
        InteractionKey {
            date,
            agent_id: String::new(),
            team_id: String::new(),
            queue_id: String::new(),
            channel: Channel::Voice,
        }
    }

    fn group_id(&self, dimension: Dimension) -> Option<&str> {
        match dimension {
            Dimension::Center => Some(""),
            Dimension::Agent => Some(&self.agent_id),
            Dimension::Team => Some(&self.team_id),
            Dimension::Queue => Some(&self.queue_id),
            Dimension::Channel => Some(self.channel.name()),
            Dimension::Scorecard | Dimension::Evaluator => None,
        }
    }

    fn passes(&self, f: &Filter) -> bool {
        Filter::allows(&f.agents, &self.agent_id)
            && Filter::allows(&f.teams, &self.team_id)
            && Filter::allows(&f.queues, &self.queue_id)
            && f.allows_channel(self.channel)
    }
}

impl CellKey for QualityKey {
    fn date(&self) -> NaiveDate {
        self.date
    }

    fn with_date(&self, date: NaiveDate) -> Self {
        QualityKey {
            date,
            ..self.clone()
        }
    }

    fn floor(date: NaiveDate) -> Self {
        QualityKey {
            date,
            agent_id: String::new(),
            team_id: String::new(),
            queue_id: String::new(),
            channel: Channel::Voice,
            scorecard_id: String::new(),
            evaluator_id: String::new(),
            released: false,
        }
    }

    fn group_id(&self, dimension: Dimension) -> Option<&str> {
        Some(match dimension {
            Dimension::Center => "",
            Dimension::Agent => &self.agent_id,
            Dimension::Team => &self.team_id,
            Dimension::Queue => &self.queue_id,
            Dimension::Channel => self.channel.name(),
            Dimension::Scorecard => &self.scorecard_id,
            Dimension::Evaluator => &self.evaluator_id,
        })
    }

    fn passes(&self, f: &Filter) -> bool {
        Filter::allows(&f.agents, &self.agent_id)
            && Filter::allows(&f.teams, &self.team_id)
            && Filter::allows(&f.queues, &self.queue_id)
            && f.allows_channel(self.channel)
            && Filter::allows(&f.scorecards, &self.scorecard_id)
            && Filter::allows(&f.evaluators, &self.evaluator_id)
            && (!f.released_only || self.released)
    }
}

impl CellKey for QuestionKey {
    fn date(&self) -> NaiveDate {
        self.date
    }

    fn with_date(&self, date: NaiveDate) -> Self {
        QuestionKey {
            date,
            ..self.clone()
        }
    }

    fn floor(date: NaiveDate) -> Self {
        QuestionKey {
            date,
            agent_id: String::new(),
            team_id: String::new(),
            scorecard_id: String::new(),
            question_id: String::new(),
        }
    }

    fn group_id(&self, dimension: Dimension) -> Option<&str> {
        match dimension {
            Dimension::Center => Some(""),
            Dimension::Agent => Some(&self.agent_id),
            Dimension::Team => Some(&self.team_id),
            Dimension::Scorecard => Some(&self.scorecard_id),
            Dimension::Queue | Dimension::Channel | Dimension::Evaluator => None,
        }
    }

    fn passes(&self, f: &Filter) -> bool {
        Filter::allows(&f.agents, &self.agent_id)
            && Filter::allows(&f.teams, &self.team_id)
            && Filter::allows(&f.scorecards, &self.scorecard_id)
    }
}
