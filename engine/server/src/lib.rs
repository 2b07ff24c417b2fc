//! The hotline binary: config, transports, admission control, wiring
