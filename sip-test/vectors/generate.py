#!/usr/bin/env python3
"""Writes the SIP test vectors with CRLF line endings.

Our own messages, written in the spirit of RFC 4475 (torture tests) and RFC 5118 (IPv6), not copied from
them. Each vector is a head (lines joined with CRLF, ending with an empty line) and a body (raw bytes).
`$CL` in the head is replaced by the body length. Run from anywhere: `python3 sip-test/vectors/generate.py`.
Regenerating is deterministic; CI does not run this script, the .sip files are committed.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

SDP = (
    "v=0\r\n"
    "o=alice 2890844526 2890844526 IN IP4 192.0.2.10\r\n"
    "s=-\r\n"
    "c=IN IP4 192.0.2.10\r\n"
    "t=0 0\r\n"
    "m=audio 49170 RTP/AVP 0 8\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
)

SDP6 = (
    "v=0\r\n"
    "o=bob 1 1 IN IP6 2001:db8::20\r\n"
    "s=-\r\n"
    "c=IN IP6 2001:db8::20\r\n"
    "t=0 0\r\n"
    "m=audio 30000 RTP/AVP 0\r\n"
)


def msg(head, body="", cl=True):
    """head: list of lines (no CRLF). Returns bytes."""
    if isinstance(body, str):
        body = body.encode()
    lines = [l.replace("$CL", str(len(body))) for l in head]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + body


def dialog(method="INVITE", seq=1, call_id="vec-{n}@hotline.test", branch="z9hG4bKvec{n}"):
    return [
        f"Via: SIP/2.0/UDP client.atlanta.test:5060;branch={branch}",
        "Max-Forwards: 70",
        "From: \"Alice\" <sip:alice@atlanta.test>;tag=a73kszlfl",
        "To: <sip:bob@biloxi.test>",
        f"Call-ID: {call_id}",
        f"CSeq: {seq} {method}",
    ]


def fill(lines, n):
    return [l.replace("{n}", n) for l in lines]


valid = {}
invalid = {}

# ---------------------------------------------------------------- valid
valid["v01-basic-invite"] = ("A plain INVITE with an SDP body and Content-Length", msg(
    ["INVITE sip:bob@biloxi.test SIP/2.0"] + fill(dialog(), "01") + [
        "Contact: <sip:alice@client.atlanta.test:5060>",
        "Content-Type: application/sdp",
        "Content-Length: $CL",
    ], SDP))

valid["v02-compact-forms"] = ("Every compact header form: v f t i m l c e s k o r u b x", msg(
    ["REFER sip:bob@biloxi.test SIP/2.0",
     "v: SIP/2.0/UDP client.atlanta.test;branch=z9hG4bKvec02",
     "f: <sip:alice@atlanta.test>;tag=1",
     "t: <sip:bob@biloxi.test>;tag=2",
     "i: vec-02@hotline.test",
     "CSeq: 7 REFER",
     "m: <sip:alice@client.atlanta.test>",
     "s: compact forms",
     "k: replaces, timer",
     "o: refer",
     "r: <sip:carol@chicago.test>",
     "u: refer, dialog",
     "b: <sip:alice@atlanta.test>",
     "x: 1800;refresher=uac",
     "e: identity",
     "c: text/plain",
     "l: $CL"], "hi\r\n"))

valid["v03-line-folding"] = ("Header values continued on following lines with SP and HT (RFC 3261 7.3.1)", msg(
    ["OPTIONS sip:bob@biloxi.test SIP/2.0",
     "Via: SIP/2.0/UDP client.atlanta.test;",
     "   branch=z9hG4bKvec03",
     "Max-Forwards:",
     "\t70",
     "From: \"Alice\"",
     " <sip:alice@atlanta.test>",
     "  ;tag=f03",
     "To: <sip:bob@biloxi.test>",
     "Call-ID: vec-03@hotline.test",
     "CSeq: 3",
     "\t OPTIONS",
     "Subject: I know you're there,",
     "         pick up the phone",
     "         and talk to me!",
     "Content-Length: 0"]))

valid["v04-multi-via-one-line"] = ("Three Vias in one comma list plus a second Via line; order kept", msg(
    ["BYE sip:bob@client.biloxi.test SIP/2.0",
     "Via: SIP/2.0/UDP p1.test;branch=z9hG4bKvec04a, SIP/2.0/TCP p2.test:5070;branch=z9hG4bKvec04b;received=192.0.2.5,SIP/2.0/TLS p3.test;branch=z9hG4bKvec04c",
     "Via: SIP/2.0/UDP client.atlanta.test;branch=z9hG4bKvec04d",
     "Max-Forwards: 68",
     "From: <sip:alice@atlanta.test>;tag=a1",
     "To: <sip:bob@biloxi.test>;tag=b1",
     "Call-ID: vec-04@hotline.test",
     "CSeq: 2 BYE",
     "Content-Length: 0"]))

valid["v05-ipv6-register"] = ("RFC 5118 style REGISTER: IPv6 Request-URI, Via, From/To and Contact", msg(
    ["REGISTER sip:[2001:db8::10] SIP/2.0",
     "Via: SIP/2.0/UDP [2001:db8::9:1];branch=z9hG4bKvec05",
     "Max-Forwards: 70",
     "From: <sip:user@[2001:db8::10]>;tag=r05",
     "To: <sip:user@[2001:db8::10]>",
     "Call-ID: vec-05@2001:db8::9:1",
     "CSeq: 1 REGISTER",
     "Contact: \"Phone\" <sip:user@[2001:db8::9:1]:5070>;expires=3600",
     "Expires: 3600",
     "Content-Length: 0"]))

valid["v06-ipv6-via-received"] = ("Via with an IPv6 sent-by and port, received= unbracketed IPv6 and rport", msg(
    ["OPTIONS sip:[2001:db8::10]:5060 SIP/2.0",
     "Via: SIP/2.0/UDP [2001:db8::9:1]:6050;branch=z9hG4bKvec06;received=2001:db8::9:255;rport=6050",
     "Via: SIP/2.0/TCP [::1];branch=z9hG4bKvec06b;rport",
     "Max-Forwards: 70",
     "From: <sip:user@[2001:db8::9:1]>;tag=o06",
     "To: <sip:user@[2001:db8::10]>",
     "Call-ID: vec-06",
     "CSeq: 1 OPTIONS",
     "Content-Length: 0"]))

valid["v07-ipv6-response"] = ("200 OK with IPv6 Contact, IPv4-mapped address and IPv6 SDP", msg(
    ["SIP/2.0 200 OK",
     "Via: SIP/2.0/UDP [2001:db8::9:1]:5060;branch=z9hG4bKvec07;received=2001:db8::9:1",
     "From: <sip:alice@[2001:db8::9:1]>;tag=a07",
     "To: <sip:bob@[2001:db8::20]>;tag=b07",
     "Call-ID: vec-07@hotline.test",
     "CSeq: 1 INVITE",
     "Contact: <sip:bob@[::ffff:192.0.2.20]:5062;transport=udp>",
     "Content-Type: application/sdp",
     "Content-Length: $CL"], SDP6))

valid["v08-escaped-user"] = ("Percent-escaped users (%61lice, %20, %25) in Request-URI, From and To", msg(
    ["INVITE sip:%61lice%20smith@atlanta.test;%6C%72 SIP/2.0",
     "Via: SIP/2.0/UDP client.biloxi.test;branch=z9hG4bKvec08",
     "Max-Forwards: 70",
     "From: <sip:100%25done@biloxi.test>;tag=e08",
     "To: <sip:%61lice%20smith@atlanta.test>",
     "Call-ID: vec-08@hotline.test",
     "CSeq: 8 INVITE",
     "Content-Length: 0"]))

valid["v09-tel-uri"] = ("tel: URIs (RFC 3966) in Request-URI, From and To", msg(
    ["INVITE tel:+1-201-555-0123 SIP/2.0",
     "Via: SIP/2.0/UDP gw.atlanta.test;branch=z9hG4bKvec09",
     "Max-Forwards: 70",
     "From: <tel:7042;phone-context=example.test>;tag=t09",
     "To: <tel:+1-201-555-0123>",
     "Call-ID: vec-09@hotline.test",
     "CSeq: 1 INVITE",
     "Content-Length: 0"]))

valid["v10-extension-method"] = ("An unknown extension method with matching CSeq", msg(
    ["NEWMETHOD sip:bob@biloxi.test SIP/2.0"] + fill(dialog("NEWMETHOD", 9), "10") + [
        "Content-Length: 0"]))

valid["v11-lowercase-method"] = ("`invite` is an extension method (methods are case-sensitive)", msg(
    ["invite sip:bob@biloxi.test SIP/2.0"] + fill(dialog("invite", 11), "11") + [
        "Content-Length: 0"]))

valid["v12-mixed-case-headers"] = ("Header names in odd case: vIA, fRoM, cAlL-iD, cseq, CONTENT-length", msg(
    ["OPTIONS sip:bob@biloxi.test SIP/2.0",
     "vIA: SIP/2.0/UDP client.atlanta.test;branch=z9hG4bKvec12",
     "mAx-FoRwArDs: 70",
     "fRoM: <sip:alice@atlanta.test>;tag=m12",
     "TO: <sip:bob@biloxi.test>",
     "cAlL-iD: vec-12@hotline.test",
     "cseq: 12 OPTIONS",
     "x-MiXeD-cAsE: kept as received",
     "CONTENT-length: 0"]))

valid["v13-odd-whitespace"] = ("Whitespace before colons, tabs, LWS around ; = and / in Via, none after colon", msg(
    ["OPTIONS sip:bob@biloxi.test SIP/2.0",
     "Via  :  SIP / 2.0 / UDP  client.atlanta.test ; branch = z9hG4bKvec13 ;rport",
     "Max-Forwards:\t70",
     "From\t:<sip:alice@atlanta.test>  ;  tag  =  w13",
     "To:<sip:bob@biloxi.test>",
     "Call-ID:vec-13@hotline.test",
     "CSeq  :  13   OPTIONS",
     "Subject :\t\tspaced   out  ",
     "Content-Length  :  0"]))

long_value = "x" * 8000
valid["v14-long-values"] = ("An 8000-byte header value and a 300-character Call-ID (under 8192 per line)", msg(
    ["MESSAGE sip:bob@biloxi.test SIP/2.0",
     "Via: SIP/2.0/UDP client.atlanta.test;branch=z9hG4bKvec14",
     "Max-Forwards: 70",
     "From: <sip:alice@atlanta.test>;tag=l14",
     "To: <sip:bob@biloxi.test>",
     "Call-ID: " + ("c" * 300) + "@hotline.test",
     "CSeq: 14 MESSAGE",
     "X-Long: " + long_value,
     "Content-Type: text/plain",
     "Content-Length: $CL"], "long\r\n"))

valid["v15-unknown-headers"] = ("Unknown and extension headers are kept verbatim, in order", msg(
    ["INVITE sip:bob@biloxi.test SIP/2.0"] + fill(dialog(), "15") + [
        "P-Asserted-Identity: \"Alice\" <sip:alice@atlanta.test>",
        "NewFangledHeader:   newfangled value with  inner  spaces",
        "X-Custom_Thing.v2: a=b;c=d",
        "Privacy: id",
        "Content-Length: 0"]))

valid["v16-no-content-length-udp"] = ("UDP without Content-Length and no body: body is empty", msg(
    ["OPTIONS sip:bob@biloxi.test SIP/2.0"] + fill(dialog("OPTIONS", 16), "16")))

valid["v17-message-body"] = ("MESSAGE with a UTF-8 text body and exact Content-Length", msg(
    ["MESSAGE sip:bob@biloxi.test SIP/2.0"] + fill(dialog("MESSAGE", 17), "17") + [
        "Content-Type: text/plain;charset=UTF-8",
        "Content-Length: $CL"], "Grüße aus Köln 👋\r\n"))

m18 = msg(["MESSAGE sip:bob@biloxi.test SIP/2.0"] + fill(dialog("MESSAGE", 18), "18") + [
    "Content-Type: text/plain",
    "Content-Length: 5"], "hello")
valid["v18-datagram-longer-than-content-length"] = (
    "UDP datagram with bytes past Content-Length: the body is truncated (RFC 3261 18.3)", m18 + b"TRAILING GARBAGE\r\n")

valid["v19-params-without-values"] = ("Flag params (lr, rport, ob), empty-valued and quoted params", msg(
    ["INVITE sip:bob@biloxi.test;lr;transport=tcp SIP/2.0",
     "Via: SIP/2.0/TCP client.atlanta.test;branch=z9hG4bKvec19;rport;alias",
     "Max-Forwards: 70",
     "Route: <sip:p1.test;lr>,<sip:p2.test;lr;ob>",
     "From: <sip:alice@atlanta.test>;tag=p19;x-flag",
     "To: <sip:bob@biloxi.test>",
     "Call-ID: vec-19@hotline.test",
     "CSeq: 19 INVITE",
     "Contact: <sip:alice@client.atlanta.test;transport=tcp;ob>;+sip.instance=\"<urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6>\";reg-id=1;expires=",
     "Content-Length: 0"]))

valid["v20-quoted-display-names"] = ("Display names with escaped quotes, backslashes, commas, < and > inside quotes", msg(
    ["INVITE sip:bob@biloxi.test SIP/2.0",
     "Via: SIP/2.0/UDP client.atlanta.test;branch=z9hG4bKvec20",
     "Max-Forwards: 70",
     "From: \"\\\"Al\\\" \\\\ Smith, <boss>\" <sip:alice@atlanta.test>;tag=q20",
     "To: \"\" <sip:bob@biloxi.test>",
     "Call-ID: vec-20@hotline.test",
     "CSeq: 20 INVITE",
     "Contact: \"A, B\" <sip:a@client.atlanta.test>, \"C;D\" <sip:c@client.atlanta.test>;q=0.5",
     "Content-Length: 0"]))

valid["v21-token-display-names"] = ("Unquoted multi-word display names", msg(
    ["INVITE sip:bob@biloxi.test SIP/2.0",
     "Via: SIP/2.0/UDP client.atlanta.test;branch=z9hG4bKvec21",
     "Max-Forwards: 70",
     "From: Alice   Liddell <sip:alice@atlanta.test>;tag=n21",
     "To: Bob <sip:bob@biloxi.test>",
     "Call-ID: vec-21@hotline.test",
     "CSeq: 21 INVITE",
     "Content-Length: 0"]))

valid["v22-addr-spec-form"] = ("From/To/Contact without angle brackets: params after the URI are header params", msg(
    ["INVITE sip:bob@biloxi.test SIP/2.0",
     "Via: SIP/2.0/UDP client.atlanta.test;branch=z9hG4bKvec22",
     "Max-Forwards: 70",
     "From: sip:alice@atlanta.test;tag=s22",
     "To: sip:bob@biloxi.test",
     "Call-ID: vec-22@hotline.test",
     "CSeq: 22 INVITE",
     "Contact: sip:alice@client.atlanta.test;expires=60",
     "Content-Length: 0"]))

valid["v23-register-star"] = ("REGISTER removing all bindings with Contact: * and Expires: 0", msg(
    ["REGISTER sip:atlanta.test SIP/2.0",
     "Via: SIP/2.0/UDP client.atlanta.test;branch=z9hG4bKvec23",
     "Max-Forwards: 70",
     "From: <sip:alice@atlanta.test>;tag=r23",
     "To: <sip:alice@atlanta.test>",
     "Call-ID: vec-23@hotline.test",
     "CSeq: 23 REGISTER",
     "Contact: *",
     "Expires: 0",
     "Content-Length: 0"]))

valid["v24-utf8-reason"] = ("Response with a UTF-8 reason phrase and UTF-8 display name", msg(
    ["SIP/2.0 486 Besetzt – bitte später",
     "Via: SIP/2.0/UDP client.atlanta.test;branch=z9hG4bKvec24",
     "From: \"Jürgen Müller\" <sip:juergen@atlanta.test>;tag=u24",
     "To: <sip:bob@biloxi.test>;tag=b24",
     "Call-ID: vec-24@hotline.test",
     "CSeq: 1 INVITE",
     "Content-Length: 0"]))

valid["v25-leading-crlf"] = ("CRLFs before the start line are skipped (RFC 3261 7.5)",
                             b"\r\n\r\n\r\n" + msg(["OPTIONS sip:bob@biloxi.test SIP/2.0"] + fill(dialog("OPTIONS", 25), "25") + ["Content-Length: 0"]))

valid["v26-sips-uri-headers"] = ("sips: URIs with password, port, params and ?headers; Record-Route list", msg(
    ["INVITE sips:bob:s3cret@biloxi.test:5061;transport=tls;maddr=192.0.2.7?Subject=Project%20X&Priority=urgent SIP/2.0",
     "Via: SIP/2.0/TLS client.atlanta.test:5061;branch=z9hG4bKvec26",
     "Max-Forwards: 70",
     "Record-Route: <sips:p1.test;lr>, <sips:p2.test:5061;lr>",
     "From: <sips:alice@atlanta.test>;tag=h26",
     "To: <sips:bob@biloxi.test>",
     "Call-ID: vec-26@hotline.test",
     "CSeq: 26 INVITE",
     "Content-Length: 0"]))

many = [f"X-H{i:02d}: value {i}" for i in range(90)]
valid["v27-many-headers"] = ("97 header fields, under the default limit of 100", msg(
    ["OPTIONS sip:bob@biloxi.test SIP/2.0"] + fill(dialog("OPTIONS", 27), "27") + many + ["Content-Length: 0"]))

valid["v28-other-schemes"] = ("Non-SIP URIs kept opaque (urn:, mailto:) and an escaped Replaces in Refer-To", msg(
    ["INVITE urn:service:sos SIP/2.0",
     "Via: SIP/2.0/UDP client.atlanta.test;branch=z9hG4bKvec28",
     "Max-Forwards: 70",
     "From: <sip:alice@atlanta.test>;tag=o28",
     "To: <urn:service:sos>",
     "Call-ID: vec-28@hotline.test",
     "CSeq: 28 INVITE",
     "Refer-To: <sip:carol@chicago.test?Replaces=12345%40atlanta.test%3Bto-tag%3D1%3Bfrom-tag%3D2>",
     "Reply-To: <mailto:alice@atlanta.test>",
     "Content-Length: 0"]))

valid["v29-no-max-forwards"] = ("Max-Forwards is optional to accept", msg(
    ["OPTIONS sip:bob@biloxi.test SIP/2.0",
     "Via: SIP/2.0/UDP client.atlanta.test;branch=z9hG4bKvec29",
     "From: <sip:alice@atlanta.test>;tag=m29",
     "To: <sip:bob@biloxi.test>",
     "Call-ID: vec-29@hotline.test",
     "CSeq: 29 OPTIONS",
     "Content-Length: 0"]))

valid["v30-auth-headers"] = ("401 with two WWW-Authenticate challenges (quoted commas), then Authorization", msg(
    ["SIP/2.0 401 Unauthorized",
     "Via: SIP/2.0/UDP client.atlanta.test;branch=z9hG4bKvec30",
     "From: <sip:alice@atlanta.test>;tag=x30",
     "To: <sip:alice@atlanta.test>;tag=y30",
     "Call-ID: vec-30@hotline.test",
     "CSeq: 1 REGISTER",
     "WWW-Authenticate: Digest realm=\"atlanta.test\", qop=\"auth,auth-int\", algorithm=SHA-256, nonce=\"ea9c8e88df84f1cec4341ae6cbe5a359\"",
     "WWW-Authenticate: Digest realm=\"atlanta.test\", qop=\"auth\", algorithm=MD5, nonce=\"ea9c8e88df84f1cec4341ae6cbe5a359\"",
     "Content-Length: 0"]))

valid["v31-user-with-semicolon"] = ("telephone-subscriber user part containing ; (sip:+1234;phone-context=...@host;user=phone)", msg(
    ["INVITE sip:+12125550100;phone-context=example.test@gw.biloxi.test;user=phone SIP/2.0",
     "Via: SIP/2.0/UDP client.atlanta.test;branch=z9hG4bKvec31",
     "Max-Forwards: 70",
     "From: <sip:alice@atlanta.test>;tag=p31",
     "To: <sip:+12125550100;phone-context=example.test@gw.biloxi.test;user=phone>",
     "Call-ID: vec-31@hotline.test",
     "CSeq: 31 INVITE",
     "Content-Length: 0"]))

valid["v32-empty-header-values"] = ("Headers with empty values (Subject:, Supported:, Accept:)", msg(
    ["OPTIONS sip:bob@biloxi.test SIP/2.0"] + fill(dialog("OPTIONS", 32), "32") + [
        "Subject:",
        "Supported: ",
        "Accept:",
        "Content-Length: 0"]))

valid["v33-binary-body"] = ("A body with NUL and non-UTF-8 bytes (only the head must be text)", msg(
    ["MESSAGE sip:bob@biloxi.test SIP/2.0"] + fill(dialog("MESSAGE", 33), "33") + [
        "Content-Type: application/octet-stream",
        "Content-Length: $CL"], bytes([0, 1, 2, 0xff, 0xfe, 0x0d, 0x0a, 0x0d, 0x0a, 0x80])))

valid["v34-provisional-with-rseq"] = ("183 with Require: 100rel, RSeq, and a high CSeq (2^31-1)", msg(
    ["SIP/2.0 183 Session Progress",
     "Via: SIP/2.0/UDP client.atlanta.test;branch=z9hG4bKvec34",
     "From: <sip:alice@atlanta.test>;tag=a34",
     "To: <sip:bob@biloxi.test>;tag=b34",
     "Call-ID: vec-34@hotline.test",
     "CSeq: 2147483647 INVITE",
     "Require: 100rel",
     "RSeq: 4711",
     "Content-Type: application/sdp",
     "Content-Length: $CL"], SDP))

# ---------------------------------------------------------------- invalid
base = lambda method="INVITE", n="x": ["%s sip:bob@biloxi.test SIP/2.0" % method] + fill(dialog(method), n)

invalid["i01-body-shorter-than-content-length"] = ("Content-Length 120 but a 5-byte body (UDP)", msg(
    base(n="i01") + ["Content-Type: text/plain", "Content-Length: 120"], "short"))
invalid["i02-bad-start-line"] = ("Request-Line with two spaces between method and URI", msg(
    ["INVITE  sip:bob@biloxi.test SIP/2.0"] + fill(dialog(), "i02") + ["Content-Length: 0"]))
invalid["i03-bad-version"] = ("SIP/7.0 in the Request-Line", msg(
    ["INVITE sip:bob@biloxi.test SIP/7.0"] + fill(dialog(), "i03") + ["Content-Length: 0"]))
invalid["i04-missing-call-id"] = ("No Call-ID header", msg(
    [l for l in base(n="i04") if not l.startswith("Call-ID")] + ["Content-Length: 0"]))
invalid["i05-non-numeric-cseq"] = ("CSeq: abc INVITE", msg(
    [l if not l.startswith("CSeq") else "CSeq: abc INVITE" for l in base(n="i05")] + ["Content-Length: 0"]))
invalid["i06-negative-content-length"] = ("Content-Length: -5", msg(base(n="i06") + ["Content-Length: -5"], "hello"))
invalid["i07-nul-byte"] = ("A NUL byte inside the Subject value", msg(base(n="i07") + ["Subject: bad\x00value", "Content-Length: 0"]))
invalid["i08-unterminated-quote"] = ("From display name opens a quote that never closes", msg(
    [l if not l.startswith("From") else "From: \"Alice <sip:alice@atlanta.test>;tag=q" for l in base(n="i08")] + ["Content-Length: 0"]))
invalid["i09-unbalanced-angle"] = ("To: <sip:bob@biloxi.test without the closing >", msg(
    [l if not l.startswith("To") else "To: <sip:bob@biloxi.test" for l in base(n="i09")] + ["Content-Length: 0"]))
invalid["i10-too-many-headers"] = ("101 header fields (limit 100)", msg(
    base("OPTIONS", "i10") + [f"X-H{i:03d}: v" for i in range(94)] + ["Content-Length: 0"]))
invalid["i11-too-large"] = ("A 70 000-byte message (limit 65 535)", msg(
    base("MESSAGE", "i11") + ["Content-Type: text/plain", "Content-Length: $CL"], "z" * 70000))
invalid["i12-bad-ipv6"] = ("Request-URI host [2001:db8:::1] is not an IPv6 address", msg(
    ["INVITE sip:bob@[2001:db8:::1] SIP/2.0"] + fill(dialog(), "i12") + ["Content-Length: 0"]))
invalid["i13-bad-status-code"] = ("Status code with four digits", msg(
    ["SIP/2.0 2000 OK"] + fill(dialog(), "i13")[:1] + fill(dialog(), "i13")[2:] + ["Content-Length: 0"]))
invalid["i14-cseq-method-mismatch"] = ("INVITE request carrying CSeq: 1 BYE", msg(
    [l if not l.startswith("CSeq") else "CSeq: 1 BYE" for l in base(n="i14")] + ["Content-Length: 0"]))
i15 = msg(base(n="i15") + ["Subject: caf\x01", "Content-Length: 0"]).replace(b"caf\x01", b"caf\xe9")
invalid["i15-invalid-utf8"] = ("Latin-1 byte 0xE9 in a header value (not UTF-8)", i15)
invalid["i16-cseq-overflow"] = ("CSeq number 4294967296 overflows 32 bits", msg(
    [l if not l.startswith("CSeq") else "CSeq: 4294967296 INVITE" for l in base(n="i16")] + ["Content-Length: 0"]))
invalid["i17-content-length-overflow"] = ("Content-Length with 30 digits", msg(base(n="i17") + ["Content-Length: " + "9" * 30]))
invalid["i18-missing-via"] = ("No Via header", msg([l for l in base(n="i18") if not l.startswith("Via")] + ["Content-Length: 0"]))
invalid["i19-conflicting-content-length"] = ("Two Content-Length headers that disagree", msg(
    base(n="i19") + ["Content-Length: 5", "l: 4"], "hello"))
invalid["i20-status-code-out-of-range"] = ("Status code 700", msg(
    ["SIP/2.0 700 Seven Hundred"] + fill(dialog(), "i20")[:1] + fill(dialog(), "i20")[2:] + ["Content-Length: 0"]))
invalid["i21-bad-escape"] = ("Request-URI user with a broken escape (%zz)", msg(
    ["INVITE sip:b%zzob@biloxi.test SIP/2.0"] + fill(dialog(), "i21") + ["Content-Length: 0"]))
invalid["i22-header-without-colon"] = ("A header line with no colon", msg(base(n="i22") + ["This is not a header", "Content-Length: 0"]))
invalid["i23-too-many-vias"] = ("33 Vias in one list (limit 32)", msg(
    ["OPTIONS sip:bob@biloxi.test SIP/2.0",
     "Via: " + ", ".join(f"SIP/2.0/UDP p{i}.test;branch=z9hG4bKi23x{i}" for i in range(33))] + fill(dialog("OPTIONS"), "i23")[1:] + ["Content-Length: 0"]))
invalid["i24-too-many-uri-params"] = ("Request-URI with 33 parameters (limit 32)", msg(
    ["INVITE sip:bob@biloxi.test" + "".join(f";p{i}" for i in range(33)) + " SIP/2.0"] + fill(dialog(), "i24") + ["Content-Length: 0"]))
invalid["i25-header-line-too-long"] = ("One header line of 9000 bytes (limit 8192)", msg(base(n="i25") + ["X-Long: " + "y" * 9000, "Content-Length: 0"]))
invalid["i26-bad-port"] = ("Via sent-by port 70000", msg(
    ["OPTIONS sip:bob@biloxi.test SIP/2.0", "Via: SIP/2.0/UDP client.atlanta.test:70000;branch=z9hG4bKi26"] + fill(dialog("OPTIONS"), "i26")[1:] + ["Content-Length: 0"]))
invalid["i27-via-bad-ipv6-received"] = ("Via received= is not an IPv6 address (2001:db8::zz)", msg(
    ["OPTIONS sip:bob@biloxi.test SIP/2.0", "Via: SIP/2.0/UDP [2001:db8::1];branch=z9hG4bKi27;received=2001:db8::zz"] + fill(dialog("OPTIONS"), "i27")[1:] + ["Content-Length: 0"]))
invalid["i28-no-end-of-head"] = ("Datagram ends before the empty line that ends the head",
                                 ("\r\n".join(base("OPTIONS", "i28")) + "\r\n").encode())
invalid["i29-response-missing-cseq"] = ("A 200 OK without CSeq", msg(
    ["SIP/2.0 200 OK"] + [l for l in fill(dialog(), "i29") if not l.startswith(("CSeq", "Max-Forwards"))] + ["Content-Length: 0"]))


def write(kind, vectors):
    d = os.path.join(HERE, kind)
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        if f.endswith(".sip"):
            os.remove(os.path.join(d, f))
    for name, (_, data) in sorted(vectors.items()):
        with open(os.path.join(d, name + ".sip"), "wb") as fh:
            fh.write(data)


def table(vectors):
    return "\n".join(f"| `{n}.sip` | {desc} |" for n, (desc, _) in sorted(vectors.items()))


write("valid", valid)
write("invalid", invalid)
if "--print-tables" in sys.argv:
    print("## valid\n\n| file | exercises |\n|---|---|\n" + table(valid))
    print("\n## invalid\n\n| file | exercises |\n|---|---|\n" + table(invalid))
print(f"wrote {len(valid)} valid and {len(invalid)} invalid vectors", file=sys.stderr)
