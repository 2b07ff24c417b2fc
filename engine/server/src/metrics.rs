//! The engine's counters and gauges, rendered in the Prometheus text format at `/metrics`.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

macro_rules! metrics {
    ($( $kind:ident $name:ident : $help:literal ),* $(,)?) => {
        /// Every metric the engine exports. Counters only grow; gauges go both ways.
        #[derive(Default)]
        pub(crate) struct Metrics {
            $( pub(crate) $name: metrics!(@ty $kind), )*
        }

        impl Metrics {
            pub(crate) fn render_text(&self) -> String {
                let mut out = String::with_capacity(4096);
                $(
                    let _ = writeln!(out, "# HELP hotline_{} {}", stringify!($name), $help);
                    let _ = writeln!(out, "# TYPE hotline_{} {}", stringify!($name), metrics!(@kind $kind));
                    let _ = writeln!(out, "hotline_{} {}", stringify!($name), self.$name.load(Ordering::Relaxed));
                )*
                out
            }
        }
    };
    (@ty counter) => { AtomicU64 };
    (@ty gauge) => { AtomicI64 };
    (@kind counter) => { "counter" };
    (@kind gauge) => { "gauge" };
}

metrics! {
    counter sip_messages_received_total: "SIP messages received (all transports)",
    counter sip_messages_sent_total: "SIP messages sent",
    counter sip_parse_errors_total: "SIP messages that failed to parse",
    counter sip_bad_request_total: "400 responses sent for malformed requests",
    counter sip_oversize_dropped_total: "SIP messages dropped for exceeding max_message_size",
    counter sip_rate_limited_total: "SIP requests dropped or refused by per-source rate limits",
    counter sip_overload_503_total: "503 responses sent because a limit was reached",
    counter sip_shard_queue_full_total: "inbound SIP messages refused because a shard queue was full",
    counter tcp_connections_refused_total: "TCP connections refused at max_tcp_connections",
    counter calls_total: "calls offered to the engine (INVITEs that created a call)",
    counter calls_answered_total: "calls answered",
    counter calls_rejected_total: "calls refused (overload, no route, no media)",
    counter calls_ended_total: "calls ended",
    gauge calls_active: "calls in progress",
    gauge tcp_connections: "open SIP TCP connections",
    counter dtmf_digits_total: "digits received from callers (all methods)",
    counter store_writes_total: "call-record writes applied",
    counter store_write_errors_total: "call-record write batches that failed",
    counter store_writes_dropped_total: "call-record progress writes dropped because the writer queue was full",
    counter rtp_ports_exhausted_total: "calls refused because no RTP port was free",
    counter rx_buffer_frames_total: "received audio frames played out by callers' jitter buffers (ended calls)",
    counter rx_buffer_delay_ms_total: "sum over those frames of their playout delay, ms (divide by rx_buffer_frames_total for the mean)",
    counter rx_concealed_samples_total: "samples concealed for lost or late audio (ended calls)",
    counter rx_concealment_events_total: "runs of concealment (ended calls)",
    counter rx_late_discarded_total: "packets that arrived after their playout time (ended calls)",
    counter rx_inserted_samples_total: "samples inserted to grow a jitter buffer (ended calls)",
    counter rx_removed_samples_total: "samples removed to shrink a jitter buffer (ended calls)",
}

impl Metrics {
    pub(crate) fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

impl Metrics {
    /// Adds an ended call's receive-buffer figures.
    pub(crate) fn add_receive_buffer(&self, b: &media::ReceiveBufferStats) {
        let add = |c: &AtomicU64, v: u64| {
            c.fetch_add(v, Ordering::Relaxed);
        };
        add(&self.rx_buffer_frames_total, b.emitted_frames);
        // The mean times the count gives the sum back (to the millisecond).
        add(
            &self.rx_buffer_delay_ms_total,
            (b.mean_playout_delay_ms.max(0.0) * b.emitted_frames as f64).round() as u64,
        );
        add(&self.rx_concealed_samples_total, b.concealed_samples);
        add(&self.rx_concealment_events_total, b.concealment_events);
        add(&self.rx_late_discarded_total, b.late_discarded);
        add(&self.rx_inserted_samples_total, b.inserted_samples);
        add(&self.rx_removed_samples_total, b.removed_samples);
    }
}

impl api::MetricsSource for Metrics {
    fn render(&self) -> String {
        self.render_text()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_render_as_prometheus_text() {
        let m = Metrics::default();
        Metrics::inc(&m.calls_total);
        m.calls_active.fetch_add(2, Ordering::Relaxed);
        let text = m.render_text();
        assert!(text.contains("# TYPE hotline_calls_total counter\nhotline_calls_total 1\n"));
        assert!(text.contains("# TYPE hotline_calls_active gauge\nhotline_calls_active 2\n"));
    }

    #[test]
    fn receive_buffer_figures_add_up_over_calls() {
        let m = Metrics::default();
        let call = media::ReceiveBufferStats {
            mean_playout_delay_ms: 42.5,
            emitted_frames: 100,
            concealed_samples: 320,
            concealment_events: 2,
            late_discarded: 1,
            ..Default::default()
        };
        m.add_receive_buffer(&call);
        m.add_receive_buffer(&call);
        let text = m.render_text();
        assert!(text.contains("hotline_rx_buffer_frames_total 200\n"), "{text}");
        assert!(text.contains("hotline_rx_buffer_delay_ms_total 8500\n"), "{text}");
        assert!(
            text.contains("hotline_rx_concealed_samples_total 640\n"),
            "{text}"
        );
        assert!(text.contains("hotline_rx_late_discarded_total 2\n"), "{text}");
    }
}
