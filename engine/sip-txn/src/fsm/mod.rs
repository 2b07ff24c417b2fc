//! The four RFC 3261 §17 transaction state machines (with the RFC 6026 Accepted states).
//!
//! Each machine is pure: its transitions take an input (a message, a TU response, a timer expiry) and
//! write what must happen into [`Effects`]; the [`crate::TxnLayer`] applies them (queues transmits, keeps the
//! deadline index, emits events, removes terminated transactions).

mod invite_client;
mod invite_server;
mod non_invite_client;
mod non_invite_server;

use std::time::Duration;

use sip_msg::Message;

pub use invite_client::{InviteClient, InviteClientState};
pub use invite_server::{InviteServer, InviteServerState};
pub use non_invite_client::{NonInviteClient, NonInviteClientState};
pub use non_invite_server::{NonInviteServer, NonInviteServerState};

use crate::timer::Timer;

/// A timer change requested by a machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimerOp {
    /// Arm (or re-arm) the timer to fire after the duration.
    Arm(Timer, Duration),
    /// Disarm the timer.
    Stop(Timer),
}

/// A notification for the TU produced by a machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Notice {
    /// Timer B, F or H fired.
    Timeout,
    /// Timer L fired in Accepted without an ACK.
    AckTimeout,
}

/// What one transition asks the layer to do.
#[derive(Debug, Default)]
pub(crate) struct Effects {
    pub(crate) transmit: Vec<Message>,
    pub(crate) timers: Vec<TimerOp>,
    pub(crate) notice: Option<Notice>,
    pub(crate) terminated: bool,
}

impl Effects {
    pub(crate) fn send(&mut self, message: Message) {
        self.transmit.push(message);
    }

    pub(crate) fn arm(&mut self, timer: Timer, after: Duration) {
        self.timers.push(TimerOp::Arm(timer, after));
    }

    pub(crate) fn stop(&mut self, timer: Timer) {
        self.timers.push(TimerOp::Stop(timer));
    }

    pub(crate) fn notify(&mut self, notice: Notice) {
        self.notice = Some(notice);
    }

    pub(crate) fn terminate(&mut self) {
        self.terminated = true;
    }
}

/// Whether a response that reached a client transaction goes up to the TU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Disposition {
    /// Pass it to the TU.
    Forward,
    /// A retransmission (or a late response) the transaction absorbed.
    Absorb,
}

/// What an ACK did to an INVITE server transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AckOutcome {
    /// ACK for a non-2xx (Completed → Confirmed) or a retransmitted ACK.
    Absorbed,
    /// The first ACK for our 2xx (Accepted): the TU must see it.
    AckFor2xx,
    /// The transaction has not sent a final response: the ACK matches nothing.
    Stray,
}
