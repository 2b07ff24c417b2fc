//! Message builders a UA needs around dialogs: our Via, UAS responses, out-of-dialog requests, CANCEL.

use rand::RngCore;
use sip_msg::{
    CSeq, Contact, HeaderName, Headers, Host, Method, NameAddr, Param, Request, Response, StatusCode, Uri,
    Via,
};

use crate::error::DialogError;
use crate::ids::{initial_cseq, new_branch, new_call_id, new_tag};

/// What we put in the Via of requests we send: transport token and our sent-by. A fresh branch is added for
/// every request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViaSpec {
    /// Transport token: `UDP`, `TCP`, `TLS`, `WS`, `WSS`.
    pub transport: String,
    /// Our host or address as the peer should see it.
    pub host: Host,
    /// Our port, if not the default.
    pub port: Option<u16>,
    /// Add an empty `rport` parameter (RFC 3581) so responses come back to our source port.
    pub rport: bool,
}

impl ViaSpec {
    /// A Via spec with `rport` requested.
    #[must_use]
    pub fn new(transport: &str, host: Host, port: Option<u16>) -> Self {
        Self {
            transport: transport.to_ascii_uppercase(),
            host,
            port,
            rport: true,
        }
    }

    /// The Via header for one request with the given branch.
    #[must_use]
    pub fn via(&self, branch: &str) -> Via {
        let mut via = Via::new(&self.transport, self.host.clone(), self.port, branch);
        if self.rport {
            via.params.push(Param::flag("rport"));
        }
        via
    }
}

/// A name-addr with its `tag` parameter set to `tag` (or removed when `tag` is empty).
pub(crate) fn with_tag(mut addr: NameAddr, tag: &str) -> NameAddr {
    addr.params.retain(|p| !p.name.eq_ignore_ascii_case("tag"));
    if !tag.is_empty() {
        addr.params.push(Param::new("tag", tag));
    }
    addr
}

/// The name-addrs of every `name` header (Record-Route, Route), in order, comma lists flattened.
pub(crate) fn route_list(headers: &Headers, name: HeaderName) -> Result<Vec<NameAddr>, DialogError> {
    // sip-msg has no public name-addr list parser for Route/Record-Route yet: its Contact list parser accepts
    // the same grammar, so the values are parsed as Contact values.
    let mut as_contacts = Headers::new();
    for value in headers.get_all(&name) {
        as_contacts.push(HeaderName::Contact, value);
    }
    let contacts = as_contacts
        .contacts()
        .map_err(DialogError::malformed(name.clone()))?;
    contacts
        .into_iter()
        .map(|c| match c {
            Contact::Addr(a) => Ok(a),
            Contact::Star => Err(DialogError::Malformed {
                header: name.clone(),
                source: sip_msg::ParseError::BadHeaderLine,
            }),
        })
        .collect()
}

/// The URI of the first Contact, if there is one.
pub(crate) fn first_contact(headers: &Headers) -> Result<Option<Uri>, DialogError> {
    let contacts = headers
        .contacts()
        .map_err(DialogError::malformed(HeaderName::Contact))?;
    Ok(contacts.into_iter().find_map(|c| match c {
        Contact::Addr(a) => Some(a.uri),
        Contact::Star => None,
    }))
}

/// Whether a request with this method may create a dialog (RFC 3261 INVITE; RFC 6665 SUBSCRIBE; RFC 3515
/// REFER).
pub(crate) fn creates_dialog(method: &Method) -> bool {
    matches!(
        method,
        Method::Invite | Method::Subscribe | Method::Refer | Method::Notify
    )
}

/// Whether a request with this method is a target refresh request (it may change the remote target).
pub(crate) fn is_target_refresh(method: &Method) -> bool {
    matches!(
        method,
        Method::Invite | Method::Update | Method::Subscribe | Method::Notify | Method::Refer
    )
}

/// Our response to a request, as a UAS (RFC 3261 8.2.6 and 12.1.1).
///
/// Copies Via, From, To, Call-ID and CSeq; adds our `local_tag` to the To header for every status above
/// 100 unless the request already had a To tag (in-dialog); for a dialog-creating response (101-299 to an
/// INVITE, SUBSCRIBE, REFER or NOTIFY without To tag) copies the Record-Route headers in order; adds
/// `contact` as the Contact when given.
#[must_use]
pub fn uas_response(req: &Request, status: StatusCode, local_tag: &str, contact: Option<&Uri>) -> Response {
    let mut resp = Response::from_request(req, status);
    let to = req.headers.to().ok();
    let had_tag = to.as_ref().is_some_and(|t| t.tag().is_some());
    if status.0 > 100 && !had_tag && !local_tag.is_empty() {
        let value = match to {
            Some(to) => with_tag(to, local_tag).to_string(),
            // An unparsable To still gets its tag; the peer sent it this way.
            None => format!(
                "{};tag={local_tag}",
                req.headers.get(&HeaderName::To).unwrap_or_default()
            ),
        };
        resp.headers.set(HeaderName::To, value);
    }
    if !had_tag && creates_dialog(&req.method) && (101..=299).contains(&status.0) {
        for rr in req.headers.get_all(&HeaderName::RecordRoute) {
            resp.headers.push(HeaderName::RecordRoute, rr);
        }
    }
    if let Some(contact) = contact {
        resp.headers.push(HeaderName::Contact, format!("<{contact}>"));
    }
    resp
}

/// The CANCEL for a request we sent (RFC 3261 9.1): same Request-URI, Call-ID, From, To, CSeq number and
/// Route set, and the same single Via, so its branch matches the INVITE's (the CANCEL is a separate
/// transaction: start it with the transaction layer).
#[must_use]
pub fn cancel_for(invite: &Request) -> Request {
    let mut cancel = Request::new(Method::Cancel, invite.uri.clone());
    let h = &mut cancel.headers;
    match invite.headers.top_via() {
        Ok(via) => h.push(HeaderName::Via, via.to_string()),
        Err(_) => {
            if let Some(v) = invite.headers.get(&HeaderName::Via) {
                h.push(HeaderName::Via, v);
            }
        }
    }
    h.push(HeaderName::MaxForwards, "70");
    for route in invite.headers.get_all(&HeaderName::Route) {
        h.push(HeaderName::Route, route);
    }
    for name in [HeaderName::From, HeaderName::To, HeaderName::CallId] {
        if let Some(v) = invite.headers.get(&name) {
            h.push(name, v);
        }
    }
    let seq = invite.headers.cseq().map(|c| c.seq).unwrap_or_default();
    h.push(
        HeaderName::CSeq,
        CSeq {
            seq,
            method: Method::Cancel,
        }
        .to_string(),
    );
    cancel
}

/// An out-of-dialog request we originate (the INVITE of a B2BUA's outgoing leg, an OPTIONS ping, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitialRequest {
    /// The method.
    pub method: Method,
    /// The Request-URI.
    pub request_uri: Uri,
    /// From (a fresh tag is added).
    pub from: NameAddr,
    /// To (no tag).
    pub to: NameAddr,
    /// Our Contact, required for INVITE.
    pub contact: Option<Uri>,
    /// A preloaded route set (outbound proxy), in order.
    pub route: Vec<NameAddr>,
    /// Reuse this Call-ID (for example to keep a REGISTER's); a fresh one is drawn when `None`.
    pub call_id: Option<String>,
}

impl InitialRequest {
    /// Builds the request: a fresh From tag, Call-ID (unless given), random initial CSeq and branch.
    pub fn build(&self, via: &ViaSpec, rng: &mut impl RngCore) -> Request {
        let mut req = Request::new(self.method.clone(), self.request_uri.clone());
        let h = &mut req.headers;
        h.push(HeaderName::Via, via.via(&new_branch(rng)).to_string());
        h.push(HeaderName::MaxForwards, "70");
        for route in &self.route {
            h.push(HeaderName::Route, route.to_string());
        }
        h.push(
            HeaderName::From,
            with_tag(self.from.clone(), &new_tag(rng)).to_string(),
        );
        h.push(HeaderName::To, with_tag(self.to.clone(), "").to_string());
        let call_id = self.call_id.clone().unwrap_or_else(|| new_call_id(rng));
        h.push(HeaderName::CallId, call_id);
        h.push(
            HeaderName::CSeq,
            CSeq {
                seq: initial_cseq(rng),
                method: self.method.clone(),
            }
            .to_string(),
        );
        if let Some(contact) = &self.contact {
            h.push(HeaderName::Contact, format!("<{contact}>"));
        }
        req
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;

    fn invite() -> Request {
        let mut req = Request::new(Method::Invite, "sip:hotline@hotline.example.com".parse().unwrap());
        let h = &mut req.headers;
        h.push(
            HeaderName::Via,
            "SIP/2.0/UDP p1.example.com;branch=z9hG4bK-p1, SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK-a",
        );
        h.push(HeaderName::RecordRoute, "<sip:p1.example.com;lr>");
        h.push(HeaderName::From, "<sip:alice@atlanta.example.com>;tag=alice1");
        h.push(HeaderName::To, "<sip:hotline@hotline.example.com>");
        h.push(HeaderName::CallId, "c1");
        h.push(HeaderName::CSeq, "7 INVITE");
        h.push(HeaderName::Route, "<sip:outbound.example.com;lr>");
        req
    }

    #[test]
    fn uas_response_tags_to_above_100_and_copies_record_route_only_when_creating_a_dialog() {
        let req = invite();
        let trying = uas_response(&req, StatusCode::TRYING, "mine", None);
        assert_eq!(trying.headers.to().unwrap().tag(), None, "100 carries no tag");
        assert!(trying.headers.get(&HeaderName::RecordRoute).is_none());

        let ringing = uas_response(&req, StatusCode::RINGING, "mine", None);
        assert_eq!(ringing.headers.to().unwrap().tag(), Some("mine"));
        assert_eq!(
            ringing.headers.get(&HeaderName::RecordRoute),
            Some("<sip:p1.example.com;lr>")
        );
        assert_eq!(
            ringing.headers.get(&HeaderName::Via),
            req.headers.get(&HeaderName::Via),
            "Vias are copied"
        );

        let contact: Uri = "sip:hotline@198.51.100.1".parse().unwrap();
        let ok = uas_response(&req, StatusCode::OK, "mine", Some(&contact));
        assert_eq!(
            ok.headers.contacts().unwrap(),
            [Contact::Addr(NameAddr::new(contact))]
        );

        let busy = uas_response(&req, StatusCode::BUSY_HERE, "mine", None);
        assert_eq!(busy.headers.to().unwrap().tag(), Some("mine"));
        assert!(
            busy.headers.get(&HeaderName::RecordRoute).is_none(),
            "a 486 creates no dialog"
        );

        let mut in_dialog = req;
        in_dialog.method = Method::Bye;
        in_dialog
            .headers
            .set(HeaderName::To, "<sip:hotline@hotline.example.com>;tag=old");
        in_dialog.headers.set(HeaderName::CSeq, "8 BYE");
        let ok = uas_response(&in_dialog, StatusCode::OK, "mine", None);
        assert_eq!(
            ok.headers.to().unwrap().tag(),
            Some("old"),
            "an existing To tag is kept"
        );
    }

    #[test]
    fn cancel_reuses_the_invites_top_via_and_cseq_number() {
        let req = invite();
        let cancel = cancel_for(&req);
        assert_eq!(cancel.method, Method::Cancel);
        assert_eq!(cancel.uri, req.uri);
        let vias = cancel.headers.vias().unwrap();
        assert_eq!(vias.len(), 1);
        assert_eq!(vias[0].branch(), Some("z9hG4bK-p1"));
        assert_eq!(
            cancel.headers.cseq().unwrap(),
            CSeq {
                seq: 7,
                method: Method::Cancel
            }
        );
        for name in [
            HeaderName::From,
            HeaderName::To,
            HeaderName::CallId,
            HeaderName::Route,
        ] {
            assert_eq!(cancel.headers.get(&name), req.headers.get(&name), "{name}");
        }
    }

    #[test]
    fn initial_request_draws_tag_call_id_cseq_and_branch_from_the_rng() {
        let spec = InitialRequest {
            method: Method::Invite,
            request_uri: "sip:agent7@pbx.example.com".parse().unwrap(),
            from: NameAddr::new("sip:hotline@hotline.example.com".parse().unwrap()),
            to: NameAddr::new("sip:agent7@pbx.example.com".parse().unwrap()),
            contact: Some("sip:hotline@198.51.100.1:5060".parse().unwrap()),
            route: vec![NameAddr::new("sip:outbound.example.com;lr".parse().unwrap())],
            call_id: None,
        };
        let via = ViaSpec::new("tcp", Host::Domain("hotline.example.com".into()), None);
        let a = spec.build(&via, &mut StdRng::seed_from_u64(9));
        let b = spec.build(&via, &mut StdRng::seed_from_u64(9));
        assert_eq!(a, b, "same seed, same request");
        let c = spec.build(&via, &mut StdRng::seed_from_u64(10));
        assert_ne!(a.headers.call_id().unwrap(), c.headers.call_id().unwrap());

        assert!(a.headers.from().unwrap().tag().is_some_and(|t| t.len() == 16));
        assert_eq!(a.headers.to().unwrap().tag(), None);
        assert!(a.headers.cseq().unwrap().seq < 1 << 31);
        let top = a.headers.top_via().unwrap();
        assert_eq!(top.transport, "TCP");
        assert!(top.branch().unwrap().starts_with(crate::MAGIC_COOKIE));
        assert_eq!(
            a.headers.get(&HeaderName::Route),
            Some("<sip:outbound.example.com;lr>")
        );
        assert_eq!(
            a.headers.get(&HeaderName::Contact),
            Some("<sip:hotline@198.51.100.1:5060>")
        );
        assert_eq!(a.headers.max_forwards().unwrap(), 70);
    }
}
