//! [`Dialog`]: the state one side keeps for a dialog (RFC 3261 §12).

use rand::RngCore;
use sip_msg::{CSeq, HeaderName, Method, NameAddr, Request, Response, Uri};

use crate::builders::{ViaSpec, first_contact, is_target_refresh, route_list, with_tag};
use crate::error::DialogError;
use crate::ids::{DialogId, initial_cseq, new_branch};

/// Which side of the dialog we are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DialogRole {
    /// We sent the dialog-creating request.
    Uac,
    /// We received it.
    Uas,
}

/// Dialog states (RFC 3261 12: "early" on a 1xx with To tag, "confirmed" on a 2xx).
///
/// ```text
///      1xx with To tag              2xx
///   ---------------------> Early ---------> Confirmed
///   |                                           ^
///   +-------------------------------------------+
///                      2xx
/// ```
///
/// There is no Terminated state: a dialog ends when its owner drops it (after BYE, a non-2xx final to
/// the dialog-creating INVITE for an early dialog, or a 481/408 to an in-dialog request).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DialogState {
    /// Created by a provisional response; may still fail or be replaced by another fork.
    Early,
    /// Created or confirmed by a 2xx.
    Confirmed,
}

/// One dialog of one leg.
///
/// Routing: loose routing (RFC 3261 16.12 `lr`) and strict routing (12.2.1.1) are both handled when
/// building requests; the Request-URI of a strict route keeps its parameters as they are.
/// The remote target is replaced by the Contact of every target refresh request we accept
/// ([`Dialog::validate_in_dialog`]) and of every 2xx to our target refresh requests
/// ([`Dialog::handle_response`]), as RFC 3261 12.2 says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dialog {
    id: DialogId,
    role: DialogRole,
    state: DialogState,
    local_uri: NameAddr,
    remote_uri: NameAddr,
    local_cseq: u32,
    last_invite_cseq: Option<u32>,
    remote_cseq: Option<u32>,
    remote_target: Uri,
    route_set: Vec<NameAddr>,
    secure: bool,
    local_contact: Option<Uri>,
}

fn is_sips(uri: &Uri) -> bool {
    uri.as_sip().is_some_and(|u| u.secure)
}

fn dialog_status(response: &Response) -> Result<DialogState, DialogError> {
    match response.status.0 {
        101..=199 => Ok(DialogState::Early),
        200..=299 => Ok(DialogState::Confirmed),
        _ => Err(DialogError::NotDialogCreating(response.status)),
    }
}

impl Dialog {
    /// The UAS side, from the dialog-creating request we received and our 101-299 response to it (which
    /// must carry our To tag, see [`crate::uas_response`]). Our first CSeq is drawn from `rng`.
    pub fn new_uas(
        request: &Request,
        response: &Response,
        rng: &mut impl RngCore,
    ) -> Result<Self, DialogError> {
        let state = dialog_status(response)?;
        let rh = &request.headers;
        let to = response
            .headers
            .to()
            .map_err(DialogError::malformed(HeaderName::To))?;
        let local_tag = to
            .tag()
            .ok_or(DialogError::MissingTag {
                header: HeaderName::To,
            })?
            .to_owned();
        let from = rh.from().map_err(DialogError::malformed(HeaderName::From))?;
        // RFC 3261 12.1.1: a From without tag (RFC 2543 peer) gives an empty remote tag.
        let remote_tag = from.tag().unwrap_or_default().to_owned();
        let call_id = rh
            .call_id()
            .map_err(DialogError::malformed(HeaderName::CallId))?
            .to_owned();
        let remote_cseq = rh.cseq().map_err(DialogError::malformed(HeaderName::CSeq))?.seq;
        let remote_target = first_contact(rh)?.ok_or(DialogError::MissingContact)?;
        let route_set = route_list(rh, HeaderName::RecordRoute)?;
        let local_contact = first_contact(&response.headers)?;
        Ok(Self {
            id: DialogId {
                call_id,
                local_tag,
                remote_tag,
            },
            role: DialogRole::Uas,
            state,
            local_uri: with_tag(to, ""),
            remote_uri: with_tag(from, ""),
            local_cseq: initial_cseq(rng),
            last_invite_cseq: None,
            remote_cseq: Some(remote_cseq),
            remote_target,
            route_set,
            secure: is_sips(&request.uri),
            local_contact,
        })
    }

    /// The UAC side, from the dialog-creating request we sent and a 101-299 response with a To tag.
    pub fn new_uac(request: &Request, response: &Response) -> Result<Self, DialogError> {
        let state = dialog_status(response)?;
        let rh = &request.headers;
        let to = response
            .headers
            .to()
            .map_err(DialogError::malformed(HeaderName::To))?;
        let remote_tag = to
            .tag()
            .ok_or(DialogError::MissingTag {
                header: HeaderName::To,
            })?
            .to_owned();
        let from = rh.from().map_err(DialogError::malformed(HeaderName::From))?;
        let local_tag = from
            .tag()
            .ok_or(DialogError::MissingTag {
                header: HeaderName::From,
            })?
            .to_owned();
        let call_id = rh
            .call_id()
            .map_err(DialogError::malformed(HeaderName::CallId))?
            .to_owned();
        let cseq: CSeq = rh.cseq().map_err(DialogError::malformed(HeaderName::CSeq))?;
        let remote_target = first_contact(&response.headers)?.ok_or(DialogError::MissingContact)?;
        let mut route_set = route_list(&response.headers, HeaderName::RecordRoute)?;
        route_set.reverse();
        let local_contact = first_contact(rh)?;
        Ok(Self {
            id: DialogId {
                call_id,
                local_tag,
                remote_tag,
            },
            role: DialogRole::Uac,
            state,
            local_uri: with_tag(from, ""),
            remote_uri: with_tag(to, ""),
            local_cseq: cseq.seq,
            last_invite_cseq: (cseq.method == Method::Invite).then_some(cseq.seq),
            remote_cseq: None,
            remote_target,
            route_set,
            secure: is_sips(&request.uri),
            local_contact,
        })
    }

    /// The dialog id: Call-ID, local tag, remote tag.
    #[must_use]
    pub fn id(&self) -> &DialogId {
        &self.id
    }

    /// UAC or UAS.
    #[must_use]
    pub fn role(&self) -> DialogRole {
        self.role
    }

    /// Early or confirmed.
    #[must_use]
    pub fn state(&self) -> DialogState {
        self.state
    }

    /// Our URI (From when UAC, To when UAS), without tag.
    #[must_use]
    pub fn local_uri(&self) -> &NameAddr {
        &self.local_uri
    }

    /// The peer's URI, without tag.
    #[must_use]
    pub fn remote_uri(&self) -> &NameAddr {
        &self.remote_uri
    }

    /// The CSeq number of the last request we sent in this dialog (for a UAS dialog that has sent
    /// nothing yet: the random start, which the first request increments).
    #[must_use]
    pub fn local_cseq(&self) -> u32 {
        self.local_cseq
    }

    /// The CSeq number of the last request the peer sent in this dialog.
    #[must_use]
    pub fn remote_cseq(&self) -> Option<u32> {
        self.remote_cseq
    }

    /// Where in-dialog requests go (the peer's Contact).
    #[must_use]
    pub fn remote_target(&self) -> &Uri {
        &self.remote_target
    }

    /// The route set, in the order Route headers are written.
    #[must_use]
    pub fn route_set(&self) -> &[NameAddr] {
        &self.route_set
    }

    /// Whether the dialog was created with a `sips:` Request-URI.
    #[must_use]
    pub fn secure(&self) -> bool {
        self.secure
    }

    /// Our Contact, sent in target refresh requests.
    #[must_use]
    pub fn local_contact(&self) -> Option<&Uri> {
        self.local_contact.as_ref()
    }

    /// Changes our Contact (for example after a NAT rebinding); the next INVITE/UPDATE carries it.
    pub fn set_local_contact(&mut self, contact: Option<Uri>) {
        self.local_contact = contact;
    }

    /// Marks an early UAS dialog confirmed once we sent the 2xx.
    pub fn confirm(&mut self) {
        self.state = DialogState::Confirmed;
    }

    /// Builds an in-dialog request (BYE, re-INVITE, INFO, UPDATE, REFER, NOTIFY, ACK for a 2xx).
    ///
    /// Request-URI and Route come from the remote target and route set (loose or strict routing); From
    /// and To carry the tags; CSeq is the local CSeq plus one, except for ACK, which reuses the CSeq
    /// number of the last INVITE (RFC 3261 13.2.2.4); Max-Forwards is 70; the Via gets a fresh branch;
    /// INVITE, UPDATE, SUBSCRIBE, NOTIFY and REFER carry our Contact. Bodies are the caller's to add.
    /// For CANCEL use [`crate::cancel_for`]: a CANCEL reuses the branch of the request it cancels.
    pub fn create_request(&mut self, method: Method, local_via: &ViaSpec, rng: &mut impl RngCore) -> Request {
        let seq = if method == Method::Ack {
            self.last_invite_cseq.unwrap_or(self.local_cseq)
        } else {
            self.local_cseq = self.local_cseq.wrapping_add(1);
            self.local_cseq
        };
        if method == Method::Invite {
            self.last_invite_cseq = Some(seq);
        }
        let (uri, routes) = self.request_target();
        let mut req = Request::new(method.clone(), uri);
        let h = &mut req.headers;
        h.push(HeaderName::Via, local_via.via(&new_branch(rng)).to_string());
        h.push(HeaderName::MaxForwards, "70");
        for route in routes {
            h.push(HeaderName::Route, route.to_string());
        }
        h.push(
            HeaderName::From,
            with_tag(self.local_uri.clone(), &self.id.local_tag).to_string(),
        );
        h.push(
            HeaderName::To,
            with_tag(self.remote_uri.clone(), &self.id.remote_tag).to_string(),
        );
        h.push(HeaderName::CallId, self.id.call_id.clone());
        h.push(
            HeaderName::CSeq,
            CSeq {
                seq,
                method: method.clone(),
            }
            .to_string(),
        );
        if is_target_refresh(&method) {
            if let Some(contact) = &self.local_contact {
                h.push(HeaderName::Contact, format!("<{contact}>"));
            }
        }
        req
    }

    /// Request-URI and Route headers (RFC 3261 12.2.1.1).
    fn request_target(&self) -> (Uri, Vec<NameAddr>) {
        match self.route_set.first() {
            None => (self.remote_target.clone(), Vec::new()),
            Some(first) if first.uri.as_sip().is_none_or(|u| u.param("lr").is_some()) => {
                (self.remote_target.clone(), self.route_set.clone())
            }
            Some(first) => {
                // Strict router: it goes in the Request-URI, the remote target goes last in Route.
                let mut routes: Vec<NameAddr> = self.route_set.iter().skip(1).cloned().collect();
                routes.push(NameAddr::new(self.remote_target.clone()));
                (first.uri.clone(), routes)
            }
        }
    }

    /// Checks an incoming in-dialog request and updates the dialog (RFC 3261 12.2.2).
    ///
    /// * Call-ID, From tag (remote) and To tag (local) must match: else [`DialogError::NotInDialog`] (481).
    /// * Except for ACK and CANCEL, a CSeq lower than the last remote CSeq is refused with
    ///   [`DialogError::CSeqOutOfOrder`] (500); otherwise it becomes the remote CSeq.
    /// * A target refresh request (INVITE, UPDATE, SUBSCRIBE, NOTIFY, REFER) with a Contact replaces the
    ///   remote target.
    pub fn validate_in_dialog(&mut self, req: &Request) -> Result<(), DialogError> {
        if DialogId::of_incoming_request(req)? != self.id {
            return Err(DialogError::NotInDialog);
        }
        if matches!(req.method, Method::Ack | Method::Cancel) {
            return Ok(());
        }
        let seq = req
            .headers
            .cseq()
            .map_err(DialogError::malformed(HeaderName::CSeq))?
            .seq;
        if let Some(last) = self.remote_cseq {
            if seq < last {
                return Err(DialogError::CSeqOutOfOrder { received: seq, last });
            }
        }
        if is_target_refresh(&req.method) {
            if let Some(target) = first_contact(&req.headers)? {
                self.remote_target = target;
            }
        }
        self.remote_cseq = Some(seq);
        Ok(())
    }

    /// Updates the dialog from a response to a request we sent in it, or to the dialog-creating INVITE
    /// (RFC 3261 12.1.2, 12.2.1.2, 13.2.2.4): a 2xx to INVITE confirms an early dialog and, for the UAC,
    /// recomputes the route set from its Record-Route; a 2xx to a target refresh (or a 1xx in an early
    /// dialog) with a Contact replaces the remote target.
    pub fn handle_response(&mut self, response: &Response) -> Result<(), DialogError> {
        if DialogId::of_incoming_response(response)? != self.id {
            return Err(DialogError::NotInDialog);
        }
        let cseq = response
            .headers
            .cseq()
            .map_err(DialogError::malformed(HeaderName::CSeq))?;
        let status = response.status;
        if status.is_success() && cseq.method == Method::Invite && self.state == DialogState::Early {
            self.state = DialogState::Confirmed;
            if self.role == DialogRole::Uac {
                let mut route_set = route_list(&response.headers, HeaderName::RecordRoute)?;
                route_set.reverse();
                self.route_set = route_set;
            }
        }
        let refreshes = status.is_success() || (status.is_provisional() && self.state == DialogState::Early);
        if refreshes && is_target_refresh(&cseq.method) {
            if let Some(target) = first_contact(&response.headers)? {
                self.remote_target = target;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::StdRng;
    use sip_msg::{Host, StatusCode};

    use super::*;
    use crate::{DialogError, uas_response};

    fn rng() -> StdRng {
        StdRng::seed_from_u64(42)
    }

    fn via() -> ViaSpec {
        ViaSpec::new("UDP", Host::Domain("hotline.example.com".into()), Some(5060))
    }

    fn uri(s: &str) -> Uri {
        s.parse().unwrap()
    }

    /// An INVITE from Alice through two record-routing proxies, as our UAS receives it.
    fn incoming_invite() -> Request {
        let mut req = Request::new(Method::Invite, uri("sip:hotline@hotline.example.com"));
        let h = &mut req.headers;
        h.push(HeaderName::Via, "SIP/2.0/UDP p2.example.com;branch=z9hG4bK-p2");
        h.push(HeaderName::Via, "SIP/2.0/UDP p1.example.com;branch=z9hG4bK-p1");
        h.push(
            HeaderName::Via,
            "SIP/2.0/UDP 192.0.2.10:5070;branch=z9hG4bK-alice",
        );
        h.push(HeaderName::MaxForwards, "68");
        h.push(
            HeaderName::RecordRoute,
            "<sip:p2.example.com;lr>, <sip:p1.example.com;lr>",
        );
        h.push(
            HeaderName::From,
            "\"Alice\" <sip:alice@atlanta.example.com>;tag=alice1",
        );
        h.push(HeaderName::To, "<sip:hotline@hotline.example.com>");
        h.push(HeaderName::CallId, "call-a@192.0.2.10");
        h.push(HeaderName::CSeq, "314 INVITE");
        h.push(HeaderName::Contact, "<sip:alice@192.0.2.10:5070>");
        req
    }

    /// Our outgoing INVITE (B2BUA B leg) and the agent phone's 200, through two record-routing proxies.
    fn outgoing_invite_and_ok(status: StatusCode) -> (Request, Response) {
        let mut req = Request::new(Method::Invite, uri("sip:agent7@pbx.example.com"));
        let h = &mut req.headers;
        h.push(
            HeaderName::Via,
            "SIP/2.0/UDP hotline.example.com:5060;branch=z9hG4bK-b1",
        );
        h.push(HeaderName::MaxForwards, "70");
        h.push(HeaderName::From, "<sip:hotline@hotline.example.com>;tag=ours1");
        h.push(HeaderName::To, "<sip:agent7@pbx.example.com>");
        h.push(HeaderName::CallId, "call-b@hotline");
        h.push(HeaderName::CSeq, "1000 INVITE");
        h.push(HeaderName::Contact, "<sip:hotline@198.51.100.1:5060>");
        let mut resp = Response::from_request(&req, status);
        resp.headers
            .set(HeaderName::To, "<sip:agent7@pbx.example.com>;tag=agent-tag");
        // Record-Route as the UAC sees it: the proxy nearest the UAS first.
        resp.headers
            .push(HeaderName::RecordRoute, "<sip:near-uas.example.com;lr>");
        resp.headers
            .push(HeaderName::RecordRoute, "<sip:near-uac.example.com;lr>");
        resp.headers
            .push(HeaderName::Contact, "<sip:agent7@203.0.113.7:5062;transport=udp>");
        (req, resp)
    }

    fn routes(req: &Request) -> Vec<&str> {
        req.headers.get_all(&HeaderName::Route).collect()
    }

    #[test]
    fn uas_dialog_from_invite_and_200_builds_a_bye_with_the_right_tags_cseq_uri_and_routes() {
        let mut rng = rng();
        let invite = incoming_invite();
        let contact = uri("sip:hotline@198.51.100.1:5060");
        let ok = uas_response(&invite, StatusCode::OK, "uas-tag", Some(&contact));
        let mut dialog = Dialog::new_uas(&invite, &ok, &mut rng).unwrap();

        assert_eq!(
            dialog.id(),
            &DialogId {
                call_id: "call-a@192.0.2.10".into(),
                local_tag: "uas-tag".into(),
                remote_tag: "alice1".into()
            }
        );
        assert_eq!(
            (dialog.role(), dialog.state()),
            (DialogRole::Uas, DialogState::Confirmed)
        );
        assert_eq!(dialog.remote_cseq(), Some(314));
        assert_eq!(dialog.remote_target(), &uri("sip:alice@192.0.2.10:5070"));
        assert_eq!(dialog.local_contact(), Some(&contact));
        assert!(!dialog.secure());
        let first_cseq = dialog.local_cseq();
        assert!(first_cseq < 1 << 31, "RFC 3261 8.1.1.5");

        let bye = dialog.create_request(Method::Bye, &via(), &mut rng);
        assert_eq!(bye.method, Method::Bye);
        assert_eq!(
            bye.uri,
            uri("sip:alice@192.0.2.10:5070"),
            "Request-URI is the remote target"
        );
        // The UAS keeps the Record-Route order: first the proxy nearest to itself.
        assert_eq!(
            routes(&bye),
            ["<sip:p2.example.com;lr>", "<sip:p1.example.com;lr>"]
        );
        let from = bye.headers.from().unwrap();
        assert_eq!(
            (from.uri.to_string().as_str(), from.tag()),
            ("sip:hotline@hotline.example.com", Some("uas-tag"))
        );
        let to = bye.headers.to().unwrap();
        assert_eq!(
            (to.uri.to_string().as_str(), to.tag()),
            ("sip:alice@atlanta.example.com", Some("alice1"))
        );
        assert_eq!(to.display_name.as_deref(), Some("Alice"));
        assert_eq!(bye.headers.call_id().unwrap(), "call-a@192.0.2.10");
        assert_eq!(
            bye.headers.cseq().unwrap(),
            CSeq {
                seq: first_cseq + 1,
                method: Method::Bye
            }
        );
        assert_eq!(bye.headers.max_forwards().unwrap(), 70);
        let top = bye.headers.top_via().unwrap();
        assert!(top.branch().unwrap().starts_with("z9hG4bK") && top.branch().unwrap().len() > 7);
        assert_eq!(top.rport(), Some(None), "rport requested");
        assert!(
            bye.headers.get(&HeaderName::Contact).is_none(),
            "BYE is not a target refresh"
        );
    }

    #[test]
    fn uac_dialog_reverses_the_record_route_set() {
        let mut rng = rng();
        let (invite, ok) = outgoing_invite_and_ok(StatusCode::OK);
        let mut dialog = Dialog::new_uac(&invite, &ok).unwrap();
        assert_eq!(dialog.id().local_tag, "ours1");
        assert_eq!(dialog.id().remote_tag, "agent-tag");
        assert_eq!(dialog.remote_cseq(), None);
        let route_set: Vec<String> = dialog.route_set().iter().map(ToString::to_string).collect();
        assert_eq!(
            route_set,
            ["<sip:near-uac.example.com;lr>", "<sip:near-uas.example.com;lr>"]
        );

        let bye = dialog.create_request(Method::Bye, &via(), &mut rng);
        assert_eq!(
            routes(&bye),
            ["<sip:near-uac.example.com;lr>", "<sip:near-uas.example.com;lr>"]
        );
        assert_eq!(bye.uri, uri("sip:agent7@203.0.113.7:5062;transport=udp"));
        assert_eq!(
            bye.headers.cseq().unwrap().seq,
            1001,
            "the INVITE's CSeq plus one"
        );
        assert_eq!(bye.headers.from().unwrap().tag(), Some("ours1"));
        assert_eq!(bye.headers.to().unwrap().tag(), Some("agent-tag"));
    }

    #[test]
    fn a_request_with_a_lower_cseq_is_refused_with_500() {
        let mut rng = rng();
        let invite = incoming_invite();
        let ok = uas_response(&invite, StatusCode::OK, "uas-tag", None);
        let mut dialog = Dialog::new_uas(&invite, &ok, &mut rng).unwrap();

        let in_dialog = |method: Method, seq: u32| {
            let mut req = Request::new(method.clone(), uri("sip:hotline@198.51.100.1"));
            req.headers
                .push(HeaderName::Via, "SIP/2.0/UDP 192.0.2.10:5070;branch=z9hG4bK-x");
            req.headers
                .push(HeaderName::From, "<sip:alice@atlanta.example.com>;tag=alice1");
            req.headers
                .push(HeaderName::To, "<sip:hotline@hotline.example.com>;tag=uas-tag");
            req.headers.push(HeaderName::CallId, "call-a@192.0.2.10");
            req.headers.push(HeaderName::CSeq, format!("{seq} {method}"));
            req
        };
        dialog.validate_in_dialog(&in_dialog(Method::Info, 315)).unwrap();
        assert_eq!(dialog.remote_cseq(), Some(315));
        let err = dialog
            .validate_in_dialog(&in_dialog(Method::Info, 314))
            .unwrap_err();
        assert_eq!(
            err,
            DialogError::CSeqOutOfOrder {
                received: 314,
                last: 315
            }
        );
        assert_eq!(err.status(), StatusCode::SERVER_INTERNAL_ERROR);
        assert_eq!(
            dialog.remote_cseq(),
            Some(315),
            "a refused request does not move the remote CSeq"
        );
        dialog.validate_in_dialog(&in_dialog(Method::Ack, 314)).unwrap();
        dialog.validate_in_dialog(&in_dialog(Method::Bye, 316)).unwrap();
        assert_eq!(dialog.remote_cseq(), Some(316));

        let mut other = in_dialog(Method::Bye, 400);
        other.headers.set(
            HeaderName::To,
            "<sip:hotline@hotline.example.com>;tag=someone-else",
        );
        let err = dialog.validate_in_dialog(&other).unwrap_err();
        assert_eq!(
            (err.clone(), err.status()),
            (
                DialogError::NotInDialog,
                StatusCode::CALL_TRANSACTION_DOES_NOT_EXIST
            )
        );
    }

    #[test]
    fn re_invite_increments_cseq_carries_contact_and_its_ack_reuses_the_cseq() {
        let mut rng = rng();
        let (invite, ok) = outgoing_invite_and_ok(StatusCode::OK);
        let mut dialog = Dialog::new_uac(&invite, &ok).unwrap();
        let ack = dialog.create_request(Method::Ack, &via(), &mut rng);
        assert_eq!(
            ack.headers.cseq().unwrap(),
            CSeq {
                seq: 1000,
                method: Method::Ack
            },
            "ACK for the first 2xx"
        );

        let reinvite = dialog.create_request(Method::Invite, &via(), &mut rng);
        assert_eq!(
            reinvite.headers.cseq().unwrap(),
            CSeq {
                seq: 1001,
                method: Method::Invite
            }
        );
        assert_eq!(
            reinvite.headers.get(&HeaderName::Contact),
            Some("<sip:hotline@198.51.100.1:5060>")
        );
        let second = dialog.create_request(Method::Invite, &via(), &mut rng);
        assert_eq!(second.headers.cseq().unwrap().seq, 1002);
        assert_ne!(
            reinvite.headers.top_via().unwrap().branch(),
            second.headers.top_via().unwrap().branch(),
            "every request gets a fresh branch"
        );
        let ack = dialog.create_request(Method::Ack, &via(), &mut rng);
        assert_eq!(
            ack.headers.cseq().unwrap(),
            CSeq {
                seq: 1002,
                method: Method::Ack
            }
        );
        assert_eq!(dialog.local_cseq(), 1002, "ACK does not consume a CSeq number");
    }

    #[test]
    fn strict_router_goes_in_the_request_uri_and_the_target_last_in_route() {
        let mut rng = rng();
        let mut invite = incoming_invite();
        invite.headers.set(
            HeaderName::RecordRoute,
            "<sip:strict.example.com>, <sip:p1.example.com;lr>",
        );
        let ok = uas_response(&invite, StatusCode::OK, "uas-tag", None);
        let mut dialog = Dialog::new_uas(&invite, &ok, &mut rng).unwrap();
        let bye = dialog.create_request(Method::Bye, &via(), &mut rng);
        assert_eq!(bye.uri, uri("sip:strict.example.com"));
        assert_eq!(
            routes(&bye),
            ["<sip:p1.example.com;lr>", "<sip:alice@192.0.2.10:5070>"]
        );
    }

    #[test]
    fn target_refresh_from_the_peer_moves_the_remote_target() {
        let mut rng = rng();
        let invite = incoming_invite();
        let ok = uas_response(&invite, StatusCode::OK, "uas-tag", None);
        let mut dialog = Dialog::new_uas(&invite, &ok, &mut rng).unwrap();
        let mut reinvite = invite.clone();
        reinvite
            .headers
            .set(HeaderName::To, "<sip:hotline@hotline.example.com>;tag=uas-tag");
        reinvite.headers.set(HeaderName::CSeq, "315 INVITE");
        reinvite
            .headers
            .set(HeaderName::Contact, "<sip:alice@192.0.2.99:5070>");
        dialog.validate_in_dialog(&reinvite).unwrap();
        assert_eq!(dialog.remote_target(), &uri("sip:alice@192.0.2.99:5070"));
        assert_eq!(
            dialog.route_set().len(),
            2,
            "the route set never changes after creation"
        );
    }

    #[test]
    fn early_uac_dialog_is_confirmed_by_the_2xx_which_also_sets_the_route_set() {
        let (invite, mut ringing) = outgoing_invite_and_ok(StatusCode::RINGING);
        ringing.headers.remove(&HeaderName::RecordRoute);
        let mut dialog = Dialog::new_uac(&invite, &ringing).unwrap();
        assert_eq!(dialog.state(), DialogState::Early);
        assert!(dialog.route_set().is_empty());
        let (_, mut ok) = outgoing_invite_and_ok(StatusCode::OK);
        ok.headers.set(HeaderName::Contact, "<sip:agent7@203.0.113.8>");
        dialog.handle_response(&ok).unwrap();
        assert_eq!(dialog.state(), DialogState::Confirmed);
        assert_eq!(
            dialog.route_set().len(),
            2,
            "recomputed from the 2xx (RFC 3261 13.2.2.4)"
        );
        assert_eq!(dialog.remote_target(), &uri("sip:agent7@203.0.113.8"));

        let mut other_fork = ok.clone();
        other_fork
            .headers
            .set(HeaderName::To, "<sip:agent7@pbx.example.com>;tag=fork2");
        assert_eq!(dialog.handle_response(&other_fork), Err(DialogError::NotInDialog));
    }

    #[test]
    fn dialogs_are_not_created_from_bad_responses() {
        let mut rng = rng();
        let (invite, ok) = outgoing_invite_and_ok(StatusCode::OK);
        let mut no_tag = ok.clone();
        no_tag.headers.set(HeaderName::To, "<sip:agent7@pbx.example.com>");
        assert_eq!(
            Dialog::new_uac(&invite, &no_tag),
            Err(DialogError::MissingTag {
                header: HeaderName::To
            })
        );
        let mut no_contact = ok;
        no_contact.headers.remove(&HeaderName::Contact);
        let err = Dialog::new_uac(&invite, &no_contact).unwrap_err();
        assert_eq!(
            (err.clone(), err.status()),
            (DialogError::MissingContact, StatusCode::BAD_REQUEST)
        );
        let trying = Response::from_request(&incoming_invite(), StatusCode::TRYING);
        assert_eq!(
            Dialog::new_uas(&incoming_invite(), &trying, &mut rng),
            Err(DialogError::NotDialogCreating(StatusCode::TRYING))
        );
        let mut garbled = incoming_invite();
        garbled
            .headers
            .set(HeaderName::From, "<sip:alice@atlanta.example.com");
        let ok = uas_response(&garbled, StatusCode::OK, "t", None);
        assert!(matches!(
            Dialog::new_uas(&garbled, &ok, &mut rng),
            Err(DialogError::Malformed {
                header: HeaderName::From,
                ..
            })
        ));
    }
}
