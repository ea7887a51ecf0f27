//! A generated contact center: teams, agents and a month of voice, chat and
//! email interactions with realistic durations, survey answers, repeat
//! contacts and complaints — a pure function of the seed and the month.

use std::{
    fmt::Write as _,
    hash::{Hash as _, Hasher as _},
};

use earshot_proto::common::v1::{Answer, answer};

/// SplitMix64: small, fast, and the same on every platform and version.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9e37_79b9_7f4a_7c15)
    }

    /// A generator for `key` under `seed`: the same key always draws the
    /// same numbers, whatever order things happen in.
    pub fn keyed(seed: u64, key: &str) -> Rng {
        let mut h = std::hash::DefaultHasher::new();
        seed.hash(&mut h);
        key.hash(&mut h);
        Rng::new(h.finish())
    }

    /// The next 64 bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.f64() < p
    }

    /// Uniform in [lo, hi).
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.f64()
    }

    /// An index below `n` (n > 0).
    pub fn index(&mut self, n: usize) -> usize {
        ((self.f64() * n as f64) as usize).min(n.saturating_sub(1))
    }

    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = self.f64().max(1e-12);
        let u2 = self.f64();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// Log-normal with this median and shape: handle times are skewed.
    pub fn lognormal(&mut self, median: f64, sigma: f64) -> f64 {
        median * (sigma * self.normal()).exp()
    }
}

/// How big a center to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Size {
    /// 2 teams of 3 agents, a few contacts a day each (for tests).
    Small,
    /// 3 teams of 5 agents, about 5,000 contacts.
    Standard,
    /// 3 teams of 10 agents, about 25,000 contacts.
    Large,
}

impl Size {
    fn shape(self) -> (usize, usize, f64) {
        // (teams, agents per team, contacts per agent per working day)
        match self {
            Size::Small => (2, 3, 4.0),
            Size::Standard => (3, 5, 12.0),
            Size::Large => (3, 10, 30.0),
        }
    }

    /// Evaluations the demo's evaluators do, at most.
    pub fn evaluations(self) -> usize {
        match self {
            Size::Small => 24,
            Size::Standard => 180,
            Size::Large => 360,
        }
    }
}

/// A team: its queue and channel mix.
#[derive(Debug, Clone)]
pub struct Team {
    /// Id.
    pub id: &'static str,
    /// Name.
    pub name: &'static str,
    /// Its queue.
    pub queue: &'static str,
    /// Shares of voice, chat, email.
    pub mix: [f64; 3],
    /// Share of outbound calls.
    pub outbound: f64,
}

const TEAMS: [Team; 3] = [
    Team {
        id: "billing",
        name: "Billing",
        queue: "billing",
        mix: [0.65, 0.25, 0.10],
        outbound: 0.02,
    },
    Team {
        id: "support",
        name: "Technical support",
        queue: "tech-support",
        mix: [0.50, 0.35, 0.15],
        outbound: 0.03,
    },
    Team {
        id: "retention",
        name: "Sales & retention",
        queue: "retention",
        mix: [0.80, 0.15, 0.05],
        outbound: 0.20,
    },
];

const NAMES: [&str; 30] = [
    "amara", "bruno", "chloe", "dmitri", "elena", "farid", "grace", "hugo", "ines", "jonas",
    "keiko", "liam", "mei", "nadia", "omar", "priya", "quentin", "rosa", "sven", "tara", "umar",
    "vera", "wes", "ximena", "yusuf", "zoe", "ana", "ben", "cleo", "dev",
];

/// An agent.
#[derive(Debug, Clone)]
pub struct Agent {
    /// Id (`agent-<name>`).
    pub id: String,
    /// Team id.
    pub team: &'static str,
    /// How good they are, 0..1: drives scores, CSAT, repeats, complaints.
    pub skill: f64,
}

/// One generated interaction, as the CSV row the demo ingests.
#[derive(Debug, Clone)]
pub struct Contact {
    /// Id.
    pub id: String,
    /// voice, chat or email.
    pub channel: &'static str,
    /// inbound or outbound.
    pub direction: &'static str,
    /// Agent id; empty when abandoned.
    pub agent: String,
    /// Team id.
    pub team: &'static str,
    /// Queue id.
    pub queue: &'static str,
    /// Arrival, ms since the epoch.
    pub arrived: i64,
    /// Wait, seconds.
    pub wait: f64,
    /// Talk (or handling), seconds.
    pub talk: f64,
    /// Hold, seconds.
    pub hold: f64,
    /// After-contact work, seconds.
    pub acw: f64,
    /// Abandoned before an agent answered.
    pub abandoned: bool,
    /// Transferred.
    pub transferred: bool,
    /// Escalated.
    pub escalated: bool,
    /// Disposition.
    pub disposition: &'static str,
    /// Customer reference.
    pub customer: String,
    /// Language.
    pub language: &'static str,
    /// How well it went, 0..1 (the truth evaluators estimate).
    pub quality: f64,
}

/// A survey answer.
#[derive(Debug, Clone)]
pub struct Survey {
    /// Survey id.
    pub id: String,
    /// Interaction id.
    pub interaction: String,
    /// CSAT 1-5.
    pub csat: i32,
    /// NPS 0-10.
    pub nps: i32,
    /// When, ms.
    pub responded: i64,
}

/// A complaint.
#[derive(Debug, Clone)]
pub struct Complaint {
    /// Feedback id.
    pub id: String,
    /// Interaction id.
    pub interaction: String,
    /// Category.
    pub category: &'static str,
    /// When, ms.
    pub received: i64,
    /// Resolved since.
    pub resolved: bool,
}

/// The whole center.
#[derive(Debug, Clone)]
pub struct Center {
    /// Teams.
    pub teams: Vec<Team>,
    /// Agents.
    pub agents: Vec<Agent>,
    /// Contacts, by arrival.
    pub contacts: Vec<Contact>,
    /// Survey answers.
    pub surveys: Vec<Survey>,
    /// Complaints.
    pub complaints: Vec<Complaint>,
    /// Contacts that are repeats of an earlier one.
    pub repeats: usize,
}

const DAY: i64 = 86_400_000;

/// Generates `days` days ending at `end_ms` (midnight UTC).
pub fn center(seed: u64, size: Size, end_ms: i64, days: i64) -> Center {
    let (n_teams, per_team, per_day) = size.shape();
    let mut rng = Rng::new(seed);
    let teams: Vec<Team> = TEAMS.iter().take(n_teams).cloned().collect();
    let mut agents = Vec::new();
    let mut names = NAMES.iter();
    for t in &teams {
        for _ in 0..per_team {
            let name = names.next().copied().unwrap_or("agent");
            agents.push(Agent {
                id: format!("agent-{name}"),
                team: t.id,
                skill: rng.range(0.55, 0.95),
            });
        }
    }
    let start = end_ms - days * DAY;
    let mut contacts = Vec::new();
    let mut surveys = Vec::new();
    let mut complaints = Vec::new();
    let mut repeats = 0;
    let mut customer_seq = 0u64;
    for d in 0..days {
        let day = start + d * DAY;
        // 1970-01-01 was a Thursday; Sunday is quiet.
        let weekday = (day / DAY + 3).rem_euclid(7);
        let load = if weekday == 6 {
            0.3
        } else if weekday == 5 {
            0.6
        } else {
            1.0
        };
        for a in &agents {
            let team = teams.iter().find(|t| t.id == a.team).unwrap_or(&teams[0]);
            let n = (per_day * load * rng.range(0.7, 1.3)).round() as usize;
            for _ in 0..n {
                customer_seq += 1;
                let customer = format!("cust-{customer_seq:06}");
                let arrived = day + (8.0 * 3600.0 + rng.range(0.0, 12.0 * 3600.0)) as i64 * 1000;
                let c = contact(&mut rng, team, a, &customer, arrived, contacts.len());
                // A contact that went badly brings the customer back.
                let again = !c.abandoned
                    && c.direction == "inbound"
                    && rng.chance(0.04 + 0.30 * (1.0 - c.quality));
                if again {
                    let later = c.arrived + (rng.range(0.2, 4.0) * DAY as f64) as i64;
                    if later < end_ms {
                        let other = &agents[rng.index(agents.len())];
                        let t2 = teams.iter().find(|t| t.id == other.team).unwrap_or(team);
                        let r = contact(&mut rng, t2, other, &customer, later, contacts.len() + 1);
                        contacts.push(c.clone());
                        contacts.push(r);
                        repeats += 1;
                        continue;
                    }
                }
                contacts.push(c);
            }
        }
    }
    contacts.sort_by(|a, b| a.arrived.cmp(&b.arrived).then_with(|| a.id.cmp(&b.id)));
    for c in &contacts {
        if c.abandoned {
            continue;
        }
        let mut r = Rng::keyed(seed, &c.id);
        let q = c.quality;
        // Unhappy and delighted customers answer surveys more often.
        let respond = 0.15 + 0.25 * (q - 0.5).abs();
        if c.direction == "inbound" && r.chance(respond) {
            let csat = (1.0 + 4.0 * q + 0.8 * r.normal()).round().clamp(1.0, 5.0) as i32;
            let nps = (3.0 + 8.0 * q + 1.5 * r.normal()).round().clamp(0.0, 10.0) as i32;
            surveys.push(Survey {
                id: format!("sv-{}", c.id),
                interaction: c.id.clone(),
                csat,
                nps,
                responded: ended(c) + (r.range(0.5, 30.0) * 3_600_000.0) as i64,
            });
        }
        if r.chance(0.005 + 0.06 * (1.0 - q).powi(2)) {
            const CATEGORIES: [&str; 4] = [
                "billing error",
                "long wait",
                "agent attitude",
                "unresolved issue",
            ];
            complaints.push(Complaint {
                id: format!("fb-{}", c.id),
                interaction: c.id.clone(),
                category: CATEGORIES[r.index(CATEGORIES.len())],
                received: ended(c) + (r.range(1.0, 48.0) * 3_600_000.0) as i64,
                resolved: r.chance(0.65),
            });
        }
    }
    Center {
        teams,
        agents,
        contacts,
        surveys,
        complaints,
        repeats,
    }
}

fn contact(
    rng: &mut Rng,
    team: &Team,
    a: &Agent,
    customer: &str,
    arrived: i64,
    n: usize,
) -> Contact {
    let roll = rng.f64();
    let channel = if roll < team.mix[0] {
        "voice"
    } else if roll < team.mix[0] + team.mix[1] {
        "chat"
    } else {
        "email"
    };
    let direction = if channel == "voice" && rng.chance(team.outbound) {
        "outbound"
    } else {
        "inbound"
    };
    let quality = (a.skill + 0.12 * rng.normal()).clamp(0.05, 1.0);
    let (wait, talk, hold, acw) = match channel {
        "voice" => (
            rng.lognormal(25.0, 0.9).min(900.0),
            rng.lognormal(330.0, 0.5).clamp(30.0, 3600.0),
            if rng.chance(0.3) {
                rng.lognormal(60.0, 0.6).min(900.0)
            } else {
                0.0
            },
            rng.lognormal(45.0, 0.5).min(600.0),
        ),
        "chat" => (
            rng.lognormal(40.0, 0.8).min(900.0),
            rng.lognormal(600.0, 0.5).clamp(60.0, 5400.0),
            0.0,
            rng.lognormal(30.0, 0.5).min(600.0),
        ),
        _ => (
            rng.lognormal(7200.0, 1.0).min(3.0 * 86_400.0),
            rng.lognormal(360.0, 0.6).clamp(30.0, 3600.0),
            0.0,
            rng.lognormal(20.0, 0.5).min(600.0),
        ),
    };
    let abandoned =
        direction == "inbound" && channel != "email" && rng.chance(0.02 + wait / 3000.0);
    let transferred = !abandoned && channel == "voice" && rng.chance(0.05 + 0.08 * (1.0 - quality));
    let escalated = !abandoned && rng.chance(0.02 + 0.05 * (1.0 - quality));
    let disposition = if abandoned {
        "abandoned"
    } else if quality > 0.7 {
        "resolved"
    } else if quality > 0.45 {
        "follow-up"
    } else {
        "unresolved"
    };
    Contact {
        id: format!("{}-{:06}", &channel[..1], n + 1),
        channel,
        direction,
        agent: if abandoned {
            String::new()
        } else {
            a.id.clone()
        },
        team: team.id,
        queue: team.queue,
        arrived,
        wait,
        talk: if abandoned { 0.0 } else { talk },
        hold: if abandoned { 0.0 } else { hold },
        acw: if abandoned { 0.0 } else { acw },
        abandoned,
        transferred,
        escalated,
        disposition,
        customer: customer.to_owned(),
        language: if rng.chance(0.1) { "es" } else { "en" },
        quality,
    }
}

/// When a contact ended, ms.
pub fn ended(c: &Contact) -> i64 {
    c.arrived + ((c.wait + c.talk + c.hold) * 1000.0) as i64
}

fn iso(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

/// The contacts as an ACD export (the CSV columns of docs/cli.md).
pub fn interactions_csv(center: &Center) -> String {
    let mut out = String::from(
        "interaction_id,channel,direction,agent_id,team_id,queue_id,arrived_time,answered_time,ended_time,wait_seconds,talk_seconds,hold_seconds,acw_seconds,disposition,customer_ref,transferred,abandoned,escalated,language\n",
    );
    for c in &center.contacts {
        let answered_ms = c.arrived + (c.wait * 1000.0) as i64;
        let answered = if c.abandoned {
            String::new()
        } else {
            iso(answered_ms)
        };
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{:.0},{:.0},{:.0},{:.0},{},{},{},{},{},{}",
            c.id,
            c.channel,
            c.direction,
            c.agent,
            c.team,
            c.queue,
            iso(c.arrived),
            answered,
            iso(ended(c)),
            c.wait,
            c.talk,
            c.hold,
            c.acw,
            c.disposition,
            c.customer,
            c.transferred,
            c.abandoned,
            c.escalated,
            c.language
        );
    }
    out
}

/// The survey answers as a CRM export.
pub fn surveys_csv(center: &Center) -> String {
    let mut out = String::from("survey_id,interaction_id,csat,nps,respond_time,survey_type\n");
    for s in &center.surveys {
        let _ = writeln!(
            out,
            "{},{},{},{},{},post-contact",
            s.id,
            s.interaction,
            s.csat,
            s.nps,
            iso(s.responded)
        );
    }
    out
}

/// An evaluator's habit: how far their reading of a contact leans.
#[derive(Debug, Clone, Copy)]
pub struct Habit {
    /// Added to the contact's quality before answering.
    pub bias: f64,
    /// Their own noise.
    pub noise: f64,
}

/// The answers an evaluator with `habit` gives for a contact of `quality`.
/// Draws are keyed by the contact, so evaluators see the same call and
/// differ by their habits.
pub fn answers(seed: u64, contact_id: &str, who: &str, quality: f64, habit: Habit) -> Vec<Answer> {
    let mut shared = Rng::keyed(seed, contact_id);
    let mut own = Rng::keyed(seed, &format!("{who}/{contact_id}"));
    let q = (quality + habit.bias + habit.noise * own.normal()).clamp(0.0, 1.0);
    let mut yes = |p: f64| shared.f64() < p;
    let greeted = yes(0.6 + 0.4 * q);
    let verified = yes(0.9 + 0.1 * q);
    let ownership = yes(q);
    let disclosure = yes(0.93 + 0.07 * q);
    let interrupted = yes(0.5 * (1.0 - q));
    let resolved = if q > 0.72 {
        "fully"
    } else if q > 0.45 {
        "partially"
    } else {
        "not"
    };
    let empathy = (1.0 + 4.0 * q + 0.4 * shared.normal())
        .round()
        .clamp(1.0, 5.0) as i32;
    let a = |id: &str, v: answer::Value| Answer {
        question_id: id.into(),
        value: Some(v),
        comment: String::new(),
    };
    vec![
        a("greeted", answer::Value::Yes(greeted)),
        a("verified", answer::Value::Yes(verified)),
        a("resolved", answer::Value::OptionId(resolved.into())),
        a("ownership", answer::Value::Yes(ownership)),
        a("empathy", answer::Value::ScaleValue(empathy)),
        a("disclosure", answer::Value::Yes(disclosure)),
        a("interrupted", answer::Value::Yes(interrupted)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_makes_the_same_center() {
        let end = 1_767_225_600_000;
        let a = center(7, Size::Small, end, 28);
        let b = center(7, Size::Small, end, 28);
        assert_eq!(interactions_csv(&a), interactions_csv(&b));
        assert_eq!(surveys_csv(&a), surveys_csv(&b));
        let c = center(8, Size::Small, end, 28);
        assert_ne!(interactions_csv(&a), interactions_csv(&c));
        assert!(a.contacts.len() > 300, "{}", a.contacts.len());
        assert!(!a.surveys.is_empty());
        assert!(a.repeats > 0);
        assert!(
            a.contacts
                .iter()
                .all(|c| c.arrived < end && c.arrived >= end - 28 * DAY)
        );
    }

    #[test]
    fn durations_look_like_a_contact_center() {
        let c = center(1, Size::Standard, 1_767_225_600_000, 28);
        let voice: Vec<&Contact> = c
            .contacts
            .iter()
            .filter(|c| c.channel == "voice" && !c.abandoned)
            .collect();
        let mean = voice.iter().map(|c| c.talk + c.hold + c.acw).sum::<f64>() / voice.len() as f64;
        assert!((240.0..720.0).contains(&mean), "voice AHT {mean}");
        let abandoned =
            c.contacts.iter().filter(|c| c.abandoned).count() as f64 / c.contacts.len() as f64;
        assert!((0.005..0.15).contains(&abandoned), "{abandoned}");
    }

    #[test]
    fn a_harsh_evaluator_scores_lower() {
        let harsh = Habit {
            bias: -0.2,
            noise: 0.0,
        };
        let lenient = Habit {
            bias: 0.2,
            noise: 0.0,
        };
        let passes = |h: Habit| -> usize {
            (0..200)
                .map(|i| answers(3, &format!("c{i}"), "x", 0.6, h))
                .map(|a| {
                    a.iter()
                        .filter(|x| matches!(x.value, Some(answer::Value::Yes(true))))
                        .count()
                })
                .sum()
        };
        assert!(passes(harsh) < passes(lenient));
    }
}
