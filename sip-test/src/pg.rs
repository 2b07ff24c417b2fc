//! A throw-away PostgreSQL database per test engine, on the server `.ci/run` starts (127.0.0.1:5432, trust
//! auth; `HOTLINE_TEST_PG` overrides the URL). Created with `psql`; under CI an unreachable server fails the
//! test, elsewhere the PostgreSQL run is skipped with the reason.

use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::tools;

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A database made for one test; dropped (connections forced closed) when this goes.
pub struct Database {
    pub url: String,
    base: String,
    name: String,
}

impl Drop for Database {
    fn drop(&mut self) {
        if let Some(psql) = tools::require("psql") {
            let _ = Command::new(psql)
                .arg(&self.base)
                .args([
                    "-qc",
                    &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
                ])
                .output();
        }
    }
}

/// Creates an empty database; its `url` is for `--database`.
pub fn fresh_database() -> Option<Database> {
    let base =
        std::env::var("HOTLINE_TEST_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let psql = tools::require("psql")?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let name = format!(
        "hotline_e2e_{}_{}_{nanos}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let out = Command::new(psql)
        .arg(&base)
        .args(["-v", "ON_ERROR_STOP=1", "-qc"])
        .arg(format!("CREATE DATABASE {name}"))
        .output()
        .unwrap();
    if !out.status.success() {
        let why = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            !tools::in_ci(),
            "PostgreSQL at {base} is required under CI: {why}"
        );
        eprintln!("skipping the PostgreSQL run: {base} unreachable ({why}); CI requires it");
        return None;
    }
    let (prefix, _) = base
        .rsplit_once('/')
        .expect("HOTLINE_TEST_PG must name a database");
    Some(Database {
        url: format!("{prefix}/{name}"),
        base: base.clone(),
        name,
    })
}
