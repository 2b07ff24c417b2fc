//! Non-INVITE client transaction (RFC 3261 17.1.2).

use std::time::Duration;

use sip_msg::{Message, Request, Response};

use super::{Disposition, Effects, Notice};
use crate::timer::{Timer, TimerConfig};

/// The states of a non-INVITE client transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NonInviteClientState {
    /// Request sent; Timer E retransmits (UDP), Timer F times out.
    Trying,
    /// A provisional response arrived; Timer E keeps retransmitting at T2.
    Proceeding,
    /// A final response arrived; Timer K absorbs its retransmissions.
    Completed,
    /// Done; the layer removes the transaction.
    Terminated,
}

/// A non-INVITE client transaction.
///
/// RFC 3261 figure 6:
///
/// ```text
///                                |Request from TU
///                                |send request
///            Timer E             V
///            send request  +-----------+
///                +---------|           |-------------------+
///                |         |  Trying   |  Timer F          |
///                +-------->|           |  or Transport Err.|
///                          +-----------+  inform TU        |
///             200-699         |  |                         |
///             resp. to TU     |  |1xx                      |
///             +---------------+  |resp. to TU             |
///             |                  |                         |
///             |   Timer E        V       Timer F           |
///             |   send req +-----------+ or Transport Err. |
///             |  +---------|           | inform TU         |
///             |  |         |Proceeding |------------------>|
///             |  +-------->|           |-----+             |
///             |            +-----------+     |1xx          |
///             |              |      ^        |resp to TU   |
///             | 200-699      |      +--------+             |
///             | resp. to TU  |                             |
///             |              |                             |
///             |              V                             |
///             |            +-----------+                   |
///             |            |           |                   |
///             |            | Completed |                   |
///             |            |           |                   |
///             |            +-----------+                   |
///             |              ^   |                         |
///             |              |   | Timer K                 |
///             +--------------+   | -                       |
///                                |                         |
///                                V                         |
///          NOTE:           +-----------+                   |
///                          |           |                   |
///      transitions         | Terminated|<------------------+
///      labeled with        |           |
///      the event           +-----------+
///      over the action
///      to take
/// ```
#[derive(Debug, Clone)]
pub struct NonInviteClient {
    state: NonInviteClientState,
    request: Request,
    reliable: bool,
    config: TimerConfig,
    e_interval: Duration,
}

impl NonInviteClient {
    /// Sends the request and enters Trying.
    pub(crate) fn start(request: Request, reliable: bool, config: TimerConfig, fx: &mut Effects) -> Self {
        fx.send(Message::Request(request.clone()));
        if !reliable {
            fx.arm(Timer::E, config.t1);
        }
        fx.arm(Timer::F, config.t1x64());
        Self {
            state: NonInviteClientState::Trying,
            request,
            reliable,
            config,
            e_interval: config.t1,
        }
    }

    /// The current state.
    #[must_use]
    pub fn state(&self) -> NonInviteClientState {
        self.state
    }

    /// The request this transaction sends.
    #[must_use]
    pub fn request(&self) -> &Request {
        &self.request
    }

    pub(crate) fn on_response(&mut self, response: &Response, fx: &mut Effects) -> Disposition {
        use NonInviteClientState::{Completed, Proceeding, Terminated, Trying};
        let (next, disposition) = match self.state {
            Trying | Proceeding if response.status.is_provisional() => (Proceeding, Disposition::Forward),
            Trying | Proceeding => {
                fx.stop(Timer::E);
                fx.stop(Timer::F);
                if self.reliable {
                    fx.terminate();
                    (Terminated, Disposition::Forward)
                } else {
                    fx.arm(Timer::K, self.config.t4);
                    (Completed, Disposition::Forward)
                }
            }
            state @ (Completed | Terminated) => (state, Disposition::Absorb),
        };
        self.state = next;
        disposition
    }

    pub(crate) fn on_timer(&mut self, timer: Timer, fx: &mut Effects) {
        use NonInviteClientState::{Completed, Proceeding, Terminated, Trying};
        self.state = match (self.state, timer) {
            (Trying, Timer::E) => {
                fx.send(Message::Request(self.request.clone()));
                self.e_interval = self.config.backoff_capped(self.e_interval);
                fx.arm(Timer::E, self.e_interval);
                Trying
            }
            (Proceeding, Timer::E) => {
                fx.send(Message::Request(self.request.clone()));
                self.e_interval = self.config.t2;
                fx.arm(Timer::E, self.e_interval);
                Proceeding
            }
            (Trying | Proceeding, Timer::F) => {
                fx.stop(Timer::E);
                fx.notify(Notice::Timeout);
                fx.terminate();
                Terminated
            }
            (Completed, Timer::K) => {
                fx.terminate();
                Terminated
            }
            (state, _) => state,
        };
    }
}
