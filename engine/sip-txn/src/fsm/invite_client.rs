//! INVITE client transaction (RFC 3261 17.1.1, as updated by RFC 6026 7.2).

use std::time::Duration;

use sip_msg::{Message, Request, Response};

use super::{Disposition, Effects, Notice};
use crate::timer::{Timer, TimerConfig};
use crate::wire;

/// The states of an INVITE client transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InviteClientState {
    /// INVITE sent, waiting for any response; Timer A retransmits (UDP), Timer B times out.
    Calling,
    /// A provisional response arrived; no more retransmissions.
    Proceeding,
    /// A 300-699 arrived and was ACKed; Timer D absorbs its retransmissions.
    Completed,
    /// A 2xx arrived (RFC 6026); 2xx retransmissions and forks go to the TU until Timer M.
    Accepted,
    /// Done; the layer removes the transaction.
    Terminated,
}

/// An INVITE client transaction.
///
/// RFC 6026 figure 3 (which replaces RFC 3261 figure 5):
///
/// ```text
///                                  |INVITE from TU
///                Timer A fires     |INVITE sent      Timer B fires
///                Reset A,          V                 or Transport Err.
///                INVITE sent +-----------+           inform TU
///                  +---------|           |--------------------------+
///                  |         |  Calling  |                          |
///                  +-------->|           |-----------+              |
/// 300-699                    +-----------+ 2xx       |              |
/// ACK sent                      |  |       2xx to TU |              |
/// resp. to TU                   |  |1xx              |              |
/// +-----------------------------+  |1xx to TU        |              |
/// |                                |                 |              |
/// |                1xx             V                 |              |
/// |                1xx to TU +-----------+           |              |
/// |                +---------|           |           |              |
/// |                |         |Proceeding |           |              |
/// |                +-------->|           |           |              |
/// |                          +-----------+ 2xx       |              |
/// |         300-699             |    |     2xx to TU |              |
/// |         ACK sent,  +--------+    +---------------+              |
/// |         resp. to TU|                             |              |
/// |                    |                             |              |
/// |                    V                             V              |
/// |              +-----------+                   +----------+       |
/// +------------->|           |Transport Err.     |          |       |
///                | Completed |Inform TU          | Accepted |       |
///             +--|           |-------+           |          |-+     |
///     300-699 |  +-----------+       |           +----------+ |     |
///     ACK sent|    ^  |              |               |  ^     |     |
///             |    |  |              |               |  |     |     |
///             +----+  |              |               |  +-----+     |
///                     |Timer D fires |  Timer M fires|    2xx       |
///                     |-             |             - |    2xx to TU |
///                     +--------+     |   +-----------+              |
///                              V     V   V                          |
///                             +------------+                        |
///                             |            |                        |
///                             | Terminated |<-----------------------+
///                             |            |
///                             +------------+
/// ```
///
/// Additions: after the TU sends a CANCEL for this INVITE, Timer B is re-armed for 64·T1 and also ends the
/// transaction in Proceeding (RFC 3261 9.1: "If no final response has been received after 64*T1 seconds,
/// the client SHOULD then consider the original transaction cancelled and SHOULD destroy the client
/// transaction"). Without a CANCEL, Proceeding waits for the final response as long as it takes; the TU
/// owns the ringing timeout.
#[derive(Debug, Clone)]
pub struct InviteClient {
    state: InviteClientState,
    request: Request,
    reliable: bool,
    config: TimerConfig,
    a_interval: Duration,
    ack: Option<Request>,
    cancel_sent: bool,
}

impl InviteClient {
    /// Sends the INVITE and enters Calling.
    pub(crate) fn start(request: Request, reliable: bool, config: TimerConfig, fx: &mut Effects) -> Self {
        fx.send(Message::Request(request.clone()));
        if !reliable {
            fx.arm(Timer::A, config.t1);
        }
        fx.arm(Timer::B, config.t1x64());
        Self {
            state: InviteClientState::Calling,
            request,
            reliable,
            config,
            a_interval: config.t1,
            ack: None,
            cancel_sent: false,
        }
    }

    /// The current state.
    #[must_use]
    pub fn state(&self) -> InviteClientState {
        self.state
    }

    /// The INVITE this transaction sends.
    #[must_use]
    pub fn request(&self) -> &Request {
        &self.request
    }

    pub(crate) fn on_response(&mut self, response: &Response, fx: &mut Effects) -> Disposition {
        use InviteClientState::{Accepted, Calling, Completed, Proceeding, Terminated};
        let status = response.status;
        let (next, disposition) = match self.state {
            Calling | Proceeding if status.is_provisional() => {
                fx.stop(Timer::A);
                if !self.cancel_sent {
                    fx.stop(Timer::B);
                }
                (Proceeding, Disposition::Forward)
            }
            Calling | Proceeding if status.is_success() => {
                fx.stop(Timer::A);
                fx.stop(Timer::B);
                fx.arm(Timer::M, self.config.t1x64());
                (Accepted, Disposition::Forward)
            }
            Calling | Proceeding => {
                // 300-699: the transaction itself ACKs (same branch, RFC 3261 17.1.1.3).
                fx.stop(Timer::A);
                fx.stop(Timer::B);
                let ack = wire::ack_for_non_2xx(&self.request, response);
                fx.send(Message::Request(ack.clone()));
                self.ack = Some(ack);
                if self.reliable {
                    fx.terminate();
                    (Terminated, Disposition::Forward)
                } else {
                    fx.arm(Timer::D, self.config.timer_d);
                    (Completed, Disposition::Forward)
                }
            }
            Completed => {
                if status.is_final() && !status.is_success() {
                    if let Some(ack) = &self.ack {
                        fx.send(Message::Request(ack.clone()));
                    }
                }
                (Completed, Disposition::Absorb)
            }
            // RFC 6026: every 2xx (retransmission or another fork) goes to the TU, which ACKs it.
            Accepted if status.is_success() => (Accepted, Disposition::Forward),
            Accepted => (Accepted, Disposition::Absorb),
            Terminated => (Terminated, Disposition::Absorb),
        };
        self.state = next;
        disposition
    }

    pub(crate) fn on_timer(&mut self, timer: Timer, fx: &mut Effects) {
        use InviteClientState::{Accepted, Calling, Completed, Proceeding, Terminated};
        self.state = match (self.state, timer) {
            (Calling, Timer::A) => {
                fx.send(Message::Request(self.request.clone()));
                self.a_interval = self.a_interval.saturating_mul(2);
                fx.arm(Timer::A, self.a_interval);
                Calling
            }
            (Calling, Timer::B) | (Proceeding, Timer::B) if self.state == Calling || self.cancel_sent => {
                fx.stop(Timer::A);
                fx.notify(Notice::Timeout);
                fx.terminate();
                Terminated
            }
            (Completed, Timer::D) | (Accepted, Timer::M) => {
                fx.terminate();
                Terminated
            }
            (state, _) => state,
        };
    }

    /// The TU sent a CANCEL for this INVITE: bound the wait for the final response (RFC 3261 9.1).
    pub(crate) fn on_cancel_sent(&mut self, fx: &mut Effects) {
        if matches!(
            self.state,
            InviteClientState::Calling | InviteClientState::Proceeding
        ) {
            self.cancel_sent = true;
            fx.arm(Timer::B, self.config.t1x64());
        }
    }
}
