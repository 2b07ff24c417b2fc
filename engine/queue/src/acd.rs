//! The ACD state machine: queues of contacts, agents, offers and one timer table.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::ops::Bound;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};

use crate::error::QueueError;
use crate::types::{
    AcdConfig, AgentConfig, AgentId, AgentState, AgentStatus, ChangeReason, Channel, ContactId, LeaveReason,
    MAX_CHATS_LIMIT, MAX_PRIORITY, MAX_SKILL_LEVEL, NewContact, OfferEndReason, OfferId, QueueConfig,
    QueueEvent, QueueStats, Skill, Strategy,
};

/// Interned skill requirements: sorted `(skill id, minimum level)`.
type Reqs = Vec<(u32, u8)>;

/// The strategy's ordering key of an available agent in a queue's index. Within one queue every key has
/// the same variant; ties on it are broken by skill score, then agent order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Rank {
    /// Longest idle: earliest `idle_since` first (`None`, never idle, sorts first).
    Idle(Option<Instant>),
    Talk(Duration),
    Answered(u64),
    /// Agent order (top-down, round-robin, random, ring-all): unique, so never tied.
    Order(usize),
}

/// Named timers, one table (`BTreeSet<(deadline, Timer)>`); every owner stores its deadline so a
/// cancelled timer is removed exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Timer {
    /// An offer rang out.
    OfferTimeout(OfferId),
    /// An agent's wrap-up ends.
    WrapUp(usize),
    /// An agent's reject/no-answer delay ends.
    AgentReady(usize),
    /// A contact reached the queue's max wait.
    MaxWait(ContactId),
    /// A contact's next position announcement.
    Announce(ContactId),
}

#[derive(Debug, Default)]
struct Lane {
    /// Waiting contacts in arrival order (ids grow with arrival).
    fifo: BTreeSet<ContactId>,
    /// The same contacts by (priority, arrival).
    ranked: BTreeSet<(u8, ContactId)>,
}

impl Lane {
    fn insert(&mut self, id: ContactId, priority: u8) {
        self.fifo.insert(id);
        self.ranked.insert((priority, id));
    }

    fn remove(&mut self, id: ContactId, priority: u8) {
        self.fifo.remove(&id);
        self.ranked.remove(&(priority, id));
    }
}

#[derive(Debug)]
struct Queue {
    cfg: QueueConfig,
    reqs: Reqs,
    lanes: [Lane; 2],
    /// Agents offerable for the channel now, in strategy order.
    available: [BTreeSet<(Rank, usize)>; 2],
    members: Vec<usize>,
    /// Round-robin: the agent offered last.
    rr_last: Option<usize>,
    /// Contacts waiting or being offered (what `max_len` bounds).
    load: usize,
    stats: QueueStats,
    handled: u64,
    handle_total: Duration,
}

#[derive(Debug)]
struct Agent {
    id: AgentId,
    skills: Reqs,
    queues: Vec<usize>,
    max_chats: u32,
    chat_during_call: bool,
    status: AgentStatus,
    calls: u32,
    chats: u32,
    offer: Option<OfferId>,
    wrap_until: Option<Instant>,
    ready_at: Option<Instant>,
    idle_since: Option<Instant>,
    talk: Duration,
    answered: u64,
    misses: u32,
    indexed: Vec<(usize, usize, Rank)>,
    reported: (AgentStatus, AgentState),
}

impl Agent {
    fn state(&self) -> AgentState {
        if self.offer.is_some() {
            AgentState::Offered
        } else if self.calls + self.chats > 0 {
            AgentState::InCall
        } else if self.wrap_until.is_some() {
            AgentState::WrapUp
        } else {
            AgentState::Waiting
        }
    }

    fn offerable(&self) -> bool {
        self.status == AgentStatus::Idle
            && self.offer.is_none()
            && self.wrap_until.is_none()
            && self.ready_at.is_none()
    }

    fn has_capacity(&self, channel: Channel) -> bool {
        match channel {
            Channel::Call => self.calls == 0 && (self.chats == 0 || self.chat_during_call),
            Channel::Chat => self.chats < self.max_chats && (self.calls == 0 || self.chat_during_call),
        }
    }

    /// Sum of the agent's levels on the required skills, or `None` if a requirement is not met.
    fn skill_score(&self, reqs: &[(u32, u8)]) -> Option<u32> {
        let mut score = 0;
        for (skill, min) in reqs {
            let i = self.skills.binary_search_by_key(skill, |(s, _)| *s).ok()?;
            let level = self.skills.get(i)?.1;
            if level < *min {
                return None;
            }
            score += u32::from(level);
        }
        Some(score)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Waiting,
    Offered,
    Connected { agent: usize, at: Instant },
}

#[derive(Debug)]
struct Contact {
    queue: usize,
    channel: Channel,
    priority: u8,
    req: usize,
    entered: Instant,
    reference: String,
    phase: Phase,
    callback: bool,
    offers: Vec<OfferId>,
    max_wait_at: Option<Instant>,
    announce_at: Option<Instant>,
}

#[derive(Debug, Clone, Copy)]
struct Offer {
    contact: ContactId,
    agent: usize,
    expires: Instant,
}

/// The omnichannel ACD, sans-IO.
///
/// Drive it with the command methods (`enqueue`, `accept`, `set_status`, …) and [`Acd::handle_timeout`];
/// after each, drain [`Acd::poll_event`] and re-arm the timer from [`Acd::poll_timeout`]. Every command
/// runs the routing it makes possible before returning, so its offers are already in the event queue.
#[derive(Debug)]
pub struct Acd {
    cfg: AcdConfig,
    rng: StdRng,
    queues: Vec<Queue>,
    queue_names: BTreeMap<String, usize>,
    agents: Vec<Agent>,
    agent_ids: BTreeMap<AgentId, usize>,
    contacts: BTreeMap<ContactId, Contact>,
    offers: BTreeMap<OfferId, Offer>,
    timers: BTreeSet<(Instant, Timer)>,
    skill_ids: BTreeMap<String, u32>,
    req_sets: Vec<Reqs>,
    req_ids: BTreeMap<Reqs, usize>,
    /// (queue, channel) lanes that may have a routable contact.
    dirty: BTreeSet<(usize, usize)>,
    events: VecDeque<QueueEvent>,
    next_contact: u64,
    next_offer: u64,
}

impl Acd {
    pub fn new(config: AcdConfig, seed: u64) -> Self {
        Self {
            cfg: config,
            rng: StdRng::seed_from_u64(seed),
            queues: Vec::new(),
            queue_names: BTreeMap::new(),
            agents: Vec::new(),
            agent_ids: BTreeMap::new(),
            contacts: BTreeMap::new(),
            offers: BTreeMap::new(),
            timers: BTreeSet::new(),
            skill_ids: BTreeMap::new(),
            req_sets: Vec::new(),
            req_ids: BTreeMap::new(),
            dirty: BTreeSet::new(),
            events: VecDeque::new(),
            next_contact: 1,
            next_offer: 1,
        }
    }

    pub fn add_queue(&mut self, q: QueueConfig) -> Result<(), QueueError> {
        if q.name.is_empty() {
            return Err(QueueError::InvalidConfig("queue name is empty"));
        }
        if self.queue_names.contains_key(&q.name) {
            return Err(QueueError::DuplicateQueue(q.name));
        }
        if q.max_len == 0 {
            return Err(QueueError::InvalidConfig("max_len must be at least 1"));
        }
        if q.offer_timeout.is_zero() {
            return Err(QueueError::InvalidConfig("offer_timeout must be positive"));
        }
        if q.announce_every.is_some_and(|d| d.is_zero()) {
            return Err(QueueError::InvalidConfig("announce_every must be positive"));
        }
        let reqs = self.intern_skills(&q.skills)?;
        let idx = self.queues.len();
        self.queue_names.insert(q.name.clone(), idx);
        self.queues.push(Queue {
            cfg: q,
            reqs,
            lanes: [Lane::default(), Lane::default()],
            available: [BTreeSet::new(), BTreeSet::new()],
            members: Vec::new(),
            rr_last: None,
            load: 0,
            stats: QueueStats::default(),
            handled: 0,
            handle_total: Duration::ZERO,
        });
        Ok(())
    }

    /// Adds an agent, `Offline`. Agent order (top-down, round-robin, ties) is the order of `add_agent`.
    pub fn add_agent(&mut self, a: AgentConfig) -> Result<(), QueueError> {
        if self.agent_ids.contains_key(&a.id) {
            return Err(QueueError::DuplicateAgent(a.id));
        }
        if a.max_chats > MAX_CHATS_LIMIT {
            return Err(QueueError::InvalidConfig("max_chats is above 100"));
        }
        let mut queues = Vec::with_capacity(a.queues.len());
        for name in &a.queues {
            let q = self.queue_index(name)?;
            if !queues.contains(&q) {
                queues.push(q);
            }
        }
        let skills = self.intern_skills(&a.skills)?;
        let idx = self.agents.len();
        for &q in &queues {
            if let Some(queue) = self.queues.get_mut(q) {
                queue.members.push(idx);
            }
        }
        self.agent_ids.insert(a.id.clone(), idx);
        self.agents.push(Agent {
            id: a.id,
            skills,
            queues,
            max_chats: a.max_chats,
            chat_during_call: a.chat_during_call,
            status: AgentStatus::Offline,
            calls: 0,
            chats: 0,
            offer: None,
            wrap_until: None,
            ready_at: None,
            idle_since: None,
            talk: Duration::ZERO,
            answered: 0,
            misses: 0,
            indexed: Vec::new(),
            reported: (AgentStatus::Offline, AgentState::Waiting),
        });
        Ok(())
    }

    /// The agent's choice. Leaving `Idle` while an offer rings withdraws it (no penalty) and the contact
    /// goes back to routing. Switching to `Idle` resets the no-answer count and starts the idle clock.
    pub fn set_status(
        &mut self,
        now: Instant,
        agent: &AgentId,
        status: AgentStatus,
    ) -> Result<(), QueueError> {
        let a = self.agent_index(agent)?;
        let Some(ag) = self.agents.get_mut(a) else {
            return Ok(());
        };
        if ag.status == status {
            return Ok(());
        }
        ag.status = status;
        if status == AgentStatus::Idle {
            ag.misses = 0;
            if ag.calls + ag.chats == 0 {
                ag.idle_since = Some(now);
            }
        } else if let Some(offer) = ag.offer {
            let contact = self.offers.get(&offer).map(|o| o.contact);
            self.end_offer(now, offer, OfferEndReason::AgentUnavailable);
            if let Some(contact) = contact {
                self.requeue_if_unoffered(contact);
            }
        }
        self.refresh_agent(a, ChangeReason::Requested);
        self.route(now);
        Ok(())
    }

    /// Puts a contact in a queue; it is offered at once if an agent is available.
    pub fn enqueue(&mut self, now: Instant, c: NewContact) -> Result<ContactId, QueueError> {
        let q = self.queue_index(&c.queue)?;
        if c.priority > MAX_PRIORITY {
            return Err(QueueError::InvalidPriority(c.priority));
        }
        let mut reqs = self.intern_skills(&c.skills)?;
        let queue = self
            .queues
            .get(q)
            .ok_or(QueueError::UnknownQueue(c.queue.clone()))?;
        if queue.load >= queue.cfg.max_len {
            return Err(QueueError::QueueFull {
                queue: c.queue,
                max_len: queue.cfg.max_len,
                overflow: queue.cfg.overflow.clone(),
            });
        }
        for &(skill, min) in &queue.reqs {
            match reqs.binary_search_by_key(&skill, |(s, _)| *s) {
                Ok(i) => {
                    if let Some(r) = reqs.get_mut(i) {
                        r.1 = r.1.max(min);
                    }
                }
                Err(i) => reqs.insert(i, (skill, min)),
            }
        }
        let req = self.intern_reqs(reqs);
        let id = ContactId(self.next_contact);
        self.next_contact += 1;
        let Some(queue) = self.queues.get_mut(q) else {
            return Err(QueueError::UnknownQueue(c.queue));
        };
        let max_wait_at = queue.cfg.max_wait.map(|d| now + d);
        let announce_at = queue.cfg.announce_every.map(|d| now + d);
        queue.load += 1;
        queue.stats.joined += 1;
        if let Some(lane) = queue.lanes.get_mut(c.channel.index()) {
            lane.insert(id, c.priority);
        }
        self.events.push_back(QueueEvent::Joined {
            contact: id,
            queue: queue.cfg.name.clone(),
            channel: c.channel,
            priority: c.priority,
        });
        if let Some(t) = max_wait_at {
            self.timers.insert((t, Timer::MaxWait(id)));
        }
        if let Some(t) = announce_at {
            self.timers.insert((t, Timer::Announce(id)));
        }
        self.contacts.insert(
            id,
            Contact {
                queue: q,
                channel: c.channel,
                priority: c.priority,
                req,
                entered: now,
                reference: c.reference,
                phase: Phase::Waiting,
                callback: false,
                offers: Vec::new(),
                max_wait_at,
                announce_at,
            },
        );
        self.dirty.insert((q, c.channel.index()));
        self.route(now);
        Ok(id)
    }

    /// The agent answered. Ring-all: the other offers of the contact are withdrawn.
    pub fn accept(&mut self, now: Instant, offer: OfferId) -> Result<(), QueueError> {
        let o = self
            .offers
            .remove(&offer)
            .ok_or(QueueError::OfferNotPending(offer))?;
        self.timers.remove(&(o.expires, Timer::OfferTimeout(offer)));
        let Some(c) = self.contacts.get_mut(&o.contact) else {
            return Err(QueueError::OfferNotPending(offer));
        };
        c.offers.retain(|x| *x != offer);
        c.phase = Phase::Connected {
            agent: o.agent,
            at: now,
        };
        let others = std::mem::take(&mut c.offers);
        let (q, channel, wait) = (c.queue, c.channel, now.saturating_duration_since(c.entered));
        let timers = [
            c.max_wait_at.take().map(|t| (t, Timer::MaxWait(o.contact))),
            c.announce_at.take().map(|t| (t, Timer::Announce(o.contact))),
        ];
        for t in timers.into_iter().flatten() {
            self.timers.remove(&t);
        }
        for other in others {
            self.end_offer(now, other, OfferEndReason::AnsweredElsewhere);
        }
        let mut queue_name = String::new();
        if let Some(queue) = self.queues.get_mut(q) {
            queue.load = queue.load.saturating_sub(1);
            queue.stats.answered += 1;
            queue.stats.answered_wait_total += wait;
            if wait <= queue.cfg.service_level {
                queue.stats.answered_within_sl += 1;
            }
            queue_name.clone_from(&queue.cfg.name);
        }
        let mut agent_id = None;
        if let Some(ag) = self.agents.get_mut(o.agent) {
            ag.offer = None;
            ag.misses = 0;
            ag.answered += 1;
            match channel {
                Channel::Call => ag.calls += 1,
                Channel::Chat => ag.chats += 1,
            }
            agent_id = Some(ag.id.clone());
        }
        if let Some(agent) = agent_id {
            self.events.push_back(QueueEvent::Connected {
                offer,
                contact: o.contact,
                agent,
                queue: queue_name,
                wait,
            });
        }
        self.refresh_agent(o.agent, ChangeReason::Connected);
        self.route(now);
        Ok(())
    }

    /// The agent rejected the offer (or the phone was busy): the agent sits out `reject_delay` and the
    /// contact goes back to routing with its place.
    pub fn decline(&mut self, now: Instant, offer: OfferId) -> Result<(), QueueError> {
        let contact = self
            .offers
            .get(&offer)
            .ok_or(QueueError::OfferNotPending(offer))?
            .contact;
        self.end_offer(now, offer, OfferEndReason::Declined);
        self.requeue_if_unoffered(contact);
        self.route(now);
        Ok(())
    }

    /// The caller hung up (or the chat was closed) before being connected.
    pub fn abandon(&mut self, now: Instant, contact: ContactId) -> Result<(), QueueError> {
        self.leave(now, contact, LeaveReason::Abandoned)?;
        self.route(now);
        Ok(())
    }

    /// The caller pressed the callback key: the contact keeps its entry time and priority (its place),
    /// stops announcing and timing out, and is offered later as a callback. A ringing offer is withdrawn.
    pub fn request_callback(&mut self, now: Instant, contact: ContactId) -> Result<(), QueueError> {
        let c = self
            .contacts
            .get_mut(&contact)
            .ok_or(QueueError::UnknownContact(contact))?;
        if let Phase::Connected { .. } = c.phase {
            return Err(QueueError::ContactConnected(contact));
        }
        if c.channel != Channel::Call {
            return Err(QueueError::CallbackNeedsCall(contact));
        }
        if c.callback {
            return Ok(());
        }
        c.callback = true;
        let timers = [
            c.max_wait_at.take().map(|t| (t, Timer::MaxWait(contact))),
            c.announce_at.take().map(|t| (t, Timer::Announce(contact))),
        ];
        let offers = c.offers.clone();
        for t in timers.into_iter().flatten() {
            self.timers.remove(&t);
        }
        for offer in offers {
            self.end_offer(now, offer, OfferEndReason::CallbackRequested);
        }
        self.requeue_if_unoffered(contact);
        let position = self.position(now, contact).unwrap_or(0);
        if let Some(c) = self.contacts.get(&contact) {
            let queue = self.queue_name(c.queue);
            self.events.push_back(QueueEvent::CallbackRequested {
                contact,
                queue,
                position,
            });
        }
        self.route(now);
        Ok(())
    }

    /// The interaction ended: the agent goes to wrap-up (the queue's `wrap_up`), then back to waiting.
    pub fn finish(&mut self, now: Instant, contact: ContactId) -> Result<(), QueueError> {
        let c = self
            .contacts
            .get(&contact)
            .ok_or(QueueError::UnknownContact(contact))?;
        let Phase::Connected { agent: a, at } = c.phase else {
            return Err(QueueError::ContactNotConnected(contact));
        };
        let (q, channel) = (c.queue, c.channel);
        self.contacts.remove(&contact);
        let talk = now.saturating_duration_since(at);
        let (wrap_up, queue) = match self.queues.get_mut(q) {
            Some(queue) => {
                queue.handled += 1;
                queue.handle_total += talk + queue.cfg.wrap_up;
                (queue.cfg.wrap_up, queue.cfg.name.clone())
            }
            None => (Duration::ZERO, String::new()),
        };
        let Some(ag) = self.agents.get_mut(a) else {
            return Ok(());
        };
        match channel {
            Channel::Call => ag.calls = ag.calls.saturating_sub(1),
            Channel::Chat => ag.chats = ag.chats.saturating_sub(1),
        }
        ag.talk += talk;
        let agent = ag.id.clone();
        if !wrap_up.is_zero() {
            let until = now + wrap_up;
            if let Some(old) = ag.wrap_until.replace(until) {
                self.timers.remove(&(old, Timer::WrapUp(a)));
            }
            self.timers.insert((until, Timer::WrapUp(a)));
        } else if ag.calls + ag.chats == 0 && ag.wrap_until.is_none() {
            ag.idle_since = Some(now);
        }
        self.events.push_back(QueueEvent::Finished {
            contact,
            agent,
            queue,
            talk,
        });
        self.refresh_agent(a, ChangeReason::Finished);
        self.route(now);
        Ok(())
    }

    /// Fires every timer due at `now`: offer timeouts, wrap-up ends, agent delays, max waits and
    /// announcements, then routes.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(&(at, timer)) = self.timers.first() {
            if at > now {
                break;
            }
            self.timers.pop_first();
            match timer {
                Timer::OfferTimeout(offer) => {
                    if let Some(contact) = self.offers.get(&offer).map(|o| o.contact) {
                        self.end_offer(now, offer, OfferEndReason::NoAnswer);
                        self.requeue_if_unoffered(contact);
                    }
                }
                Timer::WrapUp(a) => {
                    if let Some(ag) = self.agents.get_mut(a) {
                        ag.wrap_until = None;
                        if ag.calls + ag.chats == 0 {
                            ag.idle_since = Some(now);
                        }
                    }
                    self.refresh_agent(a, ChangeReason::WrapUpEnded);
                }
                Timer::AgentReady(a) => {
                    if let Some(ag) = self.agents.get_mut(a) {
                        ag.ready_at = None;
                    }
                    self.refresh_agent(a, ChangeReason::OfferEnded);
                }
                Timer::MaxWait(contact) => {
                    let overflow = self
                        .contacts
                        .get_mut(&contact)
                        .map(|c| {
                            c.max_wait_at = None;
                            c.queue
                        })
                        .and_then(|q| self.queues.get(q))
                        .and_then(|q| q.cfg.overflow.clone());
                    let reason = overflow.map_or(LeaveReason::Timeout, LeaveReason::Overflow);
                    // The contact exists: its timer was removed whenever it left.
                    let _ = self.leave(now, contact, reason);
                }
                Timer::Announce(contact) => self.announce(now, contact),
            }
        }
        self.route(now);
    }

    pub fn poll_event(&mut self) -> Option<QueueEvent> {
        self.events.pop_front()
    }

    /// The earliest timer deadline; call [`Acd::handle_timeout`] then.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.first().map(|(at, _)| *at)
    }

    /// Live figures and KPI counters of a queue.
    pub fn stats(&self, now: Instant, queue: &str) -> Result<QueueStats, QueueError> {
        let q = self.queue_index(queue)?;
        let queue = self
            .queues
            .get(q)
            .ok_or_else(|| QueueError::UnknownQueue(queue.to_owned()))?;
        let mut s = queue.stats.clone();
        s.waiting = queue.lanes.iter().map(|l| l.fifo.len()).sum();
        s.offering = queue.load.saturating_sub(s.waiting);
        s.longest_wait = queue
            .lanes
            .iter()
            .filter_map(|l| l.fifo.first())
            .filter_map(|id| self.contacts.get(id))
            .map(|c| now.saturating_duration_since(c.entered))
            .max();
        for ag in queue.members.iter().filter_map(|a| self.agents.get(*a)) {
            match ag.status {
                AgentStatus::Offline => s.agents_offline += 1,
                AgentStatus::Busy | AgentStatus::Break | AgentStatus::Meeting => s.agents_away += 1,
                AgentStatus::Idle if ag.offerable() && ag.state() == AgentState::Waiting => {
                    s.agents_available += 1;
                }
                AgentStatus::Idle => s.agents_busy += 1,
            }
        }
        Ok(s)
    }

    /// An agent's status and state.
    pub fn agent(&self, agent: &AgentId) -> Result<(AgentStatus, AgentState), QueueError> {
        let ag = self
            .agents
            .get(self.agent_index(agent)?)
            .ok_or_else(|| QueueError::UnknownAgent(agent.clone()))?;
        Ok((ag.status, ag.state()))
    }

    /// A waiting contact's 1-based position among the waiting contacts of its queue and channel, in
    /// routing order; `None` if it is not waiting.
    pub fn position(&self, now: Instant, contact: ContactId) -> Option<usize> {
        let c = self.contacts.get(&contact)?;
        if c.phase != Phase::Waiting {
            return None;
        }
        let queue = self.queues.get(c.queue)?;
        let lane = queue.lanes.get(c.channel.index())?;
        let cutoff = queue.cfg.starvation_age.and_then(|a| now.checked_sub(a));
        let aged = |id: &ContactId| {
            cutoff.is_some_and(|cut| self.contacts.get(id).is_some_and(|c| c.entered <= cut))
        };
        let aged_ahead = lane.fifo.range(..contact).take_while(|id| aged(id)).count();
        if aged(&contact) {
            return Some(aged_ahead + 1);
        }
        let aged_total = lane.fifo.iter().take_while(|id| aged(id)).count();
        let ranked_ahead = lane
            .ranked
            .range(..(c.priority, contact))
            .filter(|(_, id)| !aged(id))
            .count();
        Some(aged_total + ranked_ahead + 1)
    }

    // ---- internals -------------------------------------------------------------------------------

    fn queue_index(&self, name: &str) -> Result<usize, QueueError> {
        self.queue_names
            .get(name)
            .copied()
            .ok_or_else(|| QueueError::UnknownQueue(name.to_owned()))
    }

    fn agent_index(&self, id: &AgentId) -> Result<usize, QueueError> {
        self.agent_ids
            .get(id)
            .copied()
            .ok_or_else(|| QueueError::UnknownAgent(id.clone()))
    }

    fn queue_name(&self, q: usize) -> String {
        self.queues.get(q).map(|q| q.cfg.name.clone()).unwrap_or_default()
    }

    fn intern_skills(&mut self, skills: &[Skill]) -> Result<Reqs, QueueError> {
        let mut out: Reqs = Vec::with_capacity(skills.len());
        for s in skills {
            if s.level == 0 || s.level > MAX_SKILL_LEVEL {
                return Err(QueueError::InvalidSkillLevel {
                    skill: s.name.clone(),
                    level: s.level,
                });
            }
            let next = u32::try_from(self.skill_ids.len()).unwrap_or(u32::MAX);
            let id = *self.skill_ids.entry(s.name.clone()).or_insert(next);
            match out.binary_search_by_key(&id, |(k, _)| *k) {
                Ok(i) => {
                    if let Some(r) = out.get_mut(i) {
                        r.1 = r.1.max(s.level);
                    }
                }
                Err(i) => out.insert(i, (id, s.level)),
            }
        }
        Ok(out)
    }

    fn intern_reqs(&mut self, reqs: Reqs) -> usize {
        if let Some(&i) = self.req_ids.get(&reqs) {
            return i;
        }
        let i = self.req_sets.len();
        self.req_sets.push(reqs.clone());
        self.req_ids.insert(reqs, i);
        i
    }

    fn rank(strategy: Strategy, a: usize, ag: &Agent) -> Rank {
        match strategy {
            Strategy::LongestIdleAgent => Rank::Idle(ag.idle_since),
            Strategy::AgentWithLeastTalkTime => Rank::Talk(ag.talk),
            Strategy::AgentWithFewestCalls => Rank::Answered(ag.answered),
            Strategy::RoundRobin | Strategy::TopDown | Strategy::RingAll | Strategy::Random => Rank::Order(a),
        }
    }

    /// Re-indexes an agent after any change and reports a status/state change.
    fn refresh_agent(&mut self, a: usize, reason: ChangeReason) {
        let Some(ag) = self.agents.get_mut(a) else { return };
        for (q, ch, rank) in ag.indexed.drain(..) {
            if let Some(set) = self.queues.get_mut(q).and_then(|q| q.available.get_mut(ch)) {
                set.remove(&(rank, a));
            }
        }
        if ag.offerable() {
            for &q in &ag.queues {
                let Some(queue) = self.queues.get_mut(q) else {
                    continue;
                };
                for ch in Channel::ALL {
                    if !ag.has_capacity(ch) {
                        continue;
                    }
                    let rank = Self::rank(queue.cfg.strategy, a, ag);
                    if let Some(set) = queue.available.get_mut(ch.index()) {
                        set.insert((rank, a));
                        ag.indexed.push((q, ch.index(), rank));
                    }
                    if queue.lanes.get(ch.index()).is_some_and(|l| !l.fifo.is_empty()) {
                        self.dirty.insert((q, ch.index()));
                    }
                }
            }
        }
        let now_reported = (ag.status, ag.state());
        if now_reported != ag.reported {
            ag.reported = now_reported;
            self.events.push_back(QueueEvent::AgentStateChanged {
                agent: ag.id.clone(),
                status: now_reported.0,
                state: now_reported.1,
                reason,
            });
        }
    }

    /// Ends an offer that was not accepted: agent side, penalties and the event. The contact side is the
    /// caller's (see `requeue_if_unoffered`).
    fn end_offer(&mut self, now: Instant, offer: OfferId, reason: OfferEndReason) {
        let Some(o) = self.offers.remove(&offer) else {
            return;
        };
        self.timers.remove(&(o.expires, Timer::OfferTimeout(offer)));
        let q = match self.contacts.get_mut(&o.contact) {
            Some(c) => {
                c.offers.retain(|x| *x != offer);
                Some(c.queue)
            }
            None => None,
        };
        let max_no_answer = q
            .and_then(|q| self.queues.get(q))
            .map_or(0, |q| q.cfg.max_no_answer);
        let Some(ag) = self.agents.get_mut(o.agent) else {
            return;
        };
        ag.offer = None;
        let mut change = ChangeReason::OfferEnded;
        let delay = match reason {
            OfferEndReason::Declined => Some(self.cfg.reject_delay),
            OfferEndReason::NoAnswer => {
                ag.misses += 1;
                if max_no_answer > 0 && ag.misses >= max_no_answer {
                    change = ChangeReason::MaxNoAnswer { misses: ag.misses };
                    ag.status = AgentStatus::Break;
                    ag.misses = 0;
                    None
                } else {
                    Some(self.cfg.no_answer_delay)
                }
            }
            _ => None,
        };
        if let Some(d) = delay.filter(|d| !d.is_zero()) {
            let at = now + d;
            if let Some(old) = ag.ready_at.replace(at) {
                self.timers.remove(&(old, Timer::AgentReady(o.agent)));
            }
            self.timers.insert((at, Timer::AgentReady(o.agent)));
        }
        let agent = ag.id.clone();
        self.events.push_back(QueueEvent::OfferEnded {
            offer,
            contact: o.contact,
            agent,
            reason,
        });
        self.refresh_agent(o.agent, change);
    }

    /// Puts an offered contact whose last offer ended back in its lane, with its original place.
    fn requeue_if_unoffered(&mut self, contact: ContactId) {
        let Some(c) = self.contacts.get_mut(&contact) else {
            return;
        };
        if c.phase != Phase::Offered || !c.offers.is_empty() {
            return;
        }
        c.phase = Phase::Waiting;
        let (q, ch) = (c.queue, c.channel.index());
        if let Some(lane) = self.queues.get_mut(q).and_then(|q| q.lanes.get_mut(ch)) {
            lane.insert(contact, c.priority);
        }
        self.dirty.insert((q, ch));
    }

    /// Removes a not-connected contact with a terminal `Left` event.
    fn leave(&mut self, now: Instant, contact: ContactId, reason: LeaveReason) -> Result<(), QueueError> {
        let c = self
            .contacts
            .get(&contact)
            .ok_or(QueueError::UnknownContact(contact))?;
        if let Phase::Connected { .. } = c.phase {
            return Err(QueueError::ContactConnected(contact));
        }
        for offer in c.offers.clone() {
            self.end_offer(now, offer, OfferEndReason::ContactLeft);
        }
        let Some(c) = self.contacts.remove(&contact) else {
            return Ok(());
        };
        for t in [
            c.max_wait_at.map(|t| (t, Timer::MaxWait(contact))),
            c.announce_at.map(|t| (t, Timer::Announce(contact))),
        ]
        .into_iter()
        .flatten()
        {
            self.timers.remove(&t);
        }
        let wait = now.saturating_duration_since(c.entered);
        let Some(queue) = self.queues.get_mut(c.queue) else {
            return Ok(());
        };
        if let Some(lane) = queue.lanes.get_mut(c.channel.index()) {
            lane.remove(contact, c.priority);
        }
        queue.load = queue.load.saturating_sub(1);
        match &reason {
            LeaveReason::Abandoned => {
                queue.stats.abandoned += 1;
                if wait <= queue.cfg.service_level {
                    queue.stats.abandoned_within_sl += 1;
                }
            }
            LeaveReason::Timeout => queue.stats.timed_out += 1,
            LeaveReason::Overflow(_) => queue.stats.overflowed += 1,
        }
        let queue = queue.cfg.name.clone();
        self.events.push_back(QueueEvent::Left {
            contact,
            queue,
            reason,
            wait,
        });
        Ok(())
    }

    fn announce(&mut self, now: Instant, contact: ContactId) {
        let Some(c) = self.contacts.get_mut(&contact) else {
            return;
        };
        c.announce_at = None;
        let Some(queue) = self.queues.get(c.queue) else {
            return;
        };
        let Some(every) = queue.cfg.announce_every else {
            return;
        };
        if c.callback || matches!(c.phase, Phase::Connected { .. }) {
            return;
        }
        let next = now + every;
        c.announce_at = Some(next);
        self.timers.insert((next, Timer::Announce(contact)));
        let Some(position) = self.position(now, contact) else {
            return;
        };
        let staffed = queue
            .members
            .iter()
            .filter_map(|a| self.agents.get(*a))
            .filter(|a| a.status == AgentStatus::Idle)
            .count();
        let aht = match u32::try_from(queue.handled) {
            Ok(n) if n > 0 => queue.handle_total / n,
            _ => self.cfg.default_handle_time,
        };
        let estimated_wait = (staffed > 0).then(|| {
            let nanos = aht.as_nanos().saturating_mul(position as u128) / staffed as u128;
            Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
        });
        let queue = queue.cfg.name.clone();
        self.events.push_back(QueueEvent::Announce {
            contact,
            queue,
            position,
            estimated_wait,
        });
    }

    /// Routes every lane that may have become routable, oldest head contact first (so a freed agent
    /// shared by several queues goes to the queue whose caller has waited longest).
    fn route(&mut self, now: Instant) {
        while !self.dirty.is_empty() {
            let mut lanes: Vec<(Instant, usize, usize)> = std::mem::take(&mut self.dirty)
                .into_iter()
                .filter_map(|(q, ch)| {
                    let head = self.queues.get(q)?.lanes.get(ch)?.fifo.first()?;
                    Some((self.contacts.get(head)?.entered, q, ch))
                })
                .collect();
            lanes.sort_unstable();
            for (_, q, ch) in lanes {
                self.route_lane(now, q, ch);
            }
        }
    }

    fn lane_has_agents(&self, q: usize, ch: usize) -> bool {
        self.queues
            .get(q)
            .and_then(|q| q.available.get(ch))
            .is_some_and(|s| !s.is_empty())
    }

    /// One lane: aged contacts first (FIFO), then by (priority, arrival). A requirement set that found no
    /// agent is not tried again in this pass.
    fn route_lane(&mut self, now: Instant, q: usize, ch: usize) {
        let Some(queue) = self.queues.get(q) else { return };
        let cutoff = queue.cfg.starvation_age.and_then(|a| now.checked_sub(a));
        let mut failed: Vec<usize> = Vec::new();
        let mut cursor = ContactId(0);
        if let Some(cut) = cutoff {
            loop {
                if !self.lane_has_agents(q, ch) {
                    return;
                }
                let next = self.queues.get(q).and_then(|q| q.lanes.get(ch)).and_then(|l| {
                    l.fifo
                        .range((Bound::Excluded(cursor), Bound::Unbounded))
                        .next()
                        .copied()
                });
                let Some(id) = next else { break };
                let Some((entered, req)) = self.contacts.get(&id).map(|c| (c.entered, c.req)) else {
                    break;
                };
                if entered > cut {
                    break;
                }
                cursor = id;
                if !failed.contains(&req) && !self.try_offer(now, id) {
                    failed.push(req);
                }
            }
        }
        let mut rcursor: Option<(u8, ContactId)> = None;
        loop {
            if !self.lane_has_agents(q, ch) {
                return;
            }
            let next = self
                .queues
                .get(q)
                .and_then(|q| q.lanes.get(ch))
                .and_then(|l| match rcursor {
                    None => l.ranked.first().copied(),
                    Some(k) => l
                        .ranked
                        .range((Bound::Excluded(k), Bound::Unbounded))
                        .next()
                        .copied(),
                });
            let Some(key) = next else { return };
            rcursor = Some(key);
            let Some((entered, req)) = self.contacts.get(&key.1).map(|c| (c.entered, c.req)) else {
                return;
            };
            if cutoff.is_some_and(|cut| entered <= cut) {
                continue; // tried in the aged pass
            }
            if !failed.contains(&req) && !self.try_offer(now, key.1) {
                failed.push(req);
            }
        }
    }

    /// Picks agent(s) for one waiting contact by the queue's strategy and offers. False if none fits.
    fn try_offer(&mut self, now: Instant, contact: ContactId) -> bool {
        let Some(c) = self.contacts.get(&contact) else {
            return false;
        };
        let Some(queue) = self.queues.get(c.queue) else {
            return false;
        };
        let Some(set) = queue.available.get(c.channel.index()) else {
            return false;
        };
        let Some(reqs) = self.req_sets.get(c.req) else {
            return false;
        };
        let score = |a: usize| self.agents.get(a).and_then(|ag| ag.skill_score(reqs));
        let chosen: Vec<usize> = match queue.cfg.strategy {
            Strategy::RingAll => set
                .iter()
                .filter(|(_, a)| score(*a).is_some())
                .map(|(_, a)| *a)
                .collect(),
            Strategy::Random => {
                let eligible: Vec<usize> = set
                    .iter()
                    .filter(|(_, a)| score(*a).is_some())
                    .map(|(_, a)| *a)
                    .collect();
                if eligible.is_empty() {
                    Vec::new()
                } else {
                    let i = self.rng.random_range(0..eligible.len());
                    eligible.get(i).copied().into_iter().collect()
                }
            }
            Strategy::RoundRobin => {
                let start = queue
                    .rr_last
                    .map_or(Bound::Unbounded, |a| Bound::Excluded((Rank::Order(a), a)));
                set.range((start, Bound::Unbounded))
                    .chain(set.iter())
                    .find(|(_, a)| score(*a).is_some())
                    .map(|(_, a)| *a)
                    .into_iter()
                    .collect()
            }
            _ => {
                let mut best: Option<(Rank, u32, usize)> = None;
                for &(rank, a) in set {
                    if best.is_some_and(|(r, _, _)| r != rank) {
                        break;
                    }
                    if let Some(s) = score(a) {
                        if best.is_none_or(|(_, bs, _)| s > bs) {
                            best = Some((rank, s, a));
                        }
                    }
                }
                best.map(|(_, _, a)| a).into_iter().collect()
            }
        };
        if chosen.is_empty() {
            return false;
        }
        let (q, ch, prio) = (c.queue, c.channel, c.priority);
        if let Some(queue) = self.queues.get_mut(q) {
            if let Some(lane) = queue.lanes.get_mut(ch.index()) {
                lane.remove(contact, prio);
            }
            queue.rr_last = chosen.last().copied();
        }
        if let Some(c) = self.contacts.get_mut(&contact) {
            c.phase = Phase::Offered;
        }
        for a in chosen {
            self.make_offer(now, contact, a);
        }
        true
    }

    fn make_offer(&mut self, now: Instant, contact: ContactId, a: usize) {
        let Some(c) = self.contacts.get_mut(&contact) else {
            return;
        };
        let Some(queue) = self.queues.get_mut(c.queue) else {
            return;
        };
        let Some(ag) = self.agents.get_mut(a) else { return };
        let offer = OfferId(self.next_offer);
        self.next_offer += 1;
        let expires = now + queue.cfg.offer_timeout;
        queue.stats.offers += 1;
        c.offers.push(offer);
        ag.offer = Some(offer);
        self.offers.insert(
            offer,
            Offer {
                contact,
                agent: a,
                expires,
            },
        );
        self.timers.insert((expires, Timer::OfferTimeout(offer)));
        self.events.push_back(QueueEvent::Offered {
            offer,
            contact,
            agent: ag.id.clone(),
            queue: queue.cfg.name.clone(),
            channel: c.channel,
            callback: c.callback,
            reference: c.reference.clone(),
            expires,
        });
        self.refresh_agent(a, ChangeReason::Offered);
    }
}

#[cfg(test)]
impl Acd {
    /// Checks the internal invariants; panics with a message on the first broken one.
    pub(crate) fn check_invariants(&self) {
        for (a, ag) in self.agents.iter().enumerate() {
            assert!(ag.calls <= 1, "agent {} has {} calls", ag.id, ag.calls);
            assert!(ag.chats <= ag.max_chats, "agent {} over chat capacity", ag.id);
            if !ag.chat_during_call {
                assert!(
                    ag.calls == 0 || ag.chats == 0,
                    "agent {} mixes call and chats",
                    ag.id
                );
            }
            let offers = self.offers.values().filter(|o| o.agent == a).count();
            assert_eq!(
                offers,
                usize::from(ag.offer.is_some()),
                "agent {} offer bookkeeping",
                ag.id
            );
            if !ag.offerable() {
                assert!(ag.indexed.is_empty(), "unavailable agent {} is indexed", ag.id);
            }
        }
        let mut load = vec![0usize; self.queues.len()];
        for (id, c) in &self.contacts {
            let lane = &self.queues[c.queue].lanes[c.channel.index()];
            assert_eq!(
                lane.fifo.contains(id),
                c.phase == Phase::Waiting,
                "{id} lane membership"
            );
            match c.phase {
                Phase::Waiting => assert!(c.offers.is_empty()),
                Phase::Offered => {
                    assert!(!c.offers.is_empty(), "{id} offered without offers");
                    if self.queues[c.queue].cfg.strategy != Strategy::RingAll {
                        assert_eq!(c.offers.len(), 1, "{id} offered to several agents");
                    }
                }
                Phase::Connected { .. } => assert!(c.offers.is_empty()),
            }
            if !matches!(c.phase, Phase::Connected { .. }) {
                load[c.queue] += 1;
            }
        }
        for (q, queue) in self.queues.iter().enumerate() {
            assert_eq!(queue.load, load[q], "queue {} load", queue.cfg.name);
            for lane in &queue.lanes {
                assert_eq!(lane.fifo.len(), lane.ranked.len());
            }
        }
    }
}
