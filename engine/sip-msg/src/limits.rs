//! Parser limits.

/// Limits enforced by the parser and the stream framer. Every limit has a typed error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest whole message (head and body) in bytes; also the most a [`crate::StreamFramer`] buffers
    /// without a complete message. Default 65 535.
    pub max_message_size: usize,
    /// Most header fields (logical lines) per message. Default 100.
    pub max_headers: usize,
    /// Longest header line in bytes, measured as the printer writes it: canonical name, `": "` and the
    /// unfolded value (so `l: 5` counts as `Content-Length: 5`). Also bounds the start line. Default 8192.
    pub max_header_line: usize,
    /// Largest body in bytes. Default 60 000.
    pub max_body: usize,
    /// Most parameters on one URI or one header value. Default 32.
    pub max_params: usize,
    /// Most values in one comma-separated header list (e.g. Vias across a message). Default 32.
    pub max_list_items: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_message_size: 65_535,
            max_headers: 100,
            max_header_line: 8192,
            max_body: 60_000,
            max_params: 32,
            max_list_items: 32,
        }
    }
}
