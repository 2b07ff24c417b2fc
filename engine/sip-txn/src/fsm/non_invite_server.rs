//! Non-INVITE server transaction (RFC 3261 17.2.2).

use sip_msg::{Message, Response};

use super::Effects;
use crate::timer::{Timer, TimerConfig};

/// The states of a non-INVITE server transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NonInviteServerState {
    /// Request received and passed to the TU; retransmissions are absorbed silently.
    Trying,
    /// A provisional response was sent; retransmissions get it again.
    Proceeding,
    /// A final response was sent; retransmissions get it again until Timer J.
    Completed,
    /// Done; the layer removes the transaction.
    Terminated,
}

/// A non-INVITE server transaction.
///
/// RFC 3261 figure 8:
///
/// ```text
///                               |Request received
///                               |pass to TU
///                               V
///                         +-----------+
///                         |           |
///                         | Trying    |-------------+
///                         |           |             |
///                         +-----------+             |200-699 from TU
///                               |                   |send response
///                               |1xx from TU        |
///                               |send response      |
///                               |                   |
///            Request            V      1xx from TU  |
///            send response+-----------+send response|
///                +--------|           |--------+    |
///                |        | Proceeding|        |    |
///                +------->|           |<-------+    |
///         +<--------------|           |             |
///         |Trnsprt Err    +-----------+             |
///         |Inform TU            |                   |
///         |                     |                   |
///         |                     |200-699 from TU    |
///         |                     |send response      |
///         |  Request            V                   |
///         |  send response+-----------+             |
///         |      +--------|           |             |
///         |      |        | Completed |<------------+
///         |      +------->|           |
///         +<--------------|           |
///         |Trnsprt Err    +-----------+
///         |Inform TU            |
///         |                     |Timer J fires
///         |                     |-
///         |                     |
///         |                     V
///         |               +-----------+
///         +-------------->|           |
///                         | Terminated|
///                         |           |
///                         +-----------+
/// ```
#[derive(Debug, Clone)]
pub struct NonInviteServer {
    state: NonInviteServerState,
    reliable: bool,
    config: TimerConfig,
    last_response: Option<Response>,
}

impl NonInviteServer {
    /// Enters Trying.
    pub(crate) fn start(reliable: bool, config: TimerConfig) -> Self {
        Self {
            state: NonInviteServerState::Trying,
            reliable,
            config,
            last_response: None,
        }
    }

    /// The current state.
    #[must_use]
    pub fn state(&self) -> NonInviteServerState {
        self.state
    }

    /// The last response sent.
    #[must_use]
    pub fn last_response(&self) -> Option<&Response> {
        self.last_response.as_ref()
    }

    /// The TU sends a response. `Err(())` when the state does not allow it (the layer adds context).
    pub(crate) fn respond(&mut self, response: Response, fx: &mut Effects) -> Result<(), ()> {
        use NonInviteServerState::{Completed, Proceeding, Terminated, Trying};
        let next = match self.state {
            Trying | Proceeding if response.status.is_provisional() => Proceeding,
            Trying | Proceeding => {
                if self.reliable {
                    fx.terminate();
                    Terminated
                } else {
                    fx.arm(Timer::J, self.config.t1x64());
                    Completed
                }
            }
            Completed | Terminated => return Err(()),
        };
        fx.send(Message::Response(response.clone()));
        self.last_response = Some(response);
        self.state = next;
        Ok(())
    }

    /// The request arrived again.
    pub(crate) fn on_retransmission(&mut self, fx: &mut Effects) {
        if matches!(
            self.state,
            NonInviteServerState::Proceeding | NonInviteServerState::Completed
        ) {
            if let Some(last) = &self.last_response {
                fx.send(Message::Response(last.clone()));
            }
        }
    }

    pub(crate) fn on_timer(&mut self, timer: Timer, fx: &mut Effects) {
        if self.state == NonInviteServerState::Completed && timer == Timer::J {
            fx.terminate();
            self.state = NonInviteServerState::Terminated;
        }
    }
}
