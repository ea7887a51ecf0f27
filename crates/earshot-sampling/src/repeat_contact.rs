//! Repeat contacts and first-contact resolution (FCR).
//!
//! An interaction is *not* resolved at first contact when the same customer
//! (same non-empty `customer_ref`) comes back with a customer-initiated
//! contact (inbound, or direction unknown) that arrives after it and within
//! the tenant's repeat-contact window, counted from its arrival:
//! `earlier.arrived < later.arrived <= earlier.arrived + window`. A CRM that
//! knows better reports repeat contacts explicitly.
//!
//! Interactions arrive in any order, so storing one can void earlier ones
//! *and* be voided by a later one already stored: [`links_for`] finds both.
//! Each interaction keeps its earliest repeat contact ([`RepeatContact::supersedes`]),
//! so the result does not depend on the order of ingest.

use crate::ids::InteractionId;
use crate::interaction::Direction;
use crate::time::{DAY_MS, HOUR_MS};

/// The default repeat-contact window: 7 days.
pub const DEFAULT_WINDOW_MS: i64 = 7 * DAY_MS;
/// The shortest window allowed.
pub const MIN_WINDOW_MS: i64 = HOUR_MS;
/// The longest window allowed.
pub const MAX_WINDOW_MS: i64 = 90 * DAY_MS;

/// One of a customer's contacts, as far as repeat contacts are concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Contact<'a> {
    /// The interaction.
    pub id: &'a InteractionId,
    /// When it arrived.
    pub arrived_ms: i64,
    /// Who started it.
    pub direction: Direction,
}

/// "`earlier` was not resolved at first contact, because of `later`".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepeatLink {
    /// The interaction whose FCR is voided.
    pub earlier: InteractionId,
    /// The repeat contact.
    pub later: InteractionId,
    /// When the repeat contact arrived.
    pub later_arrived_ms: i64,
}

fn is_repeat(earlier: &Contact<'_>, later: &Contact<'_>, window_ms: i64) -> bool {
    later.id != earlier.id
        && later.direction.customer_initiated()
        && later.arrived_ms > earlier.arrived_ms
        && later.arrived_ms <= earlier.arrived_ms.saturating_add(window_ms)
}

/// The links that storing `new` creates, given the customer's other stored
/// contacts: every earlier contact that `new` repeats, and the earliest later
/// contact that repeats `new`.
pub fn links_for(new: Contact<'_>, others: &[Contact<'_>], window_ms: i64) -> Vec<RepeatLink> {
    let mut links: Vec<RepeatLink> = others
        .iter()
        .filter(|e| is_repeat(e, &new, window_ms))
        .map(|e| RepeatLink {
            earlier: e.id.clone(),
            later: new.id.clone(),
            later_arrived_ms: new.arrived_ms,
        })
        .collect();
    let first_later = others
        .iter()
        .filter(|l| is_repeat(&new, l, window_ms))
        .min_by(|a, b| a.arrived_ms.cmp(&b.arrived_ms).then_with(|| a.id.cmp(b.id)));
    if let Some(l) = first_later {
        links.push(RepeatLink {
            earlier: new.id.clone(),
            later: l.id.clone(),
            later_arrived_ms: l.arrived_ms,
        });
    }
    links
}

/// Where a repeat-contact finding came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RepeatSource {
    /// Derived at ingest from the customer reference and the window.
    Derived,
    /// Reported by a CRM.
    Reported,
}

/// Why an interaction is not resolved at first contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepeatContact {
    /// The repeat interaction, when known.
    pub repeat_interaction: Option<InteractionId>,
    /// When the customer came back.
    pub repeat_ms: i64,
    /// Where the finding came from.
    pub source: RepeatSource,
    /// A CRM's reason; may be empty.
    pub reason: String,
}

impl RepeatContact {
    /// True when this finding should replace `existing`: there is none, or
    /// this repeat came earlier (the earliest repeat contact is kept).
    pub fn supersedes(&self, existing: Option<&RepeatContact>) -> bool {
        existing.is_none_or(|e| self.repeat_ms < e.repeat_ms)
    }
}

/// First-contact resolution of one interaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FcrStatus {
    /// Cannot tell: no customer reference and no reported repeat contact.
    Unknown,
    /// The window is still open, no repeat contact yet.
    Pending,
    /// The window passed without a repeat contact.
    Resolved,
    /// A repeat contact voided it.
    NotResolved,
}

/// The FCR status of an interaction at `now_ms`.
pub fn fcr_status(
    has_customer_ref: bool,
    repeat: Option<&RepeatContact>,
    arrived_ms: i64,
    window_ms: i64,
    now_ms: i64,
) -> FcrStatus {
    if repeat.is_some() {
        FcrStatus::NotResolved
    } else if !has_customer_ref {
        FcrStatus::Unknown
    } else if now_ms <= arrived_ms.saturating_add(window_ms) {
        FcrStatus::Pending
    } else {
        FcrStatus::Resolved
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn id(s: &str) -> InteractionId {
        InteractionId::parse(s).unwrap()
    }

    #[test]
    fn a_later_inbound_contact_within_the_window_voids_the_earlier() {
        let (a, b, c, d) = (id("a"), id("b"), id("c"), id("d"));
        let w = DAY_MS;
        let others = [
            Contact {
                id: &a,
                arrived_ms: 0,
                direction: Direction::Inbound,
            },
            Contact {
                id: &b,
                arrived_ms: 2 * DAY_MS,
                direction: Direction::Inbound,
            },
        ];
        // c arrives 12 h after a: repeats a, not b (b is later than c).
        let c_contact = Contact {
            id: &c,
            arrived_ms: 12 * HOUR_MS,
            direction: Direction::Inbound,
        };
        let links = links_for(c_contact, &others, w);
        assert_eq!(links.len(), 1);
        assert_eq!(links[0].earlier, a);
        assert_eq!(links[0].later, c);
        // An outbound call from the center is not a customer coming back.
        let d_out = Contact {
            id: &d,
            arrived_ms: 12 * HOUR_MS,
            direction: Direction::Outbound,
        };
        assert!(links_for(d_out, &others[..1], w).is_empty());
        // Exactly at the window's end still counts; one ms later does not.
        let edge = Contact {
            id: &d,
            arrived_ms: w,
            direction: Direction::Unspecified,
        };
        assert_eq!(links_for(edge, &others[..1], w).len(), 1);
        let past = Contact {
            id: &d,
            arrived_ms: w + 1,
            direction: Direction::Inbound,
        };
        assert!(links_for(past, &others[..1], w).is_empty());
    }

    #[test]
    fn an_interaction_stored_late_is_voided_by_the_earliest_later_one() {
        let (a, b, c) = (id("a"), id("b"), id("c"));
        let others = [
            Contact {
                id: &b,
                arrived_ms: 5 * HOUR_MS,
                direction: Direction::Inbound,
            },
            Contact {
                id: &c,
                arrived_ms: 3 * HOUR_MS,
                direction: Direction::Inbound,
            },
        ];
        let links = links_for(
            Contact {
                id: &a,
                arrived_ms: 0,
                direction: Direction::Inbound,
            },
            &others,
            DAY_MS,
        );
        assert_eq!(
            links,
            vec![RepeatLink {
                earlier: a,
                later: c,
                later_arrived_ms: 3 * HOUR_MS
            }]
        );
    }

    #[test]
    fn the_earliest_repeat_is_kept() {
        let r = |ms| RepeatContact {
            repeat_interaction: None,
            repeat_ms: ms,
            source: RepeatSource::Derived,
            reason: String::new(),
        };
        assert!(r(5).supersedes(None));
        assert!(r(5).supersedes(Some(&r(6))));
        assert!(!r(6).supersedes(Some(&r(5))));
        assert!(!r(5).supersedes(Some(&r(5))));
    }

    #[test]
    fn fcr_status_table() {
        let rc = RepeatContact {
            repeat_interaction: None,
            repeat_ms: 1,
            source: RepeatSource::Reported,
            reason: "called back".into(),
        };
        assert_eq!(
            fcr_status(false, None, 0, DAY_MS, 2 * DAY_MS),
            FcrStatus::Unknown
        );
        assert_eq!(
            fcr_status(true, None, 0, DAY_MS, DAY_MS),
            FcrStatus::Pending
        );
        assert_eq!(
            fcr_status(true, None, 0, DAY_MS, DAY_MS + 1),
            FcrStatus::Resolved
        );
        assert_eq!(
            fcr_status(false, Some(&rc), 0, DAY_MS, 0),
            FcrStatus::NotResolved
        );
    }

    proptest! {
        /// Whatever order a customer's contacts are stored in, every contact
        /// ends up with the same earliest repeat contact.
        #[test]
        fn the_outcome_does_not_depend_on_ingest_order(
            arrivals in proptest::collection::vec((0i64..20, any::<bool>()), 1..12),
            order_seed in any::<u64>(),
        ) {
            let ids: Vec<InteractionId> = (0..arrivals.len()).map(|n| id(&format!("i{n}"))).collect();
            let contacts: Vec<Contact<'_>> = ids.iter().zip(&arrivals).map(|(id, (h, inbound))| Contact {
                id,
                arrived_ms: h * HOUR_MS,
                direction: if *inbound { Direction::Inbound } else { Direction::Outbound },
            }).collect();
            let window = 6 * HOUR_MS;
            let run = |order: &[usize]| {
                let mut stored: Vec<Contact<'_>> = Vec::new();
                let mut repeat: BTreeMap<InteractionId, RepeatContact> = BTreeMap::new();
                for &n in order {
                    let c = contacts[n];
                    for link in links_for(c, &stored, window) {
                        let found = RepeatContact {
                            repeat_interaction: Some(link.later.clone()),
                            repeat_ms: link.later_arrived_ms,
                            source: RepeatSource::Derived,
                            reason: String::new(),
                        };
                        if found.supersedes(repeat.get(&link.earlier)) {
                            repeat.insert(link.earlier.clone(), found);
                        }
                    }
                    stored.push(c);
                }
                repeat.into_iter().map(|(k, v)| (k, v.repeat_ms)).collect::<BTreeMap<_, _>>()
            };
            let forward: Vec<usize> = (0..contacts.len()).collect();
            let mut shuffled = forward.clone();
            let mut s = order_seed;
            for i in (1..shuffled.len()).rev() {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                shuffled.swap(i, (s >> 33) as usize % (i + 1));
            }
            prop_assert_eq!(run(&forward), run(&shuffled));
        }
    }
}
