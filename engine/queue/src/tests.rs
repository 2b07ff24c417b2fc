//! Behaviour tests in virtual time.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::strategy::Strategy as _;

use crate::{
    Acd, AcdConfig, AgentConfig, AgentId, AgentState, AgentStatus, ChangeReason, Channel, ContactId,
    LeaveReason, NewContact, OfferEndReason, OfferId, Overflow, QueueConfig, QueueError, QueueEvent, Skill,
    Strategy,
};

struct H {
    acd: Acd,
    now: Instant,
    log: Vec<QueueEvent>,
}

/// An arbitrary origin for virtual time; only differences from it matter.
#[allow(clippy::disallowed_methods)] // tests need some Instant to start from; no test reads the clock again
fn t0() -> Instant {
    Instant::now()
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn id(s: &str) -> AgentId {
    AgentId::from(s)
}

impl H {
    fn new(queues: Vec<QueueConfig>) -> Self {
        let mut acd = Acd::new(AcdConfig::default(), 7);
        for q in queues {
            acd.add_queue(q).unwrap();
        }
        Self {
            acd,
            now: t0(),
            log: Vec::new(),
        }
    }

    fn agent(&mut self, a: AgentConfig, status: AgentStatus) {
        let aid = a.id.clone();
        self.acd.add_agent(a).unwrap();
        if status != AgentStatus::Offline {
            self.acd.set_status(self.now, &aid, status).unwrap();
        }
        self.drain();
    }

    fn drain(&mut self) -> Vec<QueueEvent> {
        let mut out = Vec::new();
        while let Some(e) = self.acd.poll_event() {
            out.push(e);
        }
        self.log.extend(out.iter().cloned());
        out
    }

    /// Advances virtual time, firing every timer on the way at its exact deadline.
    fn advance(&mut self, d: Duration) -> Vec<QueueEvent> {
        let end = self.now + d;
        while let Some(t) = self.acd.poll_timeout().filter(|t| *t <= end) {
            self.now = t;
            self.acd.handle_timeout(t);
        }
        self.now = end;
        self.acd.handle_timeout(end);
        self.drain()
    }

    fn enqueue(&mut self, c: NewContact) -> ContactId {
        self.acd.enqueue(self.now, c).unwrap()
    }

    fn call(&mut self, queue: &str) -> ContactId {
        self.enqueue(NewContact::new(queue, Channel::Call))
    }

    /// Offers made since the last drain: (offer, contact, agent).
    fn offers(&mut self) -> Vec<(OfferId, ContactId, String)> {
        offers_in(&self.drain())
    }

    fn set(&mut self, agent: &str, status: AgentStatus) -> Vec<QueueEvent> {
        self.acd.set_status(self.now, &id(agent), status).unwrap();
        self.drain()
    }

    /// One full interaction for `agent` (the only idle agent) in `queue`, wrap-up 0 assumed.
    fn handle(&mut self, queue: &str, agent: &str, talk: u64) {
        self.set(agent, AgentStatus::Idle);
        let c = self.call(queue);
        let offers = self.offers();
        assert_eq!(offers.len(), 1, "{offers:?}");
        assert_eq!(offers[0].2, agent);
        self.acd.accept(self.now, offers[0].0).unwrap();
        self.advance(secs(talk));
        self.acd.finish(self.now, c).unwrap();
        self.set(agent, AgentStatus::Busy);
    }
}

fn offers_in(events: &[QueueEvent]) -> Vec<(OfferId, ContactId, String)> {
    events
        .iter()
        .filter_map(|e| match e {
            QueueEvent::Offered {
                offer,
                contact,
                agent,
                ..
            } => Some((*offer, *contact, agent.0.clone())),
            _ => None,
        })
        .collect()
}

fn queue(name: &str, strategy: Strategy) -> QueueConfig {
    let mut q = QueueConfig::new(name);
    q.strategy = strategy;
    q.wrap_up = Duration::ZERO;
    q
}

/// Four agents with a history: talk a=20 s/2 calls, b=60 s/1, c=3 s/3, d=4 s/4; then idle in the order
/// d, b, a, c (one second apart).
fn strategy_bench(strategy: Strategy) -> H {
    let mut h = H::new(vec![queue("warm", Strategy::TopDown), queue("q", strategy)]);
    for a in ["a", "b", "c", "d"] {
        h.agent(AgentConfig::new(a, &["warm", "q"]), AgentStatus::Busy);
    }
    for (a, calls, talk) in [("a", 2, 10), ("b", 1, 60), ("c", 3, 1), ("d", 4, 1)] {
        for _ in 0..calls {
            h.handle("warm", a, talk);
        }
    }
    for a in ["d", "b", "a", "c"] {
        h.advance(secs(1));
        h.set(a, AgentStatus::Idle);
    }
    h
}

#[test]
fn each_strategy_picks_the_documented_agent() {
    let table: [(Strategy, &[&str]); 6] = [
        (Strategy::LongestIdleAgent, &["d"]),
        (Strategy::TopDown, &["a"]),
        (Strategy::RoundRobin, &["a"]),
        (Strategy::AgentWithLeastTalkTime, &["c"]),
        (Strategy::AgentWithFewestCalls, &["b"]),
        (Strategy::RingAll, &["a", "b", "c", "d"]),
    ];
    for (strategy, expected) in table {
        let mut h = strategy_bench(strategy);
        h.call("q");
        let got: Vec<String> = h.offers().into_iter().map(|o| o.2).collect();
        assert_eq!(got, expected, "{strategy}");
    }
}

#[test]
fn strategy_names_round_trip() {
    for s in Strategy::ALL {
        assert_eq!(s.as_str().parse::<Strategy>().unwrap(), s);
    }
    assert_eq!(
        "ringall".parse::<Strategy>(),
        Err(QueueError::UnknownStrategy("ringall".into()))
    );
}

#[test]
fn round_robin_continues_after_the_last_offered_agent_and_wraps() {
    let mut h = H::new(vec![queue("q", Strategy::RoundRobin)]);
    for a in ["a", "b", "c"] {
        h.agent(AgentConfig::new(a, &["q"]), AgentStatus::Idle);
    }
    let mut order = Vec::new();
    for _ in 0..4 {
        let c = h.call("q");
        let o = h.offers().remove(0);
        order.push(o.2);
        h.acd.accept(h.now, o.0).unwrap();
        h.acd.finish(h.now, c).unwrap();
        h.drain();
    }
    assert_eq!(order, ["a", "b", "c", "a"]);
}

#[test]
fn random_is_seeded_and_reaches_every_agent() {
    let run = |seed: u64| {
        let mut acd = Acd::new(AcdConfig::default(), seed);
        acd.add_queue(queue("q", Strategy::Random)).unwrap();
        let now = t0();
        for a in ["a", "b", "c"] {
            acd.add_agent(AgentConfig::new(a, &["q"])).unwrap();
            acd.set_status(now, &id(a), AgentStatus::Idle).unwrap();
        }
        let mut picks = Vec::new();
        for _ in 0..30 {
            let c = acd.enqueue(now, NewContact::new("q", Channel::Call)).unwrap();
            let mut evs = Vec::new();
            while let Some(e) = acd.poll_event() {
                evs.push(e);
            }
            let o = offers_in(&evs).remove(0);
            picks.push(o.2);
            acd.accept(now, o.0).unwrap();
            acd.finish(now, c).unwrap();
        }
        picks
    };
    assert_eq!(run(1), run(1));
    let seen: BTreeSet<String> = run(1).into_iter().collect();
    assert_eq!(seen.len(), 3);
}

#[test]
fn away_statuses_never_get_offers() {
    let mut h = H::new(vec![queue("q", Strategy::TopDown)]);
    h.agent(AgentConfig::new("busy", &["q"]), AgentStatus::Busy);
    h.agent(AgentConfig::new("break", &["q"]), AgentStatus::Break);
    h.agent(AgentConfig::new("meeting", &["q"]), AgentStatus::Meeting);
    h.agent(AgentConfig::new("offline", &["q"]), AgentStatus::Offline);
    h.call("q");
    assert!(h.offers().is_empty());
    assert!(
        h.advance(secs(60))
            .iter()
            .all(|e| !matches!(e, QueueEvent::Offered { .. }))
    );
    let evs = h.set("meeting", AgentStatus::Idle);
    assert_eq!(offers_in(&evs)[0].2, "meeting");
    assert_eq!(
        h.acd.agent(&id("meeting")).unwrap(),
        (AgentStatus::Idle, AgentState::Offered)
    );
}

#[test]
fn wrap_up_delays_the_next_offer_exactly() {
    let mut q = queue("q", Strategy::TopDown);
    q.wrap_up = secs(10);
    let mut h = H::new(vec![q]);
    h.agent(AgentConfig::new("a", &["q"]), AgentStatus::Idle);
    let c = h.call("q");
    let o = h.offers().remove(0);
    h.acd.accept(h.now, o.0).unwrap();
    h.advance(secs(30));
    h.acd.finish(h.now, c).unwrap();
    let evs = h.drain();
    assert!(evs.iter().any(|e| matches!(
        e,
        QueueEvent::AgentStateChanged {
            state: AgentState::WrapUp,
            ..
        }
    )));
    h.call("q");
    let almost = h.advance(secs(10) - Duration::from_millis(1));
    assert!(offers_in(&almost).is_empty());
    let at = h.advance(Duration::from_millis(1));
    assert_eq!(offers_in(&at).len(), 1);
}

#[test]
fn consecutive_no_answers_put_the_agent_on_break_with_a_reason() {
    let mut q = queue("q", Strategy::TopDown);
    q.max_no_answer = 2;
    let mut h = H::new(vec![q]);
    h.agent(AgentConfig::new("a", &["q"]), AgentStatus::Idle);
    let c = h.call("q");
    assert_eq!(h.offers().len(), 1);
    // 20 s ring, 10 s no-answer delay, 20 s ring.
    let evs = h.advance(secs(50));
    assert_eq!(offers_in(&evs).len(), 1, "re-offered once after the delay");
    assert!(evs.contains(&QueueEvent::AgentStateChanged {
        agent: id("a"),
        status: AgentStatus::Break,
        state: AgentState::Waiting,
        reason: ChangeReason::MaxNoAnswer { misses: 2 },
    }));
    assert_eq!(h.acd.position(h.now, c), Some(1), "the contact waits on");
    assert!(offers_in(&h.advance(secs(120))).is_empty());
}

#[test]
fn chat_capacity_is_respected_and_no_chat_during_a_call_by_default() {
    let mut h = H::new(vec![queue("q", Strategy::TopDown)]);
    let mut cfg = AgentConfig::new("a", &["q"]);
    cfg.max_chats = 2;
    h.agent(cfg, AgentStatus::Idle);
    let mut connected = Vec::new();
    for _ in 0..3 {
        let c = h.enqueue(NewContact::new("q", Channel::Chat));
        for o in h.offers() {
            h.acd.accept(h.now, o.0).unwrap();
            connected.push(o.1);
        }
        let _ = c;
    }
    assert_eq!(connected.len(), 2, "third chat waits");
    let call = h.call("q");
    assert!(h.offers().is_empty(), "no call while chatting");
    h.acd.finish(h.now, connected[0]).unwrap();
    let o = h.offers();
    assert_eq!(o.len(), 1);
    assert_eq!(o[0].1, ContactId(3), "the waiting chat, not the call");
    h.acd.accept(h.now, o[0].0).unwrap();
    for c in [connected[1], ContactId(3)] {
        h.acd.finish(h.now, c).unwrap();
    }
    let o = h.offers();
    assert_eq!(o[0].1, call);
    h.acd.accept(h.now, o[0].0).unwrap();
    h.enqueue(NewContact::new("q", Channel::Chat));
    assert!(h.offers().is_empty(), "no chat during a call");
}

#[test]
fn chat_during_call_when_configured() {
    let mut h = H::new(vec![queue("q", Strategy::TopDown)]);
    let mut cfg = AgentConfig::new("a", &["q"]);
    cfg.max_chats = 1;
    cfg.chat_during_call = true;
    h.agent(cfg, AgentStatus::Idle);
    h.call("q");
    let o = h.offers().remove(0);
    h.acd.accept(h.now, o.0).unwrap();
    h.enqueue(NewContact::new("q", Channel::Chat));
    assert_eq!(h.offers().len(), 1);
}

#[test]
fn offer_timeout_moves_the_contact_to_the_next_agent_without_loss() {
    let mut h = H::new(vec![queue("q", Strategy::TopDown)]);
    h.agent(AgentConfig::new("a", &["q"]), AgentStatus::Idle);
    h.agent(AgentConfig::new("b", &["q"]), AgentStatus::Idle);
    let c = h.call("q");
    assert_eq!(h.offers()[0].2, "a");
    let evs = h.advance(secs(20));
    assert!(evs.iter().any(|e| matches!(
        e,
        QueueEvent::OfferEnded {
            reason: OfferEndReason::NoAnswer,
            ..
        }
    )));
    let o = offers_in(&evs);
    assert_eq!((o[0].1, o[0].2.as_str()), (c, "b"));
    h.acd.accept(h.now, o[0].0).unwrap();
    let evs = h.drain();
    assert!(
        evs.iter()
            .any(|e| matches!(e, QueueEvent::Connected { contact, .. } if *contact == c))
    );
    assert!(!h.log.iter().any(|e| matches!(e, QueueEvent::Left { .. })));
    let s = h.acd.stats(h.now, "q").unwrap();
    assert_eq!((s.answered, s.abandoned, s.offers), (1, 0, 2));
}

#[test]
fn ring_all_first_accept_wins_and_withdrawn_offers_cannot_be_accepted() {
    let mut h = H::new(vec![queue("q", Strategy::RingAll)]);
    for a in ["a", "b", "c"] {
        h.agent(AgentConfig::new(a, &["q"]), AgentStatus::Idle);
    }
    let c = h.call("q");
    let o = h.offers();
    assert_eq!(o.len(), 3);
    h.acd.accept(h.now, o[1].0).unwrap();
    let evs = h.drain();
    let withdrawn: Vec<OfferId> = evs
        .iter()
        .filter_map(|e| match e {
            QueueEvent::OfferEnded {
                offer,
                reason: OfferEndReason::AnsweredElsewhere,
                ..
            } => Some(*offer),
            _ => None,
        })
        .collect();
    assert_eq!(withdrawn, [o[0].0, o[2].0]);
    assert_eq!(
        h.acd.accept(h.now, o[0].0),
        Err(QueueError::OfferNotPending(o[0].0))
    );
    assert_eq!(
        h.acd.decline(h.now, o[2].0),
        Err(QueueError::OfferNotPending(o[2].0))
    );
    let connected = h
        .log
        .iter()
        .filter(|e| matches!(e, QueueEvent::Connected { .. }))
        .count();
    assert_eq!(connected, 1);
    assert_eq!(
        h.acd.agent(&id("a")).unwrap(),
        (AgentStatus::Idle, AgentState::Waiting)
    );
    h.acd.finish(h.now, c).unwrap();
}

#[test]
fn skills_with_minimum_levels_filter_agents_and_higher_levels_break_ties() {
    let mut h = H::new(vec![queue("q", Strategy::AgentWithFewestCalls)]);
    let with = |name: &str, level: u8| {
        let mut a = AgentConfig::new(name, &["q"]);
        a.skills = vec![Skill::new("es", level)];
        a
    };
    h.agent(with("low", 3), AgentStatus::Idle);
    h.agent(with("mid", 6), AgentStatus::Idle);
    h.agent(with("high", 9), AgentStatus::Idle);
    let mut c = NewContact::new("q", Channel::Call);
    c.skills = vec![Skill::new("es", 5)];
    h.enqueue(c.clone());
    assert_eq!(h.offers()[0].2, "high", "all tied on calls: highest level wins");
    c.skills = vec![Skill::new("es", 7)];
    h.enqueue(c.clone());
    assert!(h.offers().is_empty(), "only `high` qualifies and it is ringing");
    c.skills = vec![Skill::new("fr", 1)];
    h.enqueue(c);
    assert!(h.offers().is_empty(), "nobody speaks fr");
    assert_eq!(
        h.acd.enqueue(h.now, {
            let mut c = NewContact::new("q", Channel::Call);
            c.skills = vec![Skill::new("es", 11)];
            c
        }),
        Err(QueueError::InvalidSkillLevel {
            skill: "es".into(),
            level: 11
        })
    );
}

#[test]
fn old_low_priority_contact_beats_new_high_priority_one_after_the_starvation_age() {
    for (wait, expected) in [(59, 2u64), (61, 1)] {
        let mut q = queue("q", Strategy::TopDown);
        q.starvation_age = Some(secs(60));
        let mut h = H::new(vec![q]);
        h.agent(AgentConfig::new("a", &["q"]), AgentStatus::Busy);
        let mut low = NewContact::new("q", Channel::Call);
        low.priority = 9;
        h.enqueue(low);
        h.advance(secs(wait));
        let mut high = NewContact::new("q", Channel::Call);
        high.priority = 0;
        h.enqueue(high);
        let evs = h.set("a", AgentStatus::Idle);
        assert_eq!(offers_in(&evs)[0].1, ContactId(expected), "after {wait} s");
    }
}

#[test]
fn max_wait_leaves_with_overflow_or_timeout() {
    for (overflow, reason) in [
        (
            Some(Overflow::Queue("backup".into())),
            LeaveReason::Overflow(Overflow::Queue("backup".into())),
        ),
        (None, LeaveReason::Timeout),
    ] {
        let mut q = queue("q", Strategy::TopDown);
        q.max_wait = Some(secs(90));
        q.overflow = overflow;
        let mut h = H::new(vec![q]);
        let c = h.call("q");
        assert!(
            h.advance(secs(89))
                .iter()
                .all(|e| !matches!(e, QueueEvent::Left { .. }))
        );
        let evs = h.advance(secs(1));
        assert!(evs.contains(&QueueEvent::Left {
            contact: c,
            queue: "q".into(),
            reason,
            wait: secs(90)
        }));
        assert_eq!(h.acd.abandon(h.now, c), Err(QueueError::UnknownContact(c)));
    }
}

#[test]
fn max_len_accepts_the_limit_and_refuses_one_more() {
    let mut q = queue("q", Strategy::TopDown);
    q.max_len = 2;
    q.overflow = Some(Overflow::Node("voicemail".into()));
    let mut h = H::new(vec![q]);
    h.call("q");
    h.call("q");
    assert_eq!(
        h.acd.enqueue(h.now, NewContact::new("q", Channel::Call)),
        Err(QueueError::QueueFull {
            queue: "q".into(),
            max_len: 2,
            overflow: Some(Overflow::Node("voicemail".into()))
        })
    );
    assert_eq!(h.acd.stats(h.now, "q").unwrap().waiting, 2);
}

#[test]
fn callback_keeps_its_place_and_is_offered_as_a_callback() {
    let mut h = H::new(vec![queue("q", Strategy::TopDown)]);
    h.agent(AgentConfig::new("a", &["q"]), AgentStatus::Busy);
    let first = h.call("q");
    h.advance(secs(5));
    h.call("q");
    h.acd.request_callback(h.now, first).unwrap();
    let evs = h.drain();
    assert!(evs.contains(&QueueEvent::CallbackRequested {
        contact: first,
        queue: "q".into(),
        position: 1
    }));
    let evs = h.set("a", AgentStatus::Idle);
    assert!(
        evs.iter()
            .any(|e| matches!(e, QueueEvent::Offered { contact, callback: true, .. } if *contact == first))
    );
    let chat = h.enqueue(NewContact::new("q", Channel::Chat));
    assert_eq!(
        h.acd.request_callback(h.now, chat),
        Err(QueueError::CallbackNeedsCall(chat))
    );
}

#[test]
fn announcements_come_at_the_interval_with_the_current_position() {
    let mut q = queue("q", Strategy::TopDown);
    q.announce_every = Some(secs(30));
    let mut h = H::new(vec![q]);
    let c: Vec<ContactId> = (0..3).map(|_| h.call("q")).collect();
    h.drain();
    assert!(h.advance(secs(29)).is_empty());
    let announces = |evs: &[QueueEvent]| -> Vec<(ContactId, usize)> {
        evs.iter()
            .filter_map(|e| match e {
                QueueEvent::Announce {
                    contact,
                    position,
                    estimated_wait: None,
                    ..
                } => Some((*contact, *position)),
                _ => None,
            })
            .collect()
    };
    assert_eq!(announces(&h.advance(secs(1))), [(c[0], 1), (c[1], 2), (c[2], 3)]);
    h.acd.abandon(h.now, c[0]).unwrap();
    assert_eq!(announces(&h.advance(secs(30))), [(c[1], 1), (c[2], 2)]);
}

#[test]
fn estimated_wait_uses_handle_time_over_staffed_agents() {
    let mut q = queue("q", Strategy::TopDown);
    q.announce_every = Some(secs(30));
    let mut h = H::new(vec![q]);
    h.agent(AgentConfig::new("a", &["q"]), AgentStatus::Idle);
    let busy = h.call("q");
    let o = h.offers().remove(0);
    h.acd.accept(h.now, o.0).unwrap();
    let waiting = h.call("q");
    let evs = h.advance(secs(30));
    assert!(evs.contains(&QueueEvent::Announce {
        contact: waiting,
        queue: "q".into(),
        position: 1,
        estimated_wait: Some(secs(180)),
    }));
    h.acd.finish(h.now, busy).unwrap();
}

#[test]
fn logout_during_an_offer_sends_the_contact_to_another_agent() {
    let mut h = H::new(vec![queue("q", Strategy::TopDown)]);
    h.agent(AgentConfig::new("a", &["q"]), AgentStatus::Idle);
    h.agent(AgentConfig::new("b", &["q"]), AgentStatus::Idle);
    let c = h.call("q");
    let first = h.offers().remove(0);
    let evs = h.set("a", AgentStatus::Offline);
    assert!(evs.iter().any(|e| matches!(
        e,
        QueueEvent::OfferEnded {
            reason: OfferEndReason::AgentUnavailable,
            ..
        }
    )));
    assert_eq!(offers_in(&evs)[0].1, c);
    assert_eq!(offers_in(&evs)[0].2, "b");
    assert_eq!(
        h.acd.accept(h.now, first.0),
        Err(QueueError::OfferNotPending(first.0))
    );
}

#[test]
fn abandon_during_an_offer_frees_the_agent_without_penalty() {
    let mut h = H::new(vec![queue("q", Strategy::TopDown)]);
    h.agent(AgentConfig::new("a", &["q"]), AgentStatus::Idle);
    let c = h.call("q");
    let o = h.offers().remove(0);
    h.acd.abandon(h.now, c).unwrap();
    let evs = h.drain();
    assert!(evs.iter().any(|e| matches!(
        e,
        QueueEvent::OfferEnded {
            reason: OfferEndReason::ContactLeft,
            ..
        }
    )));
    assert!(evs.iter().any(|e| matches!(
        e,
        QueueEvent::Left {
            reason: LeaveReason::Abandoned,
            ..
        }
    )));
    assert_eq!(h.acd.accept(h.now, o.0), Err(QueueError::OfferNotPending(o.0)));
    h.call("q");
    assert_eq!(h.offers().len(), 1, "the agent is offerable at once");
    assert_eq!(h.acd.stats(h.now, "q").unwrap().abandoned, 1);
}

#[test]
fn two_queues_sharing_an_agent_never_double_offer_and_the_older_caller_goes_first() {
    let mut h = H::new(vec![
        queue("q1", Strategy::TopDown),
        queue("q2", Strategy::TopDown),
    ]);
    h.agent(AgentConfig::new("a", &["q1", "q2"]), AgentStatus::Busy);
    let older = h.call("q2");
    h.advance(secs(1));
    let newer = h.call("q1");
    let evs = h.set("a", AgentStatus::Idle);
    let o = offers_in(&evs);
    assert_eq!(o.len(), 1);
    assert_eq!(o[0].1, older);
    h.acd.accept(h.now, o[0].0).unwrap();
    h.acd.finish(h.now, older).unwrap();
    let o = h.offers();
    assert_eq!(o[0].1, newer);
}

#[test]
fn accept_after_timeout_is_refused_and_the_contact_is_not_connected_twice() {
    let mut h = H::new(vec![queue("q", Strategy::TopDown)]);
    h.agent(AgentConfig::new("a", &["q"]), AgentStatus::Idle);
    h.agent(AgentConfig::new("b", &["q"]), AgentStatus::Idle);
    h.call("q");
    let late = h.offers().remove(0);
    let next = offers_in(&h.advance(secs(20))).remove(0);
    h.acd.accept(h.now, next.0).unwrap();
    assert_eq!(
        h.acd.accept(h.now, late.0),
        Err(QueueError::OfferNotPending(late.0))
    );
    h.drain();
    assert_eq!(
        h.log
            .iter()
            .filter(|e| matches!(e, QueueEvent::Connected { .. }))
            .count(),
        1
    );
    assert_eq!(h.acd.agent(&id("a")).unwrap().1, AgentState::Waiting);
}

#[test]
fn errors_name_the_unknown_thing() {
    let mut h = H::new(vec![queue("q", Strategy::TopDown)]);
    assert_eq!(
        h.acd.enqueue(h.now, NewContact::new("nope", Channel::Call)),
        Err(QueueError::UnknownQueue("nope".into()))
    );
    assert_eq!(
        h.acd.set_status(h.now, &id("x"), AgentStatus::Idle),
        Err(QueueError::UnknownAgent(id("x")))
    );
    assert_eq!(
        h.acd.add_queue(queue("q", Strategy::TopDown)),
        Err(QueueError::DuplicateQueue("q".into()))
    );
    let mut c = NewContact::new("q", Channel::Call);
    c.priority = 10;
    assert_eq!(h.acd.enqueue(h.now, c), Err(QueueError::InvalidPriority(10)));
    let w = h.call("q");
    assert_eq!(h.acd.finish(h.now, w), Err(QueueError::ContactNotConnected(w)));
}

#[test]
fn stats_report_service_level_and_asa() {
    let mut h = H::new(vec![queue("q", Strategy::TopDown)]);
    h.agent(AgentConfig::new("a", &["q"]), AgentStatus::Busy);
    let fast = h.call("q");
    h.advance(secs(10));
    h.set("a", AgentStatus::Idle);
    let o = h.offers();
    let _ = o;
    let o = offers_in(&h.log).remove(0);
    h.acd.accept(h.now, o.0).unwrap();
    h.acd.finish(h.now, fast).unwrap();
    h.set("a", AgentStatus::Busy);
    let slow = h.call("q");
    h.advance(secs(30));
    h.set("a", AgentStatus::Idle);
    let o = offers_in(&h.log).into_iter().find(|o| o.1 == slow).unwrap();
    h.acd.accept(h.now, o.0).unwrap();
    let s = h.acd.stats(h.now, "q").unwrap();
    assert_eq!((s.answered, s.answered_within_sl), (2, 1));
    assert_eq!(s.service_level(), Some(0.5));
    assert_eq!(s.average_speed_of_answer(), Some(secs(20)));
}

// ---- property test ----------------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Cmd {
    Enqueue {
        queue: usize,
        chat: bool,
        priority: u8,
        skill: bool,
    },
    Status {
        agent: usize,
        status: u8,
    },
    Accept(usize),
    Decline(usize),
    Abandon(usize),
    Callback(usize),
    Finish(usize),
    Advance(u64),
}

fn cmd() -> impl proptest::strategy::Strategy<Value = Cmd> {
    prop_oneof![
        3 => (0..3usize, any::<bool>(), 0..10u8, any::<bool>())
            .prop_map(|(queue, chat, priority, skill)| Cmd::Enqueue { queue, chat, priority, skill }),
        2 => (0..5usize, 0..5u8).prop_map(|(agent, status)| Cmd::Status { agent, status }),
        3 => any::<usize>().prop_map(Cmd::Accept),
        1 => any::<usize>().prop_map(Cmd::Decline),
        1 => any::<usize>().prop_map(Cmd::Abandon),
        1 => any::<usize>().prop_map(Cmd::Callback),
        2 => any::<usize>().prop_map(Cmd::Finish),
        3 => (0..40u64).prop_map(Cmd::Advance),
    ]
}

/// What the events say, checked against the invariants as they arrive.
#[derive(Default)]
struct Model {
    pending: BTreeMap<OfferId, (ContactId, String)>,
    connected: BTreeMap<ContactId, (String, Channel)>,
    channel: BTreeMap<ContactId, Channel>,
    terminal: BTreeMap<ContactId, u32>,
    reported: BTreeMap<String, (AgentStatus, AgentState)>,
    ring_all: BTreeSet<String>,
}

impl Model {
    fn apply(&mut self, e: &QueueEvent, caps: &BTreeMap<String, (u32, bool)>) {
        match e {
            QueueEvent::Offered {
                offer,
                contact,
                agent,
                queue,
                ..
            } => {
                let already = self.pending.values().filter(|(c, _)| c == contact).count();
                assert!(
                    already == 0 || self.ring_all.contains(queue),
                    "{contact} offered twice"
                );
                assert!(
                    !self.connected.contains_key(contact),
                    "connected {contact} offered"
                );
                let (status, state) = self.reported.get(&agent.0).copied().unwrap();
                assert_eq!(status, AgentStatus::Idle, "offer to non-idle {agent}");
                assert!(
                    matches!(state, AgentState::Waiting | AgentState::InCall),
                    "offer to {agent} in {state:?}"
                );
                assert!(
                    self.pending.values().all(|(_, a)| a != &agent.0),
                    "{agent} rung twice"
                );
                self.pending.insert(*offer, (*contact, agent.0.clone()));
            }
            QueueEvent::OfferEnded { offer, .. } => {
                assert!(self.pending.remove(offer).is_some());
            }
            QueueEvent::Connected {
                offer,
                contact,
                agent,
                ..
            } => {
                assert!(self.pending.remove(offer).is_some());
                let ch = self.channel[contact];
                assert!(
                    self.connected.insert(*contact, (agent.0.clone(), ch)).is_none(),
                    "{contact} connected twice"
                );
                let calls = self
                    .connected
                    .values()
                    .filter(|(a, c)| a == &agent.0 && *c == Channel::Call)
                    .count();
                let chats = self
                    .connected
                    .values()
                    .filter(|(a, c)| a == &agent.0 && *c == Channel::Chat)
                    .count();
                let (max_chats, mix) = caps[&agent.0];
                assert!(calls <= 1, "{agent} has two calls");
                assert!(chats <= max_chats as usize, "{agent} over chat capacity");
                assert!(mix || calls == 0 || chats == 0, "{agent} mixes channels");
            }
            QueueEvent::Finished { contact, .. } => {
                assert!(self.connected.remove(contact).is_some());
                *self.terminal.entry(*contact).or_default() += 1;
            }
            QueueEvent::Left { contact, .. } => {
                assert!(!self.connected.contains_key(contact));
                *self.terminal.entry(*contact).or_default() += 1;
            }
            QueueEvent::AgentStateChanged {
                agent, status, state, ..
            } => {
                self.reported.insert(agent.0.clone(), (*status, *state));
            }
            _ => {}
        }
    }
}

fn pick<T: Clone>(items: &[T], i: usize) -> Option<T> {
    (!items.is_empty()).then(|| items[i % items.len()].clone())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]
    #[test]
    fn invariants_hold_under_random_commands(cmds in proptest::collection::vec(cmd(), 1..120), seed in any::<u64>()) {
        let mut acd = Acd::new(AcdConfig::default(), seed);
        let strategies = [Strategy::RingAll, Strategy::LongestIdleAgent, Strategy::Random];
        for (i, s) in strategies.iter().enumerate() {
            let mut q = QueueConfig::new(&format!("q{i}"));
            q.strategy = *s;
            q.max_len = 6;
            q.wrap_up = secs(u64::try_from(i).unwrap() * 5);
            q.max_wait = (i == 1).then(|| secs(100));
            q.announce_every = Some(secs(15));
            q.max_no_answer = 2;
            acd.add_queue(q).unwrap();
        }
        let mut caps = BTreeMap::new();
        let mut model = Model { ring_all: ["q0".to_owned()].into(), ..Model::default() };
        let mut now = t0();
        for a in 0..5u32 {
            let name = format!("a{a}");
            let queues: Vec<&str> = match a { 0 => vec!["q0", "q1"], 1 => vec!["q1", "q2"], 2 => vec!["q0", "q2"], _ => vec!["q0", "q1", "q2"] };
            let mut cfg = AgentConfig::new(&name, &queues);
            cfg.max_chats = a % 3;
            cfg.chat_during_call = a == 4;
            if a % 2 == 0 { cfg.skills = vec![Skill::new("vip", 5)]; }
            caps.insert(name.clone(), (cfg.max_chats, cfg.chat_during_call));
            model.reported.insert(name, (AgentStatus::Offline, AgentState::Waiting));
            acd.add_agent(cfg).unwrap();
        }
        let statuses = [AgentStatus::Idle, AgentStatus::Idle, AgentStatus::Break, AgentStatus::Offline, AgentStatus::Busy];
        let mut all = Vec::new();
        for c in cmds {
            match c {
                Cmd::Enqueue { queue, chat, priority, skill } => {
                    let ch = if chat { Channel::Chat } else { Channel::Call };
                    let mut nc = NewContact::new(&format!("q{queue}"), ch);
                    nc.priority = priority;
                    if skill { nc.skills = vec![Skill::new("vip", 3)]; }
                    // Pre-register the channel so Offered events can be checked as they come.
                    let next = ContactId(all.len() as u64 + 1);
                    model.channel.insert(next, ch);
                    match acd.enqueue(now, nc) {
                        Ok(id) => { prop_assert_eq!(id, next); all.push(id); }
                        Err(QueueError::QueueFull { .. }) => { model.channel.remove(&next); }
                        Err(e) => prop_assert!(false, "{e}"),
                    }
                }
                Cmd::Status { agent, status } => {
                    acd.set_status(now, &AgentId(format!("a{agent}")), statuses[status as usize]).unwrap();
                }
                Cmd::Accept(i) => if let Some(o) = pick(&model.pending.keys().copied().collect::<Vec<_>>(), i) { acd.accept(now, o).unwrap(); },
                Cmd::Decline(i) => if let Some(o) = pick(&model.pending.keys().copied().collect::<Vec<_>>(), i) { acd.decline(now, o).unwrap(); },
                Cmd::Abandon(i) => if let Some(c) = pick(&all, i) { let _ = acd.abandon(now, c); },
                Cmd::Callback(i) => if let Some(c) = pick(&all, i) { let _ = acd.request_callback(now, c); },
                Cmd::Finish(i) => if let Some(c) = pick(&model.connected.keys().copied().collect::<Vec<_>>(), i) { acd.finish(now, c).unwrap(); },
                Cmd::Advance(s) => {
                    let end = now + secs(s);
                    while let Some(t) = acd.poll_timeout().filter(|t| *t <= end) {
                        now = t;
                        acd.handle_timeout(now);
                        while let Some(e) = acd.poll_event() { model.apply(&e, &caps); }
                    }
                    now = end;
                    acd.handle_timeout(now);
                }
            }
            while let Some(e) = acd.poll_event() { model.apply(&e, &caps); }
            acd.check_invariants();
        }
        // Wind down: every contact must end exactly once.
        for c in all.clone() {
            if model.connected.contains_key(&c) { acd.finish(now, c).unwrap(); } else { let _ = acd.abandon(now, c); }
            while let Some(e) = acd.poll_event() { model.apply(&e, &caps); }
        }
        for c in &all {
            prop_assert_eq!(model.terminal.get(c).copied(), Some(1), "{} terminal outcomes", c);
        }
        prop_assert!(model.pending.is_empty());
    }
}
