//! Identifiers, configuration and the input/output vocabulary of the ACD.

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, Instant};

use crate::error::QueueError;

/// Highest contact priority accepted (`0` is the most urgent, `9` the least).
pub const MAX_PRIORITY: u8 = 9;
/// Skill levels run from 1 (novice) to 10 (expert).
pub const MAX_SKILL_LEVEL: u8 = 10;
/// Upper bound on `AgentConfig::max_chats`.
pub const MAX_CHATS_LIMIT: u32 = 100;

/// An agent's identifier, chosen by the integration (login name, directory id).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AgentId(pub String);

impl fmt::Display for AgentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for AgentId {
    fn from(s: &str) -> Self {
        Self(s.to_owned())
    }
}

/// A contact (a waiting call or chat), numbered by the ACD in arrival order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ContactId(pub u64);

impl fmt::Display for ContactId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "contact-{}", self.0)
    }
}

/// One offer of one contact to one agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OfferId(pub u64);

impl fmt::Display for OfferId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "offer-{}", self.0)
    }
}

/// The medium of a contact. An agent holds at most one call, and up to `max_chats` chats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Channel {
    Call,
    Chat,
}

impl Channel {
    pub(crate) const ALL: [Self; 2] = [Self::Call, Self::Chat];

    pub(crate) fn index(self) -> usize {
        match self {
            Self::Call => 0,
            Self::Chat => 1,
        }
    }
}

/// What the agent chose (FreeSWITCH mod_callcenter "status").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AgentStatus {
    /// Ready to take contacts.
    Idle,
    /// Logged in but not taking queue contacts (outbound work, for example).
    Busy,
    Break,
    Meeting,
    /// Logged out. The initial status of every agent.
    Offline,
}

/// What the system sees the agent doing (mod_callcenter "state").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AgentState {
    /// Nothing in progress.
    Waiting,
    /// An offer is ringing.
    Offered,
    /// Handling at least one call or chat (an agent with chats below capacity may still be offered chats).
    InCall,
    /// After-call work: no offers until the queue's wrap-up time has passed.
    WrapUp,
}

/// How a queue picks among its eligible agents. Names are mod_callcenter's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Strategy {
    /// The agent idle for the longest time (since the end of their last wrap-up or their switch to idle).
    #[default]
    LongestIdleAgent,
    /// The next agent in agent order after the one offered last by this queue, wrapping around.
    RoundRobin,
    /// Always the first eligible agent in agent order.
    TopDown,
    /// The agent with the least total talk time.
    AgentWithLeastTalkTime,
    /// The agent who answered the fewest contacts.
    AgentWithFewestCalls,
    /// Offer to every eligible agent at once; the first to accept wins, the other offers are withdrawn.
    RingAll,
    /// A uniformly random eligible agent, from the ACD's seeded RNG.
    Random,
}

impl Strategy {
    pub const ALL: [Self; 7] = [
        Self::LongestIdleAgent,
        Self::RoundRobin,
        Self::TopDown,
        Self::AgentWithLeastTalkTime,
        Self::AgentWithFewestCalls,
        Self::RingAll,
        Self::Random,
    ];

    /// The name users know (`longest-idle-agent`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::LongestIdleAgent => "longest-idle-agent",
            Self::RoundRobin => "round-robin",
            Self::TopDown => "top-down",
            Self::AgentWithLeastTalkTime => "agent-with-least-talk-time",
            Self::AgentWithFewestCalls => "agent-with-fewest-calls",
            Self::RingAll => "ring-all",
            Self::Random => "random",
        }
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Strategy {
    type Err = QueueError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| QueueError::UnknownStrategy(s.to_owned()))
    }
}

/// A skill with a minimum level (on a contact or queue) or a level (on an agent).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Skill {
    pub name: String,
    /// 1–10.
    pub level: u8,
}

impl Skill {
    pub fn new(name: &str, level: u8) -> Self {
        Self {
            name: name.to_owned(),
            level,
        }
    }
}

/// Where a contact goes when its queue cannot keep it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Overflow {
    /// Another queue, by name. The integration re-enqueues the contact there.
    Queue(String),
    /// A node of the IVR flow that enqueued the contact.
    Node(String),
}

/// Global settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcdConfig {
    /// How long an agent is skipped after declining an offer. Default 5 s.
    pub reject_delay: Duration,
    /// How long an agent is skipped after letting an offer time out. Default 10 s.
    pub no_answer_delay: Duration,
    /// Handle time assumed for the estimated wait before a queue has finished any contact. Default 180 s.
    pub default_handle_time: Duration,
}

impl Default for AcdConfig {
    fn default() -> Self {
        Self {
            reject_delay: Duration::from_secs(5),
            no_answer_delay: Duration::from_secs(10),
            default_handle_time: Duration::from_secs(180),
        }
    }
}

/// One queue. Build with [`QueueConfig::new`] and adjust fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueConfig {
    pub name: String,
    /// Default `longest-idle-agent`.
    pub strategy: Strategy,
    /// Skills every contact of this queue requires, merged with the contact's own (the higher minimum wins).
    pub skills: Vec<Skill>,
    /// A contact waiting this long leaves (to `overflow` if set). Default none.
    pub max_wait: Option<Duration>,
    /// Contacts waiting or being offered; enqueue beyond this is refused. Default 1000.
    pub max_len: usize,
    /// Where contacts go on max wait or a full queue. Default none.
    pub overflow: Option<Overflow>,
    /// After-call work after each contact of this queue. Default 10 s.
    pub wrap_up: Duration,
    /// How long an offer rings before it counts as no answer. Default 20 s.
    pub offer_timeout: Duration,
    /// Interval of position/estimated-wait announcements, counted from entry. Default none (off).
    pub announce_every: Option<Duration>,
    /// Contacts waiting at least this long are served first, oldest first, whatever their priority.
    /// Default 120 s; `None` is strict priority.
    pub starvation_age: Option<Duration>,
    /// Consecutive missed offers that put an agent on break. Default 3; 0 turns it off.
    pub max_no_answer: u32,
    /// Service-level threshold for the KPIs. Default 20 s.
    pub service_level: Duration,
}

impl QueueConfig {
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            strategy: Strategy::default(),
            skills: Vec::new(),
            max_wait: None,
            max_len: 1000,
            overflow: None,
            wrap_up: Duration::from_secs(10),
            offer_timeout: Duration::from_secs(20),
            announce_every: None,
            starvation_age: Some(Duration::from_secs(120)),
            max_no_answer: 3,
            service_level: Duration::from_secs(20),
        }
    }
}

/// One agent. Agents start `Offline`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentConfig {
    pub id: AgentId,
    pub name: String,
    /// Skills with levels 1–10.
    pub skills: Vec<Skill>,
    /// Names of the queues this agent serves.
    pub queues: Vec<String>,
    /// Chats at once. Default 0 (calls only); at most [`MAX_CHATS_LIMIT`].
    pub max_chats: u32,
    /// Allow chats and a call at the same time (either way round). Default false.
    pub chat_during_call: bool,
}

impl AgentConfig {
    pub fn new(id: &str, queues: &[&str]) -> Self {
        Self {
            id: AgentId::from(id),
            name: id.to_owned(),
            skills: Vec::new(),
            queues: queues.iter().map(|q| (*q).to_owned()).collect(),
            max_chats: 0,
            chat_during_call: false,
        }
    }
}

/// A contact to enqueue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewContact {
    pub queue: String,
    pub channel: Channel,
    /// 0 (most urgent) to 9. Default 5.
    pub priority: u8,
    /// Skills the contact requires, with minimum levels.
    pub skills: Vec<Skill>,
    /// Opaque to the ACD (an interaction id, for instance); echoed in `Offered`.
    pub reference: String,
}

impl NewContact {
    pub fn new(queue: &str, channel: Channel) -> Self {
        Self {
            queue: queue.to_owned(),
            channel,
            priority: 5,
            skills: Vec::new(),
            reference: String::new(),
        }
    }
}

/// Why an offer ended without being accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OfferEndReason {
    Declined,
    /// The offer timed out.
    NoAnswer,
    /// Ring-all: another agent accepted first.
    AnsweredElsewhere,
    /// The contact abandoned, timed out or overflowed.
    ContactLeft,
    /// The agent changed status (logout, break…) while the offer rang.
    AgentUnavailable,
    /// The caller asked for a callback while the offer rang; the contact waits on as a callback.
    CallbackRequested,
}

/// Why a contact left its queue without being connected.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LeaveReason {
    Abandoned,
    /// Max wait reached, no overflow configured.
    Timeout,
    /// Max wait reached; the integration moves the contact to the target.
    Overflow(Overflow),
}

/// Why an agent's status or state changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ChangeReason {
    /// `set_status` by the agent or a supervisor.
    Requested,
    Offered,
    OfferEnded,
    Connected,
    Finished,
    WrapUpEnded,
    /// The agent missed this many offers in a row and was put on break.
    MaxNoAnswer {
        misses: u32,
    },
}

/// Everything the ACD reports, drained with [`crate::Acd::poll_event`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueueEvent {
    Joined {
        contact: ContactId,
        queue: String,
        channel: Channel,
        priority: u8,
    },
    /// Ring the agent (place the agent leg, or show the chat).
    Offered {
        offer: OfferId,
        contact: ContactId,
        agent: AgentId,
        queue: String,
        channel: Channel,
        callback: bool,
        reference: String,
        expires: Instant,
    },
    /// Stop ringing: the offer is gone.
    OfferEnded {
        offer: OfferId,
        contact: ContactId,
        agent: AgentId,
        reason: OfferEndReason,
    },
    /// Bridge the contact to the agent.
    Connected {
        offer: OfferId,
        contact: ContactId,
        agent: AgentId,
        queue: String,
        wait: Duration,
    },
    /// Terminal: a connected contact finished.
    Finished {
        contact: ContactId,
        agent: AgentId,
        queue: String,
        talk: Duration,
    },
    /// Terminal: a contact left without being connected.
    Left {
        contact: ContactId,
        queue: String,
        reason: LeaveReason,
        wait: Duration,
    },
    /// Tell the caller their place. `position` is 1-based among contacts of the same channel;
    /// `estimated_wait` is `None` when no agent of the queue is idle.
    Announce {
        contact: ContactId,
        queue: String,
        position: usize,
        estimated_wait: Option<Duration>,
    },
    /// The caller left the line; the contact keeps its place and will be offered as a callback.
    CallbackRequested {
        contact: ContactId,
        queue: String,
        position: usize,
    },
    AgentStateChanged {
        agent: AgentId,
        status: AgentStatus,
        state: AgentState,
        reason: ChangeReason,
    },
}

/// Live figures and KPIs of one queue (see docs/queues.md for the formulas).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueStats {
    pub waiting: usize,
    pub offering: usize,
    pub longest_wait: Option<Duration>,
    /// Members idle, waiting and offerable now.
    pub agents_available: usize,
    /// Members idle but ringing, in a contact, in wrap-up or in a reject/no-answer delay.
    pub agents_busy: usize,
    /// Members on busy, break or meeting.
    pub agents_away: usize,
    pub agents_offline: usize,
    pub joined: u64,
    /// Offers made (ring-all counts each agent).
    pub offers: u64,
    pub answered: u64,
    pub abandoned: u64,
    pub timed_out: u64,
    pub overflowed: u64,
    pub answered_within_sl: u64,
    pub abandoned_within_sl: u64,
    /// Sum of the queue waits of answered contacts.
    pub answered_wait_total: Duration,
}

impl QueueStats {
    /// SL1 = answered within T / answered (app_queue `ServicelevelPerf`).
    pub fn service_level(&self) -> Option<f64> {
        ratio(self.answered_within_sl, self.answered)
    }

    /// SL2 = (answered + abandoned within T) / (answered + abandoned) (`ServicelevelPerf2`).
    pub fn service_level_2(&self) -> Option<f64> {
        ratio(
            self.answered_within_sl + self.abandoned_within_sl,
            self.answered + self.abandoned,
        )
    }

    /// ASA = total wait of answered contacts / answered.
    pub fn average_speed_of_answer(&self) -> Option<Duration> {
        let n = u32::try_from(self.answered).ok().filter(|n| *n > 0)?;
        Some(self.answered_wait_total / n)
    }
}

#[allow(clippy::cast_precision_loss)] // KPI ratios: counts far below 2^52
fn ratio(num: u64, den: u64) -> Option<f64> {
    (den > 0).then(|| num as f64 / den as f64)
}
