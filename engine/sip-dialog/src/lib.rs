//! Sans-IO SIP dialogs (RFC 3261 §12) for the legs of a B2BUA.
//!
//! A [`Dialog`] is the state one side keeps between the dialog-creating INVITE and the BYE: the
//! [`DialogId`] (Call-ID and both tags), both URIs, our CSeq and the peer's, the remote target, the route
//! set and the secure flag. It builds our in-dialog requests ([`Dialog::create_request`]: BYE,
//! re-INVITE, INFO, UPDATE, the ACK for a 2xx) and checks the peer's ([`Dialog::validate_in_dialog`]).
//!
//! Around it: [`uas_response`] builds our responses (To tag, Record-Route copy, Contact),
//! [`InitialRequest`] builds an out-of-dialog request (the INVITE of an outgoing leg), [`cancel_for`]
//! builds the CANCEL of a pending INVITE, and [`new_tag`], [`new_branch`], [`new_call_id`] and
//! [`initial_cseq`] draw identifiers from an injected RNG. Nothing here reads a clock or a global RNG, and
//! nothing here retransmits: requests and responses go through the `sip-txn` layer.
//!
//! Deliberately not here (yet): dialog usages (RFC 5057), PRACK/100rel, session timers, digest auth,
//! forking bookkeeping (each 2xx with a new To tag is a new [`Dialog::new_uac`]; the TU keeps them).
//!
//! # The run loop of one leg
//!
//! ```no_run
//! # use hotline_sip_dialog as sip_dialog; // dependents import the crate as `sip_dialog`
//! use rand::SeedableRng;
//! use sip_dialog::{Dialog, ViaSpec, new_tag, uas_response};
//! use sip_msg::{Host, Method, Request, StatusCode, Uri};
//!
//! # fn incoming_invite() -> Request { unimplemented!() }
//! # fn next_request() -> Request { unimplemented!() }
//! # fn send(_m: sip_msg::Message) {}
//! let mut rng = rand::rngs::StdRng::seed_from_u64(1); // the shell seeds it; tests fix the seed
//! let via = ViaSpec::new("UDP", Host::Domain("hotline.example.com".into()), Some(5060));
//! let contact: Uri = "sip:hotline@hotline.example.com".parse().expect("static URI");
//!
//! // An INVITE arrives (the transaction layer said NewRequest): answer it and keep the dialog.
//! let invite = incoming_invite();
//! let local_tag = new_tag(&mut rng);
//! let ok = uas_response(&invite, StatusCode::OK, &local_tag, Some(&contact));
//! let mut dialog = Dialog::new_uas(&invite, &ok, &mut rng).expect("a well-formed INVITE");
//! send(sip_msg::Message::Response(ok));
//!
//! // Later requests in the dialog are checked before the TU sees them.
//! let req = next_request();
//! if let Err(e) = dialog.validate_in_dialog(&req) {
//!     send(sip_msg::Message::Response(uas_response(&req, e.status(), &local_tag, None)));
//! }
//!
//! // Hang up: a BYE with the dialog's tags, route set and next CSeq, started as a client transaction.
//! let bye = dialog.create_request(Method::Bye, &via, &mut rng);
//! send(sip_msg::Message::Request(bye));
//! ```
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod builders;
mod dialog;
mod error;
mod ids;

#[cfg(test)]
mod with_txn_layer;

pub use builders::{InitialRequest, ViaSpec, cancel_for, uas_response};
pub use dialog::{Dialog, DialogRole, DialogState};
pub use error::DialogError;
pub use ids::{DialogId, MAGIC_COOKIE, initial_cseq, new_branch, new_call_id, new_tag};
