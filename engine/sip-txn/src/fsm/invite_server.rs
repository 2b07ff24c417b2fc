//! INVITE server transaction (RFC 3261 17.2.1, as updated by RFC 6026 7.1).

use std::time::Duration;

use sip_msg::{Message, Response};

use super::{AckOutcome, Effects, Notice};
use crate::timer::{Timer, TimerConfig};

/// The states of an INVITE server transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InviteServerState {
    /// INVITE received and passed to the TU; provisional responses may be sent.
    Proceeding,
    /// A 300-699 was sent; Timer G retransmits it (UDP) until the ACK, Timer H gives up.
    Completed,
    /// The ACK for the 300-699 arrived; Timer I absorbs ACK retransmissions.
    Confirmed,
    /// A 2xx was sent (RFC 6026); the layer retransmits it (RFC 3261 13.3.1.4) until the ACK or Timer L.
    Accepted,
    /// Done; the layer removes the transaction.
    Terminated,
}

/// An INVITE server transaction.
///
/// RFC 6026 figure 7 (which replaces RFC 3261 figure 7):
///
/// ```text
///                                   |INVITE
///                                   |pass INV to TU
///                INVITE             V send 100 if TU won't in 200 ms
///                send response+------------+
///                    +--------|            |--------+ 101-199 from TU
///                    |        |            |        | send response
///                    +------->|            |<-------+
///                             | Proceeding |
///                             |            |--------+ Transport Err.
///                             |            |        | Inform TU
///                             |            |<-------+
///                             +------------+
///                300-699 from TU |    |2xx from TU
///                send response   |    |send response
///                 +--------------+    +------------+
///                 |                                |
/// INVITE          V          Timer G fires         |
/// send response +-----------+ send response         |
///      +--------|           |--------+              |
///      |        |           |        |              |
///      +------->| Completed |<-------+      INVITE  |  Transport Err.
///               |           |               -       |  Inform TU
///      +--------|           |----+          +-----+ |  +---+
///      |        +-----------+    | ACK      |     | v  |   v
///      |          ^   |          | -        |  +------------+
///      |          |   |          |          |  |            |---+ ACK
///      +----------+   |          |          +->|  Accepted  |   | to TU
///      Transport Err. |          |             |            |<--+
///      Inform TU      |          V             +------------+
///                     |      +-----------+        |  ^     |
///                     |      |           |        |  |     |
///                     |      | Confirmed |        |  +-----+
///                     |      |           |        |  2xx from TU
///       Timer H fires |      +-----------+        |  send response
///       -             |          |                |
///                     |          | Timer I fires  |
///                     |          | -              | Timer L fires
///                     |          V                | -
///                     |        +------------+     |
///                     |        |            |<----+
///                     +------->| Terminated |
///                              |            |
///                              +------------+
/// ```
///
/// Departures, all on purpose:
/// * The 100 Trying is sent at once (when [`crate::TxnConfig::send_trying`] is set), not after 200 ms.
/// * In Accepted the transaction also does the UAS core's job of RFC 3261 13.3.1.4: it retransmits the
///   2xx on Timer G's schedule (T1 doubling to T2, UDP only) until the first ACK, and when Timer L
///   (64·T1) fires without an ACK it reports an ACK timeout so the TU can send BYE. An INVITE
///   retransmission in Accepted is answered with the 2xx while no ACK has arrived.
/// * Timer H expiry reports a timeout to the TU ("inform TU", RFC 3261 17.2.1).
#[derive(Debug, Clone)]
pub struct InviteServer {
    state: InviteServerState,
    reliable: bool,
    config: TimerConfig,
    last_response: Option<Response>,
    g_interval: Duration,
    ack_received: bool,
}

impl InviteServer {
    /// Enters Proceeding, sending `trying` (a 100) if given.
    pub(crate) fn start(
        trying: Option<Response>,
        reliable: bool,
        config: TimerConfig,
        fx: &mut Effects,
    ) -> Self {
        if let Some(trying) = &trying {
            fx.send(Message::Response(trying.clone()));
        }
        Self {
            state: InviteServerState::Proceeding,
            reliable,
            config,
            last_response: trying,
            g_interval: config.t1,
            ack_received: false,
        }
    }

    /// The current state.
    #[must_use]
    pub fn state(&self) -> InviteServerState {
        self.state
    }

    /// The last response sent (the one a retransmitted INVITE gets again).
    #[must_use]
    pub fn last_response(&self) -> Option<&Response> {
        self.last_response.as_ref()
    }

    /// Whether the ACK for our 2xx has arrived.
    #[must_use]
    pub fn ack_received(&self) -> bool {
        self.ack_received
    }

    /// The TU sends a response. `Err(())` when the state does not allow it (the layer adds context).
    pub(crate) fn respond(&mut self, response: Response, fx: &mut Effects) -> Result<(), ()> {
        use InviteServerState::{Accepted, Completed, Proceeding};
        let status = response.status;
        self.state = match self.state {
            Proceeding if status.is_provisional() => Proceeding,
            Proceeding if status.is_success() => {
                fx.arm(Timer::L, self.config.t1x64());
                if !self.reliable {
                    self.g_interval = self.config.t1;
                    fx.arm(Timer::G, self.g_interval);
                }
                Accepted
            }
            Proceeding => {
                fx.arm(Timer::H, self.config.t1x64());
                if !self.reliable {
                    self.g_interval = self.config.t1;
                    fx.arm(Timer::G, self.g_interval);
                }
                Completed
            }
            // RFC 6026 7.1: 2xx from the TU in Accepted are sent (retransmissions or a changed answer).
            Accepted if status.is_success() => Accepted,
            _ => return Err(()),
        };
        fx.send(Message::Response(response.clone()));
        self.last_response = Some(response);
        Ok(())
    }

    /// The INVITE arrived again.
    pub(crate) fn on_retransmission(&mut self, fx: &mut Effects) {
        use InviteServerState::{Accepted, Completed, Proceeding};
        let resend = match self.state {
            Proceeding | Completed => true,
            Accepted => !self.ack_received,
            _ => false,
        };
        if resend {
            if let Some(last) = &self.last_response {
                fx.send(Message::Response(last.clone()));
            }
        }
    }

    /// An ACK matched this transaction (by branch, or for a 2xx by dialog).
    pub(crate) fn on_ack(&mut self, fx: &mut Effects) -> AckOutcome {
        use InviteServerState::{Accepted, Completed, Confirmed, Proceeding, Terminated};
        match self.state {
            Completed => {
                fx.stop(Timer::G);
                fx.stop(Timer::H);
                if self.reliable {
                    fx.terminate();
                    self.state = Terminated;
                } else {
                    fx.arm(Timer::I, self.config.t4);
                    self.state = Confirmed;
                }
                AckOutcome::Absorbed
            }
            Confirmed | Terminated => AckOutcome::Absorbed,
            Accepted if !self.ack_received => {
                self.ack_received = true;
                fx.stop(Timer::G);
                AckOutcome::AckFor2xx
            }
            Accepted => AckOutcome::Absorbed,
            Proceeding => AckOutcome::Stray,
        }
    }

    pub(crate) fn on_timer(&mut self, timer: Timer, fx: &mut Effects) {
        use InviteServerState::{Accepted, Completed, Confirmed, Terminated};
        self.state = match (self.state, timer) {
            (Completed, Timer::G) | (Accepted, Timer::G) if !self.ack_received => {
                if let Some(last) = &self.last_response {
                    fx.send(Message::Response(last.clone()));
                }
                self.g_interval = self.config.backoff_capped(self.g_interval);
                fx.arm(Timer::G, self.g_interval);
                self.state
            }
            (Completed, Timer::H) => {
                fx.stop(Timer::G);
                fx.notify(Notice::Timeout);
                fx.terminate();
                Terminated
            }
            (Confirmed, Timer::I) => {
                fx.terminate();
                Terminated
            }
            (Accepted, Timer::L) => {
                fx.stop(Timer::G);
                if !self.ack_received {
                    fx.notify(Notice::AckTimeout);
                }
                fx.terminate();
                Terminated
            }
            (state, _) => state,
        };
    }
}
