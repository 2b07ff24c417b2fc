//! The flow registry: the active version of every flow, hot reload, and `hotline flow check|test|schema`.
//!
//! A reload reads every `*.yaml` in the flows folder (and the prompts). A file that fails validation is never
//! activated: its previous version stays active and its errors are reported (logs, API). Subflow references
//! are linked within the set, so a call keeps the versions it started with while new calls get the new ones.
//! Every activated version is recorded in the database.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex, RwLock};
use std::time::SystemTime;

use anyhow::Context as _;
use api::{DiagnosticView, FlowInfo, RefusedFlow, ReloadReport};

use crate::serve::unix_ms;

/// Prints a line on stdout for the CLI commands; a closed pipe (`| head`) ends output quietly instead of
/// panicking like `println!`.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

/// One consistent set of active flows and the prompts they play. New calls take a snapshot.
pub(crate) struct ActiveFlows {
    pub(crate) flows: BTreeMap<String, Arc<ivr::Flow>>,
    pub(crate) prompts: Arc<audio::PromptLibrary>,
    /// The shared music on hold: the tracks of `<flows>/moh/` in name order, or the `hold-music` prompt.
    pub(crate) music: Option<Arc<media_runtime::MusicOnHold>>,
    info: BTreeMap<String, FlowInfo>,
}

/// The registry shared by the shards, the API and the reload triggers.
pub(crate) struct FlowRegistry {
    dir: PathBuf,
    static_lists: BTreeSet<String>,
    current: RwLock<Arc<ActiveFlows>>,
    /// Per file, the last source that passed validation (re-used when the file turns bad).
    good_sources: Mutex<BTreeMap<PathBuf, String>>,
    refused: Mutex<Vec<RefusedFlow>>,
    /// Serializes reloads (SIGHUP, API and file watch may coincide).
    reloading: Mutex<()>,
    store: store::Store,
    node_id: String,
    /// When the music on hold went on air (kept across reloads, so the stream does not jump).
    music_epoch: std::time::Instant,
}

impl FlowRegistry {
    /// Loads the flows folder for the first time.
    pub(crate) fn load(
        dir: &Path,
        static_lists: BTreeSet<String>,
        store: store::Store,
        node_id: String,
    ) -> anyhow::Result<Arc<Self>> {
        std::fs::read_dir(dir).with_context(|| format!("cannot read flows folder {}", dir.display()))?;
        let empty = ActiveFlows {
            flows: BTreeMap::new(),
            prompts: Arc::new(audio::PromptLibrary::default()),
            music: None,
            info: BTreeMap::new(),
        };
        let registry = Arc::new(Self {
            dir: dir.to_path_buf(),
            static_lists,
            current: RwLock::new(Arc::new(empty)),
            good_sources: Mutex::new(BTreeMap::new()),
            refused: Mutex::new(Vec::new()),
            reloading: Mutex::new(()),
            store,
            node_id,
            music_epoch: std::time::Instant::now(),
        });
        let report = registry.reload_now();
        if registry.snapshot().flows.is_empty() {
            tracing::warn!(dir = %dir.display(), "no valid flow found: calls will be refused");
        }
        let _ = report;
        Ok(registry)
    }

    /// The active set, for a new call.
    pub(crate) fn snapshot(&self) -> Arc<ActiveFlows> {
        match self.current.read() {
            Ok(g) => g.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Re-reads the folder and activates every valid changed flow.
    pub(crate) fn reload_now(&self) -> ReloadReport {
        let _guard = self
            .reloading
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let prompt_dir = self.dir.join("prompts");
        let prompts = match audio::PromptLibrary::load_dir(&prompt_dir) {
            Ok((lib, bad)) => {
                for e in bad {
                    tracing::warn!(error = %e, "prompt skipped");
                }
                Arc::new(lib)
            }
            Err(e) => {
                tracing::error!(error = %e, dir = %prompt_dir.display(), "cannot load prompts; keeping the old ones");
                self.snapshot().prompts.clone()
            }
        };
        let music = load_music(&self.dir.join("moh"), &prompts, self.music_epoch);
        let files = match flow_files(&self.dir) {
            Ok(f) => f,
            Err(e) => {
                tracing::error!(error = %e, "cannot list the flows folder; nothing reloaded");
                return ReloadReport::default();
            }
        };
        let before = self.snapshot();
        let static_lists = &self.static_lists;
        let has_prompt = |name: &str| prompts.contains(name);
        let has_list = |name: &str| static_lists.contains(name);
        // Subflow targets are checked when the set is linked below.
        let any_flow = |_: &str| true;
        let ctx = ivr::LoadContext {
            prompts: &has_prompt,
            static_lists: &has_list,
            flows: &any_flow,
        };

        let mut refused = Vec::new();
        let mut loaded = Vec::new();
        let mut sources = BTreeMap::new();
        let mut good = self
            .good_sources
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for path in &files {
            let file = path.display().to_string();
            let text = match std::fs::read_to_string(path) {
                Ok(t) => t,
                Err(e) => {
                    refused.push(RefusedFlow {
                        file: file.clone(),
                        diagnostics: vec![DiagnosticView {
                            file,
                            line: 1,
                            col: 1,
                            message: format!("cannot read: {e}"),
                        }],
                    });
                    continue;
                }
            };
            match ivr::load_str(&text, &file, &ctx) {
                Ok(flow) => {
                    good.insert(path.clone(), text.clone());
                    sources.insert(flow.name().to_owned(), (file, text));
                    loaded.push(flow);
                }
                Err(diags) => {
                    for d in &diags {
                        tracing::error!("{d}");
                    }
                    refused.push(RefusedFlow {
                        file: file.clone(),
                        diagnostics: diags.iter().map(view).collect(),
                    });
                    // The previous valid version of this file stays active.
                    if let Some(prev) = good.get(path) {
                        if let Ok(flow) = ivr::load_str(prev, &file, &ctx) {
                            tracing::warn!(file = %file, "flow refused; its previous version stays active");
                            sources.insert(flow.name().to_owned(), (file, prev.clone()));
                            loaded.push(flow);
                        }
                    } else {
                        tracing::error!(file = %file, "flow refused; not activated");
                    }
                }
            }
        }
        drop(good);
        let (linked, link_errors) = ivr::link(loaded);
        for d in &link_errors {
            tracing::error!("{d}");
        }
        let mut by_file: BTreeMap<String, Vec<DiagnosticView>> = BTreeMap::new();
        for d in &link_errors {
            by_file.entry(d.file.clone()).or_default().push(view(d));
        }
        refused.extend(
            by_file
                .into_iter()
                .map(|(file, diagnostics)| RefusedFlow { file, diagnostics }),
        );

        let now_ms = unix_ms(SystemTime::now());
        let mut report = ReloadReport::default();
        let mut flows = BTreeMap::new();
        let mut info = BTreeMap::new();
        for (name, flow) in linked {
            let file = flow.source_file().to_owned();
            let unchanged = before
                .info
                .get(&name)
                .filter(|i| i.version == flow.version())
                .cloned();
            let entry = match unchanged {
                Some(old) => {
                    report.unchanged.push(name.clone());
                    old
                }
                None => {
                    let fi = FlowInfo {
                        name: name.clone(),
                        version: flow.version().to_owned(),
                        file: file.clone(),
                        activated_at: jiff::Timestamp::from_millisecond(now_ms)
                            .map(|t| t.to_string())
                            .unwrap_or_default(),
                        nodes: flow.node_names().count(),
                    };
                    tracing::info!(flow = %name, version = flow.version(), file = %file, "flow active");
                    self.remember_version(
                        &fi,
                        sources.get(&name).map(|(_, t)| t.clone()).unwrap_or_default(),
                        now_ms,
                    );
                    report.activated.push(fi.clone());
                    fi
                }
            };
            info.insert(name.clone(), entry);
            flows.insert(name, flow);
        }
        // A flow whose file vanished keeps running until the next start: calls may still be routed to it.
        for (name, old) in &before.flows {
            if !flows.contains_key(name) {
                report.missing.push(name.clone());
                flows.insert(name.clone(), old.clone());
                if let Some(i) = before.info.get(name) {
                    info.insert(name.clone(), i.clone());
                }
            }
        }
        report.refused = refused.clone();
        *self
            .refused
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = refused;
        let next = Arc::new(ActiveFlows {
            flows,
            prompts,
            music,
            info,
        });
        match self.current.write() {
            Ok(mut g) => *g = next,
            Err(poisoned) => *poisoned.into_inner() = next,
        }
        report
    }

    /// Records an activated version in the database, off the caller's thread.
    fn remember_version(&self, fi: &FlowInfo, source: String, now_ms: i64) {
        let store = self.store.clone();
        let v = store::FlowVersion {
            name: fi.name.clone(),
            version: fi.version.clone(),
            file: fi.file.clone(),
            node_id: self.node_id.clone(),
            activated_at_ms: now_ms,
        };
        match tokio::runtime::Handle::try_current() {
            Ok(h) => {
                h.spawn(async move {
                    if let Err(e) = store.record_flow_version(&v, &source).await {
                        tracing::warn!(error = %e, flow = %v.name, "flow version not recorded");
                    }
                });
            }
            Err(_) => tracing::debug!(flow = %fi.name, "no runtime: flow version not recorded"),
        }
    }
}

/// The music on hold: the `*.wav` tracks of `dir` in rotation, or, without any, the `hold-music` prompt.
fn load_music(
    dir: &Path,
    prompts: &audio::PromptLibrary,
    epoch: std::time::Instant,
) -> Option<Arc<media_runtime::MusicOnHold>> {
    use media_runtime::MusicOnHold;
    let from_dir = match MusicOnHold::load_dir(dir, epoch) {
        Ok((music, problems)) => {
            for p in problems {
                tracing::warn!(problem = %p, "music on hold track skipped");
            }
            music
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            tracing::warn!(error = %e, dir = %dir.display(), "cannot read the music on hold folder");
            None
        }
    };
    let music = from_dir.or_else(|| {
        let samples = prompts.get("hold-music")?;
        MusicOnHold::new(epoch, vec![("hold-music".into(), samples.to_vec())]).0
    });
    match &music {
        Some(m) => {
            let tracks: Vec<&str> = m.track_names().collect();
            tracing::info!(?tracks, seconds = m.duration().as_secs(), "music on hold loaded");
        }
        None => tracing::warn!(
            "no music on hold (no moh/ tracks, no hold-music prompt): waiting callers hear silence"
        ),
    }
    music.map(Arc::new)
}

fn view(d: &ivr::Diagnostic) -> DiagnosticView {
    DiagnosticView {
        file: d.file.clone(),
        line: d.line,
        col: d.col,
        message: d.message.clone(),
    }
}

impl api::FlowControl for FlowRegistry {
    fn active(&self) -> Vec<FlowInfo> {
        self.snapshot().info.values().cloned().collect()
    }

    fn refused(&self) -> Vec<RefusedFlow> {
        self.refused.lock().map(|r| r.clone()).unwrap_or_default()
    }

    fn reload(&self) -> ReloadReport {
        tracing::info!("flow reload requested through the API");
        self.reload_now()
    }

    fn validate(&self, file: &str, source: &str) -> Vec<DiagnosticView> {
        let snap = self.snapshot();
        let has_prompt = |name: &str| snap.prompts.contains(name);
        let has_list = |name: &str| self.static_lists.contains(name);
        let has_flow = |name: &str| snap.flows.contains_key(name);
        let ctx = ivr::LoadContext {
            prompts: &has_prompt,
            static_lists: &has_list,
            flows: &has_flow,
        };
        match ivr::load_str(source, file, &ctx) {
            Ok(_) => vec![],
            Err(diags) => diags.iter().map(view).collect(),
        }
    }
}

fn flow_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("cannot read flows folder {}", dir.display()))?;
    for entry in entries {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "yaml" || e == "yml") && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// A fingerprint of the flows folder (file names, sizes, modification times) for the file watcher.
pub(crate) fn folder_fingerprint(dir: &Path) -> Vec<(PathBuf, u64, Option<SystemTime>)> {
    let mut out = Vec::new();
    for sub in [dir.to_path_buf(), dir.join("prompts")] {
        if let Ok(entries) = std::fs::read_dir(&sub) {
            for e in entries.flatten() {
                if let Ok(meta) = e.metadata() {
                    out.push((e.path(), meta.len(), meta.modified().ok()));
                }
            }
        }
    }
    out.sort();
    out
}

/// Loads flow files for the CLI, each with its own `prompts/` folder (or `prompts`); static lists and
/// subflow names are accepted here and checked when the set is linked. With `report`, every diagnostic is
/// printed; returns the flows that loaded and the number of errors.
fn cli_load(files: &[PathBuf], prompts: Option<&Path>, report: bool) -> (Vec<ivr::Flow>, usize) {
    let mut errors = 0usize;
    let mut flows = Vec::new();
    for file in files {
        let prompt_dir = match prompts {
            Some(p) => p.to_path_buf(),
            None => file.parent().unwrap_or(Path::new(".")).join("prompts"),
        };
        let has_prompt = |name: &str| prompt_dir.join(format!("{name}.wav")).is_file();
        let any = |_: &str| true;
        let ctx = ivr::LoadContext {
            prompts: &has_prompt,
            static_lists: &any,
            flows: &any,
        };
        match ivr::load_file(file, &ctx) {
            Ok(flow) => flows.push(flow),
            Err(diags) => {
                errors += diags.len();
                if report {
                    for d in diags {
                        say!("{d}");
                    }
                }
            }
        }
    }
    (flows, errors)
}

/// The other flow files beside the ones given: subflows are looked up there, so
/// `hotline flow check ivr-flows/hotline.yaml` links `survey` from `ivr-flows/survey.yaml`.
fn siblings(files: &[PathBuf]) -> Vec<PathBuf> {
    let mut all = BTreeSet::new();
    for f in files {
        let dir = f
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        all.extend(flow_files(dir).unwrap_or_default());
    }
    all.into_iter().filter(|f| !files.contains(f)).collect()
}

/// `hotline flow check FILE…`: every error as `FILE:LINE:COL: message`; a one-line summary otherwise.
pub(crate) fn check_command(files: &[PathBuf], prompts: Option<&Path>) -> ExitCode {
    let (flows, mut errors) = cli_load(files, prompts, true);
    let checked: BTreeSet<String> = files.iter().map(|f| f.display().to_string()).collect();
    // Link against siblings too, but report only problems in the files asked about.
    let (siblings, _) = cli_load(&siblings(files), prompts, false);
    let count = flows.len();
    let (_, link_errors) = ivr::link(flows.into_iter().chain(siblings).collect());
    for d in link_errors.iter().filter(|d| checked.contains(&d.file)) {
        errors += 1;
        say!("{d}");
    }
    if errors == 0 {
        say!("{count} flow file(s) OK");
        ExitCode::SUCCESS
    } else {
        eprintln!("{errors} error(s) in {} file(s)", files.len());
        ExitCode::FAILURE
    }
}

/// `hotline flow test FILE…`: runs the `tests:` of each file; prints one line per test and a summary.
pub(crate) fn test_command(files: &[PathBuf], prompts: Option<&Path>) -> ExitCode {
    let (flows, errors) = cli_load(files, prompts, true);
    if errors > 0 {
        eprintln!("{errors} validation error(s): fix them before running tests");
        return ExitCode::FAILURE;
    }
    let names: BTreeSet<String> = flows.iter().map(|f| f.name().to_owned()).collect();
    let (siblings, _) = cli_load(&siblings(files), prompts, false);
    let (linked, link_errors) = ivr::link(flows.into_iter().chain(siblings).collect());
    if !link_errors.is_empty() {
        for d in link_errors {
            say!("{d}");
        }
        return ExitCode::FAILURE;
    }
    // Prompts take their real length in tests when the prompts folder is there.
    let library = files
        .first()
        .map(|f| {
            prompts
                .map(Path::to_path_buf)
                .unwrap_or_else(|| f.parent().unwrap_or(Path::new(".")).join("prompts"))
        })
        .and_then(|dir| audio::PromptLibrary::load_dir(&dir).ok())
        .map(|(lib, _)| lib);
    let length = |name: &str| {
        library
            .as_ref()
            .and_then(|l| l.get(name))
            .map(|s| std::time::Duration::from_millis(s.len() as u64 / 8))
    };
    let mut options = ivr::testing::TestOptions::new(std::time::Instant::now());
    if library.is_some() {
        options.prompt_duration = Some(&length);
    }
    let (mut passed, mut failed) = (0usize, 0usize);
    for (name, flow) in &linked {
        if !names.contains(name) {
            continue;
        }
        for report in ivr::testing::run_tests(flow, &options) {
            if report.passed {
                passed += 1;
                say!("ok     {}: {}", flow.source_file(), report.name);
            } else {
                failed += 1;
                say!("FAILED {}: {}", flow.source_file(), report.name);
                for f in &report.failures {
                    say!("         {f}");
                }
            }
        }
    }
    say!("{passed} passed, {failed} failed");
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// `hotline flow schema`: the JSON Schema of flow files.
pub(crate) fn schema_command() -> ExitCode {
    match serde_json::to_string_pretty(&ivr::json_schema()) {
        Ok(text) => {
            say!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("hotline: cannot print the schema: {e}");
            ExitCode::FAILURE
        }
    }
}
