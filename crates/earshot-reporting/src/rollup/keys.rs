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
//! | quality summary | agent, team, queue, channel, scorecard, released        |
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
    /// One calendar quarter (date = 1 January, April, July or October). A
    /// 90-day report ending on a quarter's last day reads one cell per key
    /// for it, and a year four instead of twelve.
    Quarter,
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
            Grain::Quarter => bucket_start(date, Granularity::Quarter),
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
            Grain::Quarter => next_bucket_start(start, Granularity::Quarter),
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
    /// The key's dimension values, borrowed.
    fn parts(&self) -> KeyParts<'_>;
    /// The group id of this key for a dimension (`""` for the center), or
    /// `None` when this family does not know the dimension.
    fn group_id(&self, dimension: Dimension) -> Option<&str> {
        self.parts().group_id(dimension)
    }
    /// True when the key passes the filter. Fields the family does not know
    /// are ignored (the edge rejects them where they would mislead).
    fn passes(&self, filter: &Filter) -> bool {
        self.parts().passes(filter)
    }
}

/// The dimension values of a key, borrowed from the key or from its stored
/// form (so a report can filter and group stored cells without building
/// owned keys). `None`: the family does not know the dimension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyParts<'a> {
    /// Agent.
    pub agent_id: &'a str,
    /// Team.
    pub team_id: &'a str,
    /// Queue.
    pub queue_id: Option<&'a str>,
    /// Channel.
    pub channel: Option<Channel>,
    /// Scorecard.
    pub scorecard_id: Option<&'a str>,
    /// Evaluator.
    pub evaluator_id: Option<&'a str>,
    /// Released to the agent.
    pub released: Option<bool>,
}

impl<'a> KeyParts<'a> {
    /// The group id for a dimension (`""` for the center), or `None` when
    /// the family does not know the dimension.
    pub fn group_id(&self, dimension: Dimension) -> Option<&'a str> {
        match dimension {
            Dimension::Center => Some(""),
            Dimension::Agent => Some(self.agent_id),
            Dimension::Team => Some(self.team_id),
            Dimension::Queue => self.queue_id,
            Dimension::Channel => self.channel.map(Channel::name),
            Dimension::Scorecard => self.scorecard_id,
            Dimension::Evaluator => self.evaluator_id,
        }
    }

    /// True when these values pass the filter; a dimension the family does
    /// not know is not filtered on.
    pub fn passes(&self, f: &Filter) -> bool {
        Filter::allows(&f.agents, self.agent_id)
            && Filter::allows(&f.teams, self.team_id)
            && self.queue_id.is_none_or(|q| Filter::allows(&f.queues, q))
            && self.channel.is_none_or(|c| f.allows_channel(c))
            && self
                .scorecard_id
                .is_none_or(|s| Filter::allows(&f.scorecards, s))
            && self
                .evaluator_id
                .is_none_or(|e| Filter::allows(&f.evaluators, e))
            && self.released.is_none_or(|r| !f.released_only || r)
    }
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

/// Key of the quality projection: a [`QualityKey`] without the evaluator.
/// Its cells merge the evaluations of every evaluator (about 3,300 a month
/// for 2,000 agents instead of one per evaluation), and every report that
/// neither groups nor filters by evaluator reads them instead.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct QualitySummaryKey {
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
    /// Released to the agent.
    pub released: bool,
}

impl QualitySummaryKey {
    /// The projection of a quality key.
    pub fn of(k: &QualityKey) -> Self {
        QualitySummaryKey {
            date: k.date,
            agent_id: k.agent_id.clone(),
            team_id: k.team_id.clone(),
            queue_id: k.queue_id.clone(),
            channel: k.channel,
            scorecard_id: k.scorecard_id.clone(),
            released: k.released,
        }
    }

    /// True when a quality report grouped by `dimension` with `filter` can
    /// read the projection: it neither groups nor filters by evaluator.
    pub fn serves(dimension: Dimension, filter: &Filter) -> bool {
        dimension != Dimension::Evaluator && filter.evaluators.is_empty()
    }
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

    fn parts(&self) -> KeyParts<'_> {
        KeyParts {
            agent_id: &self.agent_id,
            team_id: &self.team_id,
            queue_id: Some(&self.queue_id),
            channel: Some(self.channel),
            scorecard_id: None,
            evaluator_id: None,
            released: None,
        }
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

    fn parts(&self) -> KeyParts<'_> {
        KeyParts {
            agent_id: &self.agent_id,
            team_id: &self.team_id,
            queue_id: Some(&self.queue_id),
            channel: Some(self.channel),
            scorecard_id: Some(&self.scorecard_id),
            evaluator_id: Some(&self.evaluator_id),
            released: Some(self.released),
        }
    }
}

impl CellKey for QualitySummaryKey {
    fn date(&self) -> NaiveDate {
        self.date
    }

    fn with_date(&self, date: NaiveDate) -> Self {
        QualitySummaryKey {
            date,
            ..self.clone()
        }
    }

    fn floor(date: NaiveDate) -> Self {
        QualitySummaryKey {
            date,
            agent_id: String::new(),
            team_id: String::new(),
            queue_id: String::new(),
            channel: Channel::Voice,
            scorecard_id: String::new(),
            released: false,
        }
    }

    fn parts(&self) -> KeyParts<'_> {
        KeyParts {
            agent_id: &self.agent_id,
            team_id: &self.team_id,
            queue_id: Some(&self.queue_id),
            channel: Some(self.channel),
            scorecard_id: Some(&self.scorecard_id),
            evaluator_id: None,
            released: Some(self.released),
        }
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

    fn parts(&self) -> KeyParts<'_> {
        KeyParts {
            agent_id: &self.agent_id,
            team_id: &self.team_id,
            queue_id: None,
            channel: None,
            scorecard_id: Some(&self.scorecard_id),
            evaluator_id: None,
            released: None,
        }
    }
}
