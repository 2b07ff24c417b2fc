use std::path::{Path, PathBuf};

/// What went wrong loading prompts.
///
/// [`AudioError::ReadDir`] is the only fatal one (the directory itself cannot be listed).
/// Every other variant concerns one file: [`PromptLibrary::load_dir`] reports it beside the
/// library and skips the file. These are all faults of the local installation (a bad or
/// oversized file), never of a peer.
///
/// [`PromptLibrary::load_dir`]: crate::PromptLibrary::load_dir
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AudioError {
    /// The prompt directory cannot be listed.
    #[error("cannot read prompt directory {}: {source}", dir.display())]
    ReadDir { dir: PathBuf, source: std::io::Error },
    /// A file cannot be opened or its metadata read.
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    /// The file is larger than [`LoadLimits::max_file_bytes`](crate::LoadLimits).
    #[error("{}: file is {size} bytes, the limit is {limit}", path.display())]
    FileTooLarge { path: PathBuf, size: u64, limit: u64 },
    /// The audio is longer than [`LoadLimits::max_duration_secs`](crate::LoadLimits).
    #[error("{}: audio is {frames} frames at {sample_rate} Hz, longer than the limit of {limit_secs} s", path.display())]
    TooLong {
        path: PathBuf,
        frames: u32,
        sample_rate: u32,
        limit_secs: u32,
    },
    /// Not a WAV file hound can read, or the file is cut short.
    #[error("{}: not a readable WAV file: {source}", path.display())]
    Wav { path: PathBuf, source: hound::Error },
    /// A WAV encoding this loader does not convert (for example 12-bit, 64-bit float, or
    /// a zero sample rate).
    #[error("{}: unsupported WAV encoding: {bits_per_sample}-bit {format:?} at {sample_rate} Hz, {channels} channel(s)", path.display())]
    UnsupportedFormat {
        path: PathBuf,
        format: hound::SampleFormat,
        bits_per_sample: u16,
        sample_rate: u32,
        channels: u16,
    },
    /// The file holds no audio.
    #[error("{}: no audio samples", path.display())]
    Empty { path: PathBuf },
    /// The file stem is not valid UTF-8, so it cannot be named in a flow.
    #[error("{}: prompt name is not valid UTF-8", path.display())]
    InvalidName { path: PathBuf },
    /// Two files map to the same prompt name (`a.wav` and `a.WAV`); the later one is skipped.
    #[error("{}: a prompt named {name:?} is already loaded", path.display())]
    DuplicateName { path: PathBuf, name: String },
    /// The directory holds more WAV files than [`LoadLimits::max_files`](crate::LoadLimits);
    /// this file and the ones after it (in name order) are skipped.
    #[error("{}: more than {limit} prompt files, skipped", path.display())]
    TooManyFiles { path: PathBuf, limit: usize },
}

impl AudioError {
    /// The file or directory concerned.
    pub fn path(&self) -> &Path {
        match self {
            Self::ReadDir { dir, .. } => dir,
            Self::Io { path, .. }
            | Self::FileTooLarge { path, .. }
            | Self::TooLong { path, .. }
            | Self::Wav { path, .. }
            | Self::UnsupportedFormat { path, .. }
            | Self::Empty { path }
            | Self::InvalidName { path }
            | Self::DuplicateName { path, .. }
            | Self::TooManyFiles { path, .. } => path,
        }
    }

    /// The prompt name (file stem) the error concerns, lossily decoded; `None` for
    /// [`AudioError::ReadDir`].
    pub fn prompt_name(&self) -> Option<String> {
        match self {
            Self::ReadDir { .. } => None,
            _ => self.path().file_stem().map(|s| s.to_string_lossy().into_owned()),
        }
    }
}
