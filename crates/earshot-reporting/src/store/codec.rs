//! Compact encodings of rollup keys and cells for the `cells` table.
//!
//! Cells are read by the tens of thousands per report, so they are stored
//! as little-endian integers in a fixed order rather than as text: decoding
//! is a copy. Keys are the dimension tuple joined by U+001F (ids never hold
//! control characters: facts are validated before they are applied).

use std::collections::BTreeMap;

use chrono::NaiveDate;

use crate::dimension::Channel;
use crate::rollup::cells::{ComplaintTally, InteractionCell, QualityCell, QuestionCell};
use crate::rollup::keys::{
    Grain, InteractionKey, KeyParts, QualityKey, QualitySummaryKey, QuestionKey,
};
use crate::stats::{Moments, ScoreHistogram};

const SEP: char = '\u{1f}';

/// Days since 1970-01-01.
pub fn day_number(d: NaiveDate) -> i32 {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or(NaiveDate::MIN);
    i32::try_from(d.signed_duration_since(epoch).num_days()).unwrap_or(i32::MAX)
}

/// The date of a day number.
pub fn day_date(n: i32) -> NaiveDate {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or(NaiveDate::MIN);
    if n >= 0 {
        epoch + chrono::Days::new(u64::from(n.unsigned_abs()))
    } else {
        epoch - chrono::Days::new(u64::from(n.unsigned_abs()))
    }
}

/// The stored number of a grain.
pub fn grain_code(g: Grain) -> i16 {
    match g {
        Grain::Day => 0,
        Grain::Month => 1,
        Grain::Year => 2,
        Grain::TenDay => 3,
        Grain::Quarter => 4,
    }
}

fn channel_code(c: Channel) -> &'static str {
    match c {
        Channel::Voice => "0",
        Channel::Chat => "1",
        Channel::Email => "2",
        Channel::Social => "3",
        Channel::Messaging => "4",
        Channel::Video => "5",
    }
}

fn channel_of(s: &str) -> Option<Channel> {
    Some(match s {
        "0" => Channel::Voice,
        "1" => Channel::Chat,
        "2" => Channel::Email,
        "3" => Channel::Social,
        "4" => Channel::Messaging,
        "5" => Channel::Video,
        _ => return None,
    })
}

/// A key that can be stored: its tuple without the date.
pub trait StoredKey: Sized {
    /// The family number in the `cells` table.
    const FAMILY: i16;
    /// The tuple as stored.
    fn encode(&self) -> String;
    /// The key back from its date and tuple; `None` when malformed.
    fn decode(date: NaiveDate, s: &str) -> Option<Self>;
    /// The dimension values of a stored tuple, borrowed from it; `None`
    /// when malformed. Equal to `decode(..).parts()`.
    fn parts_of(s: &str) -> Option<KeyParts<'_>>;
}

impl StoredKey for InteractionKey {
    const FAMILY: i16 = 0;
    fn encode(&self) -> String {
        [
            self.agent_id.as_str(),
            &self.team_id,
            &self.queue_id,
            channel_code(self.channel),
        ]
        .join(&SEP.to_string())
    }
    fn decode(date: NaiveDate, s: &str) -> Option<Self> {
        let mut p = s.split(SEP);
        Some(InteractionKey {
            date,
            agent_id: p.next()?.to_owned(),
            team_id: p.next()?.to_owned(),
            queue_id: p.next()?.to_owned(),
            channel: channel_of(p.next()?)?,
        })
    }
    fn parts_of(s: &str) -> Option<KeyParts<'_>> {
        let mut p = s.split(SEP);
        Some(KeyParts {
            agent_id: p.next()?,
            team_id: p.next()?,
            queue_id: Some(p.next()?),
            channel: Some(channel_of(p.next()?)?),
            scorecard_id: None,
            evaluator_id: None,
            released: None,
        })
    }
}

impl StoredKey for QualityKey {
    const FAMILY: i16 = 1;
    fn encode(&self) -> String {
        [
            self.agent_id.as_str(),
            &self.team_id,
            &self.queue_id,
            channel_code(self.channel),
            &self.scorecard_id,
            &self.evaluator_id,
            if self.released { "1" } else { "0" },
        ]
        .join(&SEP.to_string())
    }
    fn decode(date: NaiveDate, s: &str) -> Option<Self> {
        let mut p = s.split(SEP);
        Some(QualityKey {
            date,
            agent_id: p.next()?.to_owned(),
            team_id: p.next()?.to_owned(),
            queue_id: p.next()?.to_owned(),
            channel: channel_of(p.next()?)?,
            scorecard_id: p.next()?.to_owned(),
            evaluator_id: p.next()?.to_owned(),
            released: p.next()? == "1",
        })
    }
    fn parts_of(s: &str) -> Option<KeyParts<'_>> {
        let mut p = s.split(SEP);
        Some(KeyParts {
            agent_id: p.next()?,
            team_id: p.next()?,
            queue_id: Some(p.next()?),
            channel: Some(channel_of(p.next()?)?),
            scorecard_id: Some(p.next()?),
            evaluator_id: Some(p.next()?),
            released: Some(p.next()? == "1"),
        })
    }
}

impl StoredKey for QualitySummaryKey {
    const FAMILY: i16 = 3;
    fn encode(&self) -> String {
        [
            self.agent_id.as_str(),
            &self.team_id,
            &self.queue_id,
            channel_code(self.channel),
            &self.scorecard_id,
            if self.released { "1" } else { "0" },
        ]
        .join(&SEP.to_string())
    }
    fn decode(date: NaiveDate, s: &str) -> Option<Self> {
        let mut p = s.split(SEP);
        Some(QualitySummaryKey {
            date,
            agent_id: p.next()?.to_owned(),
            team_id: p.next()?.to_owned(),
            queue_id: p.next()?.to_owned(),
            channel: channel_of(p.next()?)?,
            scorecard_id: p.next()?.to_owned(),
            released: p.next()? == "1",
        })
    }
    fn parts_of(s: &str) -> Option<KeyParts<'_>> {
        let mut p = s.split(SEP);
        Some(KeyParts {
            agent_id: p.next()?,
            team_id: p.next()?,
            queue_id: Some(p.next()?),
            channel: Some(channel_of(p.next()?)?),
            scorecard_id: Some(p.next()?),
            evaluator_id: None,
            released: Some(p.next()? == "1"),
        })
    }
}

impl StoredKey for QuestionKey {
    const FAMILY: i16 = 2;
    fn encode(&self) -> String {
        [
            self.agent_id.as_str(),
            &self.team_id,
            &self.scorecard_id,
            &self.question_id,
        ]
        .join(&SEP.to_string())
    }
    fn decode(date: NaiveDate, s: &str) -> Option<Self> {
        let mut p = s.split(SEP);
        Some(QuestionKey {
            date,
            agent_id: p.next()?.to_owned(),
            team_id: p.next()?.to_owned(),
            scorecard_id: p.next()?.to_owned(),
            question_id: p.next()?.to_owned(),
        })
    }
    fn parts_of(s: &str) -> Option<KeyParts<'_>> {
        let mut p = s.split(SEP);
        let parts = KeyParts {
            agent_id: p.next()?,
            team_id: p.next()?,
            queue_id: None,
            channel: None,
            scorecard_id: Some(p.next()?),
            evaluator_id: None,
            released: None,
        };
        p.next()?; // the question, as `decode` requires it
        Some(parts)
    }
}

#[derive(Default)]
struct Writer(Vec<u8>);

impl Writer {
    fn i(&mut self, v: i64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn wide(&mut self, v: i128) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn m(&mut self, m: &Moments) {
        self.i(m.count);
        self.i(m.sum);
        self.wide(m.sum_sq);
    }
    fn s(&mut self, s: &str) {
        self.i(i64::try_from(s.len()).unwrap_or(0));
        self.0.extend_from_slice(s.as_bytes());
    }
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.0.split_first_chunk::<N>()?;
        self.0 = rest;
        Some(*head)
    }
    fn i(&mut self) -> Option<i64> {
        self.take::<8>().map(i64::from_le_bytes)
    }
    fn wide(&mut self) -> Option<i128> {
        self.take::<16>().map(i128::from_le_bytes)
    }
    fn m(&mut self) -> Option<Moments> {
        Some(Moments {
            count: self.i()?,
            sum: self.i()?,
            sum_sq: self.wide()?,
        })
    }
    fn arr<const N: usize>(&mut self) -> Option<[i64; N]> {
        let mut a = [0; N];
        for x in &mut a {
            *x = self.i()?;
        }
        Some(a)
    }
    fn s(&mut self) -> Option<String> {
        let n = usize::try_from(self.i()?).ok()?;
        if n > self.0.len() {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        String::from_utf8(head.to_vec()).ok()
    }
}

/// A cell that can be stored.
pub trait StoredCell: Sized {
    /// The counters as bytes.
    fn encode(&self) -> Vec<u8>;
    /// The cell back; `None` when malformed.
    fn decode(b: &[u8]) -> Option<Self>;
}

impl StoredCell for QualityCell {
    fn encode(&self) -> Vec<u8> {
        let mut w = Writer::default();
        w.m(&self.scores);
        w.i(self.passed);
        w.i(self.critical_failures);
        for x in self.histogram.0 {
            w.i(x);
        }
        w.0
    }
    fn decode(b: &[u8]) -> Option<Self> {
        let mut r = Reader(b);
        Some(QualityCell {
            scores: r.m()?,
            passed: r.i()?,
            critical_failures: r.i()?,
            histogram: ScoreHistogram(r.arr()?),
        })
    }
}

impl StoredCell for InteractionCell {
    fn encode(&self) -> Vec<u8> {
        let mut w = Writer::default();
        for x in [
            self.interactions,
            self.offered,
            self.abandoned,
            self.answered_within_threshold,
        ] {
            w.i(x);
        }
        for m in [
            &self.speed_of_answer,
            &self.handle,
            &self.talk,
            &self.hold,
            &self.after_call_work,
        ] {
            w.m(m);
        }
        for x in [
            self.transferred,
            self.fcr_known,
            self.fcr_resolved,
            self.evaluated,
            self.surveys_sent,
            self.surveys_answered,
        ] {
            w.i(x);
        }
        for x in self.csat.iter().chain(self.nps.iter()) {
            w.i(*x);
        }
        w.i(self.with_complaint);
        w.i(i64::try_from(self.complaints.len()).unwrap_or(0));
        for (k, t) in &self.complaints {
            w.s(k);
            w.i(t.count);
            w.i(t.resolved);
        }
        w.0
    }
    fn decode(b: &[u8]) -> Option<Self> {
        let mut r = Reader(b);
        let mut c = InteractionCell {
            interactions: r.i()?,
            offered: r.i()?,
            abandoned: r.i()?,
            answered_within_threshold: r.i()?,
            speed_of_answer: r.m()?,
            handle: r.m()?,
            talk: r.m()?,
            hold: r.m()?,
            after_call_work: r.m()?,
            transferred: r.i()?,
            fcr_known: r.i()?,
            fcr_resolved: r.i()?,
            evaluated: r.i()?,
            surveys_sent: r.i()?,
            surveys_answered: r.i()?,
            csat: r.arr()?,
            nps: r.arr()?,
            with_complaint: r.i()?,
            complaints: BTreeMap::new(),
        };
        let n = r.i()?;
        for _ in 0..n {
            let k = r.s()?;
            let count = r.i()?;
            let resolved = r.i()?;
            c.complaints.insert(k, ComplaintTally { count, resolved });
        }
        Some(c)
    }
}

impl StoredCell for QuestionCell {
    fn encode(&self) -> Vec<u8> {
        let mut w = Writer::default();
        w.i(self.passed);
        w.i(self.failed);
        w.i(self.not_applicable);
        for r in 0..2 {
            for x in self.csat[r].iter().chain(&self.nps[r]).chain(&self.fcr[r]) {
                w.i(*x);
            }
        }
        w.0
    }
    fn decode(b: &[u8]) -> Option<Self> {
        let mut rd = Reader(b);
        let mut c = QuestionCell {
            passed: rd.i()?,
            failed: rd.i()?,
            not_applicable: rd.i()?,
            ..QuestionCell::default()
        };
        for r in 0..2 {
            c.csat[r] = rd.arr()?;
            c.nps[r] = rd.arr()?;
            c.fcr[r] = rd.arr()?;
        }
        Some(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rollup::keys::CellKey;
    use proptest::prelude::*;

    fn id() -> impl Strategy<Value = String> {
        "[a-z0-9é-]{0,6}"
    }

    fn channel() -> impl Strategy<Value = Channel> {
        (0usize..6).prop_map(|i| Channel::ALL[i])
    }

    fn date() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, 1).unwrap_or(NaiveDate::MIN)
    }

    proptest! {
        /// Reading a stored tuple's parts in place gives what decoding the
        /// key and asking its parts gives, for every family.
        #[test]
        fn parts_of_a_stored_key_equal_the_decoded_keys(
            (a, t, q, s, e, x) in (id(), id(), id(), id(), id(), id()),
            c in channel(),
            released: bool,
        ) {
            let k = InteractionKey { date: date(), agent_id: a.clone(), team_id: t.clone(), queue_id: q.clone(), channel: c };
            let stored = k.encode();
            prop_assert_eq!(InteractionKey::parts_of(&stored), Some(k.parts()));
            let k = QualityKey {
                date: date(), agent_id: a.clone(), team_id: t.clone(), queue_id: q, channel: c,
                scorecard_id: s.clone(), evaluator_id: e, released,
            };
            let stored = k.encode();
            prop_assert_eq!(QualityKey::parts_of(&stored), Some(k.parts()));
            let summary = QualitySummaryKey::of(&k);
            let stored = summary.encode();
            prop_assert_eq!(QualitySummaryKey::parts_of(&stored), Some(summary.parts()));
            prop_assert_eq!(QualitySummaryKey::decode(date(), &stored), Some(summary));
            let k = QuestionKey { date: date(), agent_id: a, team_id: t, scorecard_id: s, question_id: x };
            let stored = k.encode();
            prop_assert_eq!(QuestionKey::parts_of(&stored), Some(k.parts()));
            // A truncated tuple is malformed for both.
            let cut = &stored[..stored.rfind(SEP).unwrap_or(0)];
            prop_assert!(QuestionKey::decode(date(), cut).is_none());
            prop_assert!(QuestionKey::parts_of(cut).is_none());
        }
    }
}
