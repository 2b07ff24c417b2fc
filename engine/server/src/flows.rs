//! The set of active IVR flows and their prompts, and `hotline flow check`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;

/// The flows that passed validation, by flow name, with the prompts they play.
pub(crate) struct FlowSet {
    pub(crate) flows: BTreeMap<String, Arc<ivr::Flow>>,
    pub(crate) prompts: Arc<audio::PromptLibrary>,
}

impl FlowSet {
    /// Loads every `*.yaml` in `dir` (prompts from `dir/prompts`). A flow with errors is logged with
    /// `FILE:LINE:COL: message` per error and not activated; the others are.
    pub(crate) fn load(dir: &Path) -> anyhow::Result<Self> {
        let prompt_dir = dir.join("prompts");
        let (prompts, bad) = audio::PromptLibrary::load_dir(&prompt_dir)
            .with_context(|| format!("cannot load prompts from {}", prompt_dir.display()))?;
        for e in bad {
            tracing::warn!(error = %e, "prompt skipped");
        }
        let prompts = Arc::new(prompts);
        let mut flows = BTreeMap::new();
        for path in flow_files(dir)? {
            let exists = |name: &str| prompts.contains(name);
            match ivr::load_file(&path, &exists) {
                Ok(flow) => {
                    tracing::info!(flow = flow.name(), version = flow.version(), file = %path.display(), "flow active");
                    flows.insert(flow.name().to_owned(), Arc::new(flow));
                }
                Err(diags) => {
                    for d in &diags {
                        tracing::error!("{d}");
                    }
                    tracing::error!(file = %path.display(), errors = diags.len(), "flow refused; not activated");
                }
            }
        }
        if flows.is_empty() {
            tracing::warn!(dir = %dir.display(), "no valid flow found: calls will be refused");
        }
        Ok(Self { flows, prompts })
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

/// `hotline flow check FILE…`: every error as `FILE:LINE:COL: message`; a one-line summary otherwise.
pub(crate) fn check_command(files: &[PathBuf], prompts: Option<&Path>) -> ExitCode {
    let mut errors = 0usize;
    for file in files {
        let prompt_dir = match prompts {
            Some(p) => p.to_path_buf(),
            None => file.parent().unwrap_or(Path::new(".")).join("prompts"),
        };
        let exists = |name: &str| prompt_dir.join(format!("{name}.wav")).is_file();
        match ivr::load_file(file, &exists) {
            Ok(_) => {}
            Err(diags) => {
                errors += diags.len();
                for d in diags {
                    println!("{d}");
                }
            }
        }
    }
    if errors == 0 {
        println!("{} flow file(s) OK", files.len());
        ExitCode::SUCCESS
    } else {
        eprintln!("{errors} error(s) in {} file(s)", files.len());
        ExitCode::FAILURE
    }
}
