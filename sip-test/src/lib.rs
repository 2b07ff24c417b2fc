//! Hotline's test harness.
//!
//! - [`engine`]: runs the real `hotline` binary on loopback with its own data dir, ports and config, waits
//!   for it to be ready (by its log line, bounded by a timeout) and stops it by PID.
//! - [`tools`]: finds external peers (sipp, baresip, sox, espeak-ng, tshark). Under CI (`CI` set) a missing
//!   tool fails the test; elsewhere the test is skipped with a printed reason.
//! - [`sipp`]: writes a scenario, runs SIPp bounded in calls and time, reads its statistics.
//! - [`http`]: a minimal HTTP/1.1 GET client for the engine's API.
//! - [`audio`]: checks on audio that arrived: Goertzel tone power, log-energy envelope similarity.
//! - [`capture`]: tshark on loopback, for what SIPp received (packet sources, RTP payloads).
//! - [`pg`]: a throw-away PostgreSQL database per engine, for running a test on both backends.
//! - [`ports`]: fixed ports below 32768 (ephemeral ports start at 32768 here), handed out without clashes.
#![allow(clippy::unwrap_used)] // test-support code: a failed expectation is a test failure
#![allow(unreachable_pub)] // reason: the harness is a library of helpers for the tests in this package

pub mod agent;
pub mod audio;
pub mod baresip;
pub mod browser;
pub mod capture;
pub mod engine;
pub mod http;
pub mod http_server;
pub mod peer;
pub mod pg;
pub mod ports;
pub mod relay;
pub mod sipp;
pub mod tools;
pub mod ws;
