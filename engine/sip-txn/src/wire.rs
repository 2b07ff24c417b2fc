//! The few things the layer reads from and builds into SIP messages, kept in one place.

use sip_msg::{CSeq, HeaderName, Headers, Method, Request, Response, StatusCode};

use crate::error::TxnError;

/// What transaction matching needs from the top Via.
#[derive(Debug, Clone)]
pub(crate) struct ViaInfo {
    pub(crate) branch: Option<String>,
    /// `host[:port]` as written.
    pub(crate) sent_by: String,
    /// The whole top Via, printed (RFC 2543 matching compares it).
    pub(crate) raw: String,
}

pub(crate) fn top_via(headers: &Headers) -> Result<ViaInfo, TxnError> {
    let via = headers.top_via()?;
    let sent_by = match via.port {
        Some(port) => format!("{}:{port}", via.host),
        None => via.host.to_string(),
    };
    Ok(ViaInfo {
        branch: via.branch().map(str::to_owned),
        sent_by,
        raw: via.to_string(),
    })
}

pub(crate) fn cseq(headers: &Headers) -> Result<CSeq, TxnError> {
    Ok(headers.cseq()?)
}

pub(crate) fn from_tag(headers: &Headers) -> Result<Option<String>, TxnError> {
    Ok(headers.from()?.tag().map(str::to_owned))
}

pub(crate) fn call_id(headers: &Headers) -> Result<&str, TxnError> {
    Ok(headers.call_id()?)
}

/// How an ACK for a 2xx (which has a branch of its own) finds the INVITE server transaction that sent the
/// 2xx: Call-ID, CSeq number and From tag (RFC 3261 13.3.1.4 / 17.2.3, as the brief of RFC 6026 asks).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct AckMatch {
    call_id: String,
    cseq: u32,
    from_tag: String,
}

impl AckMatch {
    pub(crate) fn of(request: &Request) -> Result<Self, TxnError> {
        Ok(Self {
            call_id: call_id(&request.headers)?.to_owned(),
            cseq: cseq(&request.headers)?.seq,
            from_tag: from_tag(&request.headers)?.unwrap_or_default(),
        })
    }
}

/// The ACK an INVITE client transaction sends for a 300-699 (RFC 3261 17.1.1.3): same Request-URI,
/// Call-ID, From, top Via (so the same branch) and Route set as the INVITE, the To of the response, and
/// CSeq with the INVITE's number and method ACK.
pub(crate) fn ack_for_non_2xx(invite: &Request, response: &Response) -> Request {
    let mut headers = Headers::new();
    match invite.headers.top_via() {
        Ok(via) => headers.push(HeaderName::Via, via.to_string()),
        Err(_) => {
            if let Some(v) = invite.headers.get(&HeaderName::Via) {
                headers.push(HeaderName::Via, v);
            }
        }
    }
    headers.push(HeaderName::MaxForwards, "70");
    for route in invite.headers.get_all(&HeaderName::Route) {
        headers.push(HeaderName::Route, route);
    }
    for name in [HeaderName::From, HeaderName::CallId] {
        if let Some(v) = invite.headers.get(&name) {
            headers.push(name, v);
        }
    }
    if let Some(to) = response
        .headers
        .get(&HeaderName::To)
        .or_else(|| invite.headers.get(&HeaderName::To))
    {
        headers.push(HeaderName::To, to);
    }
    let seq = invite.headers.cseq().map(|c| c.seq).unwrap_or_default();
    headers.push(
        HeaderName::CSeq,
        CSeq {
            seq,
            method: Method::Ack,
        }
        .to_string(),
    );
    let mut ack = Request::new(Method::Ack, invite.uri.clone());
    ack.headers = headers;
    ack
}

/// `100 Trying` for a request (RFC 3261 8.2.6.1: no To tag; Timestamp copied by `from_request` if the
/// message crate does so).
pub(crate) fn trying(request: &Request) -> Response {
    Response::from_request(request, StatusCode::TRYING)
}
