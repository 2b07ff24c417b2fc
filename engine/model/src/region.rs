//! Where a caller's number is from, for the agent's screen.
//!
//! Two sources answer, the finer one winning:
//!
//! 1. **The country calling code** (ITU-T E.164), from a table built into this module: every assigned
//!    code of one to three digits, with its ISO 3166-1 alpha-2 country and an English name. Codes that
//!    several countries share (+1, the North American Numbering Plan; +7, Russia and Kazakhstan; a few
//!    island groups) name the shared zone and give no ISO country. Non-geographic codes (+800, +882, …)
//!    name the service.
//! 2. **An admin's prefix table** ([`RegionTable`]), loaded from CSV: `+4930,Berlin`. The longest matching
//!    prefix gives the region, and its optional `country` column overrides the country of a shared code
//!    (`+1212,New York City,US`).
//!
//! # Numbers
//!
//! A number arrives as a SIP user part. Only a leading `+` or `00` makes it international: `+4930123456`,
//! `004930123456`, `+1 (555) 123-4567`, `+44 20 7946 0000`, `+49.30.123456`. The visual separators
//! space, `-`, `(`, `)` and `.` are dropped; anything else (letters, `*`, `#`, `;`, a second `+`) means
//! "not a phone number" and the answer is empty. A national number (`030 123456`) has no country unless
//! the caller passes a default country code; it is then converted by that country's national dialing
//! rule (see [`RegionTable::lookup`]). Digits alone, however many, are never taken as international.
//!
//! # The CSV format
//!
//! ```text
//! # Comment lines and blank lines are skipped.
//! prefix,region,country
//! +4930,Berlin,DE
//! +1202,"Washington, D.C.",US
//! +1555,Fictional (NANP 555)
//! ```
//!
//! The header row is `prefix,region` or `prefix,region,country`. A prefix is `+` and 1 to 15 digits. The
//! region is 1 to 128 bytes of text. The country, where the header has the column, is empty or an ISO
//! 3166-1 alpha-2 code in capitals. A field may be put in double quotes, so that it can hold a comma; a
//! double quote inside a quoted field is written twice (`""`). A field cannot span lines. A UTF-8 byte
//! order mark and CRLF line ends are accepted. Errors name the file and line
//! (`regions.csv:7: prefix must be + followed by 1 to 15 digits`), and a duplicate prefix names both
//! lines. The limits are the associated constants of [`RegionTable`].
//!
//! Everything here is pure except [`RegionTable::load_file`], a thin reader that checks the file's size
//! before reading it and hands the text to [`RegionTable::parse_csv`].

use std::collections::BTreeMap;
use std::fmt;
use std::io::Read;
use std::path::Path;

use serde::Serialize;

use crate::Pii;

/// Where a phone number is from. Every field is `None` when the input is not a phone number.
///
/// `Debug` prints the number through [`Pii`], so that logging a `RegionInfo` does not leak it.
#[derive(Clone, Default, PartialEq, Eq, Serialize)]
pub struct RegionInfo {
    /// The number in E.164 form (`+4930123456`), when it is international or a default country code made
    /// it so.
    pub e164: Option<String>,
    /// The assigned country calling code the number starts with, without `+` (`"49"`).
    pub country_code: Option<String>,
    /// The ISO 3166-1 alpha-2 code of the country (`"DE"`): from the prefix table's `country` column when
    /// the matching row has one, else from the calling code when exactly one country uses it. `None` for a
    /// shared code (+1, +7) or a non-geographic one (+800).
    pub country: Option<String>,
    /// The English name of the country, of the shared zone ("Russia or Kazakhstan") or of the
    /// non-geographic service ("International Freephone").
    pub country_name: Option<String>,
    /// The region of the longest matching prefix of the admin's table.
    pub region: Option<String>,
}

impl fmt::Debug for RegionInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegionInfo")
            .field("e164", &self.e164.as_deref().map(Pii))
            .field("country_code", &self.country_code)
            .field("country", &self.country)
            .field("country_name", &self.country_name)
            .field("region", &self.region)
            .finish()
    }
}

/// An admin's table of number prefixes and the regions they stand for, immutable once loaded.
///
/// Lookups try at most [`RegionTable::MAX_PREFIX_DIGITS`] map probes, longest prefix first.
///
/// ```
/// use hotline_model::RegionTable;
///
/// let table = RegionTable::parse_csv("prefix,region\n+49,Germany\n+4930,Berlin\n", "regions.csv")?;
/// let info = table.lookup("030 123456", Some("49"));
/// assert_eq!(info.e164.as_deref(), Some("+4930123456"));
/// assert_eq!(info.country.as_deref(), Some("DE"));
/// assert_eq!(info.region.as_deref(), Some("Berlin"));
/// assert_eq!(table.lookup("+49 89 123456", None).region.as_deref(), Some("Germany"));
/// # Ok::<(), hotline_model::RegionError>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct RegionTable {
    /// Keyed by the prefix's digits, without the `+`.
    rows: BTreeMap<String, Row>,
}

/// One row of the table.
#[derive(Debug, Clone)]
struct Row {
    region: String,
    /// The ISO code of the `country` column, with its name when this module knows it.
    country: Option<(String, Option<&'static str>)>,
    /// Where the row was read, for the duplicate error.
    line: usize,
}

impl RegionTable {
    /// The most data rows (header, comment and blank lines aside) a table may hold.
    pub const MAX_ROWS: usize = 100_000;
    /// The most digits a prefix may have (E.164 numbers have at most 15). The least is 1.
    pub const MAX_PREFIX_DIGITS: usize = 15;
    /// The most bytes a region's text may take, after trimming. The least is 1.
    pub const MAX_REGION_BYTES: usize = 128;
    /// The largest CSV file accepted, in bytes (8 MiB).
    pub const MAX_FILE_BYTES: u64 = 8 * 1024 * 1024;

    /// A table without rows: lookups answer from the country calling code alone.
    pub fn empty() -> Self {
        Self::default()
    }

    /// Reads the CSV text of a table; `file_name` only labels the errors (`regions.csv:7: …`).
    pub fn parse_csv(text: &str, file_name: &str) -> Result<Self, RegionError> {
        let bytes = text.len() as u64;
        if bytes > Self::MAX_FILE_BYTES {
            return Err(RegionError::FileTooLarge {
                file: file_name.to_owned(),
                bytes,
            });
        }
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let at = |line: usize, problem: LineProblem| RegionError::Line {
            file: file_name.to_owned(),
            line,
            problem,
        };
        let mut header: Option<usize> = None;
        let mut rows: BTreeMap<String, Row> = BTreeMap::new();
        for (index, line_text) in text.lines().enumerate() {
            let line = index + 1;
            let trimmed = line_text.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let fields = split_fields(line_text).map_err(|p| at(line, p))?;
            let Some(columns) = header else {
                header = Some(header_columns(&fields).ok_or_else(|| at(line, LineProblem::BadHeader))?);
                continue;
            };
            if rows.len() == Self::MAX_ROWS {
                return Err(at(line, LineProblem::TooManyRows));
            }
            let (digits, row) = parse_row(&fields, columns, line).map_err(|p| at(line, p))?;
            if let Some(first) = rows.get(&digits) {
                let problem = LineProblem::DuplicatePrefix {
                    prefix: format!("+{digits}"),
                    first_line: first.line,
                };
                return Err(at(line, problem));
            }
            rows.insert(digits, row);
        }
        if header.is_none() {
            return Err(RegionError::MissingHeader {
                file: file_name.to_owned(),
            });
        }
        Ok(Self { rows })
    }

    /// Reads a table from a file. The size is checked from the file's metadata before anything is read,
    /// and the read itself stops one byte past the limit, should the file grow meanwhile.
    pub fn load_file(path: &Path) -> Result<Self, RegionError> {
        let file_name = path.display().to_string();
        let io = |source| RegionError::Io {
            file: file_name.clone(),
            source,
        };
        let file = std::fs::File::open(path).map_err(io)?;
        let bytes = file.metadata().map_err(io)?.len();
        if bytes > Self::MAX_FILE_BYTES {
            return Err(RegionError::FileTooLarge {
                file: file_name,
                bytes,
            });
        }
        let mut data = Vec::new();
        file.take(Self::MAX_FILE_BYTES + 1)
            .read_to_end(&mut data)
            .map_err(io)?;
        let bytes = data.len() as u64;
        if bytes > Self::MAX_FILE_BYTES {
            return Err(RegionError::FileTooLarge {
                file: file_name,
                bytes,
            });
        }
        let text = String::from_utf8(data).map_err(|_| RegionError::NotUtf8 {
            file: file_name.clone(),
        })?;
        Self::parse_csv(&text, &file_name)
    }

    /// The number of prefixes in the table.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether the table has no prefixes.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Where `number` (a SIP user part) is from.
    ///
    /// `default_country_code` (`Some("49")`, a leading `+` is allowed) is the country of national
    /// numbers. It converts them by that country's dialing rule:
    ///
    /// - most countries: the trunk prefix `0` is dropped (`030 123456` → `+4930123456`); a national
    ///   number without it (a local number) has no country;
    /// - countries whose numbers carry no trunk prefix (Italy, Spain, Portugal, Greece, the Nordic and
    ///   Baltic countries, Poland, Czechia, …) keep every digit (`06 1234 5678` → `+390612345678`);
    /// - Hungary drops `06`; Russia and Kazakhstan drop `8` before a ten-digit number;
    /// - the NANP (`1`) takes ten digits, or `1` and ten digits (`(212) 555-0100` → `+12125550100`).
    ///
    /// A default that is not one to three digits is ignored. International numbers ignore the default.
    pub fn lookup(&self, number: &str, default_country_code: Option<&str>) -> RegionInfo {
        let Some(digits) = normalize(number, default_country_code) else {
            return RegionInfo::default();
        };
        let code = calling_code(&digits);
        let row = self.longest_match(&digits);
        let (country, country_name) = match row.and_then(|r| r.country.as_ref()) {
            Some((iso, name)) => (Some(iso.clone()), name.map(str::to_owned)),
            None => (
                code.and_then(|c| c.country).map(str::to_owned),
                code.map(|c| c.name.to_owned()),
            ),
        };
        RegionInfo {
            e164: Some(format!("+{digits}")),
            country_code: code.map(|c| c.code.to_owned()),
            country,
            country_name,
            region: row.map(|r| r.region.clone()),
        }
    }

    fn longest_match(&self, digits: &str) -> Option<&Row> {
        let longest = digits.len().min(Self::MAX_PREFIX_DIGITS);
        (1..=longest).rev().find_map(|n| self.rows.get(&digits[..n]))
    }
}

/// Why a region table could not be loaded. All of these are faults of the local installation (the
/// admin's file), never of a caller.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegionError {
    /// The file cannot be opened or read.
    #[error("{file}: cannot read: {source}")]
    Io {
        /// The file concerned.
        file: String,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The file is larger than [`RegionTable::MAX_FILE_BYTES`].
    #[error("{file}: file is {bytes} bytes, more than the limit of {limit} bytes", limit = RegionTable::MAX_FILE_BYTES)]
    FileTooLarge {
        /// The file concerned.
        file: String,
        /// Its size (or, when it grew while being read, the bytes read).
        bytes: u64,
    },
    /// The file is not UTF-8 text.
    #[error("{file}: not UTF-8 text")]
    NotUtf8 {
        /// The file concerned.
        file: String,
    },
    /// The file has no header row: it is empty or holds only comments and blank lines.
    #[error("{file}: no header row (`prefix,region` or `prefix,region,country`)")]
    MissingHeader {
        /// The file concerned.
        file: String,
    },
    /// A line is wrong.
    #[error("{file}:{line}: {problem}")]
    Line {
        /// The file concerned.
        file: String,
        /// The line, counted from 1 (comment and blank lines count).
        line: usize,
        /// What is wrong with it.
        problem: LineProblem,
    },
}

/// What is wrong with one line of a region table.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LineProblem {
    /// The first row that is not a comment is not the header.
    #[error("expected the header row `prefix,region` or `prefix,region,country`")]
    BadHeader,
    /// The prefix is not `+` and 1 to [`RegionTable::MAX_PREFIX_DIGITS`] digits.
    #[error("prefix must be + followed by 1 to {max} digits", max = RegionTable::MAX_PREFIX_DIGITS)]
    BadPrefix,
    /// The prefix starts with `+0`, which no number can.
    #[error("prefix must not start with +0: no country calling code begins with 0")]
    PrefixStartsWithZero,
    /// The region is missing or empty.
    #[error("region is missing")]
    MissingRegion,
    /// The region is longer than [`RegionTable::MAX_REGION_BYTES`].
    #[error("region is {bytes} bytes, more than the limit of {max}", max = RegionTable::MAX_REGION_BYTES)]
    RegionTooLong {
        /// The region's length in bytes, after trimming.
        bytes: usize,
    },
    /// The region holds a control character (a tab, for one).
    #[error("region contains a control character")]
    ControlCharacter,
    /// The country is not two capital letters.
    #[error("country must be empty or an ISO 3166-1 alpha-2 code in capitals, such as DE")]
    BadCountry,
    /// The row has more fields than the header.
    #[error(
        "expected at most {expected} fields, found {found}; put a region that contains a comma in double quotes"
    )]
    FieldCount {
        /// The header's number of columns.
        expected: usize,
        /// The row's number of fields.
        found: usize,
    },
    /// A quoted field has no closing quote before the end of the line.
    #[error("a quoted field has no closing double quote (a field cannot span lines)")]
    UnterminatedQuote,
    /// Something other than a comma follows a closing quote.
    #[error("text after a closing double quote; separate fields with a comma")]
    TextAfterQuote,
    /// A double quote inside a field that does not start with one.
    #[error("double quote inside an unquoted field; quote the whole field and write the inner quote twice")]
    StrayQuote,
    /// The prefix was already given.
    #[error("duplicate prefix {prefix}, first given on line {first_line}")]
    DuplicatePrefix {
        /// The prefix, with its `+`.
        prefix: String,
        /// The line that gave it first.
        first_line: usize,
    },
    /// The table would have more than [`RegionTable::MAX_ROWS`] rows.
    #[error("more than {max} rows", max = RegionTable::MAX_ROWS)]
    TooManyRows,
}

// ---------------------------------------------------------------------------------------------------
// CSV

/// Splits one line into its fields: comma-separated, unquoted fields trimmed, quoted fields verbatim with
/// `""` for a quote.
fn split_fields(line: &str) -> Result<Vec<String>, LineProblem> {
    let mut fields = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.next_if(|c| *c == ' ' || *c == '\t').is_some() {}
        if chars.next_if_eq(&'"').is_some() {
            let mut field = String::new();
            loop {
                match chars.next() {
                    None => return Err(LineProblem::UnterminatedQuote),
                    Some('"') if chars.next_if_eq(&'"').is_some() => field.push('"'),
                    Some('"') => break,
                    Some(c) => field.push(c),
                }
            }
            while chars.next_if(|c| *c == ' ' || *c == '\t').is_some() {}
            fields.push(field);
            match chars.next() {
                None => return Ok(fields),
                Some(',') => {}
                Some(_) => return Err(LineProblem::TextAfterQuote),
            }
        } else {
            let mut field = String::new();
            loop {
                match chars.next() {
                    None => {
                        fields.push(field.trim().to_owned());
                        return Ok(fields);
                    }
                    Some(',') => break,
                    Some('"') => return Err(LineProblem::StrayQuote),
                    Some(c) => field.push(c),
                }
            }
            fields.push(field.trim().to_owned());
        }
    }
}

/// The number of columns a header row declares, or `None` when it is not a header.
fn header_columns(fields: &[String]) -> Option<usize> {
    let names: Vec<String> = fields.iter().map(|f| f.trim().to_ascii_lowercase()).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    match names.as_slice() {
        ["prefix", "region"] => Some(2),
        ["prefix", "region", "country"] => Some(3),
        _ => None,
    }
}

/// One data row: the prefix's digits and the row.
fn parse_row(fields: &[String], columns: usize, line: usize) -> Result<(String, Row), LineProblem> {
    if fields.len() > columns {
        return Err(LineProblem::FieldCount {
            expected: columns,
            found: fields.len(),
        });
    }
    let prefix = fields.first().map_or("", |f| f.trim());
    let digits = prefix.strip_prefix('+').ok_or(LineProblem::BadPrefix)?;
    if digits.is_empty()
        || digits.len() > RegionTable::MAX_PREFIX_DIGITS
        || !digits.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(LineProblem::BadPrefix);
    }
    if digits.starts_with('0') {
        return Err(LineProblem::PrefixStartsWithZero);
    }
    let region = fields.get(1).map_or("", |f| f.trim());
    if region.is_empty() {
        return Err(LineProblem::MissingRegion);
    }
    if region.len() > RegionTable::MAX_REGION_BYTES {
        return Err(LineProblem::RegionTooLong { bytes: region.len() });
    }
    if region.chars().any(char::is_control) {
        return Err(LineProblem::ControlCharacter);
    }
    let country = match fields.get(2).map(|f| f.trim()) {
        None | Some("") => None,
        Some(iso) if iso.len() == 2 && iso.bytes().all(|b| b.is_ascii_uppercase()) => {
            Some((iso.to_owned(), iso_country_name(iso)))
        }
        Some(_) => return Err(LineProblem::BadCountry),
    };
    Ok((
        digits.to_owned(),
        Row {
            region: region.to_owned(),
            country,
            line,
        },
    ))
}

// ---------------------------------------------------------------------------------------------------
// Numbers

/// The digits of `number` in E.164 form (without the `+`: 1 to 15 digits, the first not 0), or `None`
/// when it is not a phone number or is national without a usable default country code.
fn normalize(number: &str, default_country_code: Option<&str>) -> Option<String> {
    let mut plus = false;
    let mut digits = String::with_capacity(number.len());
    for c in number.trim().chars() {
        match c {
            '0'..='9' => digits.push(c),
            '+' if !plus && digits.is_empty() => plus = true,
            ' ' | '-' | '(' | ')' | '.' => {}
            _ => return None,
        }
    }
    let international = if plus {
        digits
    } else if let Some(rest) = digits.strip_prefix("00") {
        rest.to_owned()
    } else {
        national_to_international(&digits, default_country_code?)?
    };
    let valid = (1..=15).contains(&international.len()) && !international.starts_with('0');
    valid.then_some(international)
}

/// How a country writes its national numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NationalDialing {
    /// A trunk prefix precedes the national significant number.
    Trunk(&'static str),
    /// The national number is the national significant number, leading `0` (Italy) and all.
    NoTrunk,
    /// Russia and Kazakhstan: trunk `8`, then ten digits starting 3 to 9.
    Trunk8TenDigits,
    /// The North American Numbering Plan: ten digits, optionally after `1`.
    Nanp,
}

/// Countries whose national numbers carry no trunk prefix.
const NO_TRUNK_PREFIX: &[&str] = &[
    "30", "34", "39", "45", "47", "48", "65", "351", "352", "354", "356", "357", "371", "372", "376", "377",
    "378", "379", "420", "852", "853", "965", "968", "973", "974",
];

fn national_dialing(code: &str) -> NationalDialing {
    match code {
        "1" => NationalDialing::Nanp,
        "7" => NationalDialing::Trunk8TenDigits,
        "36" => NationalDialing::Trunk("06"),
        _ if NO_TRUNK_PREFIX.contains(&code) => NationalDialing::NoTrunk,
        _ => NationalDialing::Trunk("0"),
    }
}

fn national_to_international(national: &str, default_country_code: &str) -> Option<String> {
    let code = default_country_code.trim();
    let code = code.strip_prefix('+').unwrap_or(code);
    let code_ok =
        (1..=3).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_digit()) && !code.starts_with('0');
    if !code_ok || national.is_empty() {
        return None;
    }
    let significant = match national_dialing(code) {
        NationalDialing::Trunk(trunk) => national.strip_prefix(trunk).filter(|rest| !rest.is_empty())?,
        NationalDialing::NoTrunk => national,
        NationalDialing::Trunk8TenDigits => national
            .strip_prefix('8')
            .filter(|rest| rest.len() == 10 && rest.starts_with(['3', '4', '5', '6', '7', '8', '9']))?,
        NationalDialing::Nanp => {
            let ten = if national.len() == 11 {
                national.strip_prefix('1')?
            } else {
                national
            };
            (ten.len() == 10 && !ten.starts_with(['0', '1'])).then_some(ten)?
        }
    };
    Some(format!("{code}{significant}"))
}

// ---------------------------------------------------------------------------------------------------
// Country calling codes

/// One assigned country calling code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct CallingCode {
    /// The code's digits.
    code: &'static str,
    /// The ISO 3166-1 alpha-2 country, when exactly one country uses the code.
    country: Option<&'static str>,
    /// The English name of the country, shared zone or service.
    name: &'static str,
}

const fn one(code: &'static str, iso: &'static str, name: &'static str) -> CallingCode {
    CallingCode {
        code,
        country: Some(iso),
        name,
    }
}

/// A code shared by several countries or territories, or a non-geographic service.
const fn zone(code: &'static str, name: &'static str) -> CallingCode {
    CallingCode {
        code,
        country: None,
        name,
    }
}

/// The country calling code `digits` (an E.164 number without `+`) starts with. E.164 codes form a
/// prefix code (no code is the start of another), so at most one matches.
fn calling_code(digits: &str) -> Option<&'static CallingCode> {
    (1..=3.min(digits.len())).find_map(|n| {
        let start = &digits[..n];
        CALLING_CODES
            .binary_search_by(|c| c.code.cmp(start))
            .ok()
            .and_then(|i| CALLING_CODES.get(i))
    })
}

/// The English name of an ISO 3166-1 alpha-2 country, when this module knows it.
fn iso_country_name(iso: &str) -> Option<&'static str> {
    SHARED_CODE_COUNTRIES
        .iter()
        .find(|(code, _)| *code == iso)
        .map(|(_, name)| *name)
        .or_else(|| {
            CALLING_CODES
                .iter()
                .find(|c| c.country == Some(iso))
                .map(|c| c.name)
        })
}

/// Countries and territories that use a shared code or one named for another, for the prefix table's
/// `country` column. Checked before [`CALLING_CODES`], so an ISO code that appears there under two calling
/// codes gets its full name here.
const SHARED_CODE_COUNTRIES: &[(&str, &str)] = &[
    // +1, the North American Numbering Plan
    ("US", "United States"),
    ("CA", "Canada"),
    ("AG", "Antigua and Barbuda"),
    ("AI", "Anguilla"),
    ("AS", "American Samoa"),
    ("BB", "Barbados"),
    ("BM", "Bermuda"),
    ("BS", "Bahamas"),
    ("DM", "Dominica"),
    ("DO", "Dominican Republic"),
    ("GD", "Grenada"),
    ("GU", "Guam"),
    ("JM", "Jamaica"),
    ("KN", "Saint Kitts and Nevis"),
    ("KY", "Cayman Islands"),
    ("LC", "Saint Lucia"),
    ("MP", "Northern Mariana Islands"),
    ("MS", "Montserrat"),
    ("PR", "Puerto Rico"),
    ("SX", "Sint Maarten"),
    ("TC", "Turks and Caicos Islands"),
    ("TT", "Trinidad and Tobago"),
    ("VC", "Saint Vincent and the Grenadines"),
    ("VG", "British Virgin Islands"),
    ("VI", "United States Virgin Islands"),
    // +7
    ("RU", "Russia"),
    ("KZ", "Kazakhstan"),
    // +262, +590, +599
    ("RE", "Réunion"),
    ("YT", "Mayotte"),
    ("GP", "Guadeloupe"),
    ("BL", "Saint Barthélemy"),
    ("MF", "Saint Martin"),
    ("CW", "Curaçao"),
    ("BQ", "Caribbean Netherlands"),
    // within +44, +47, +358, +61, +64, +212
    ("GG", "Guernsey"),
    ("JE", "Jersey"),
    ("IM", "Isle of Man"),
    ("SJ", "Svalbard and Jan Mayen"),
    ("AX", "Åland Islands"),
    ("CX", "Christmas Island"),
    ("CC", "Cocos (Keeling) Islands"),
    ("PN", "Pitcairn Islands"),
    ("EH", "Western Sahara"),
    // +247 and +290
    ("SH", "Saint Helena, Ascension and Tristan da Cunha"),
];

/// The assigned country calling codes of ITU-T E.164, sorted by their digits (as text).
static CALLING_CODES: &[CallingCode] = &[
    zone("1", "United States, Canada and the Caribbean (NANP)"),
    one("20", "EG", "Egypt"),
    one("211", "SS", "South Sudan"),
    one("212", "MA", "Morocco"),
    one("213", "DZ", "Algeria"),
    one("216", "TN", "Tunisia"),
    one("218", "LY", "Libya"),
    one("220", "GM", "Gambia"),
    one("221", "SN", "Senegal"),
    one("222", "MR", "Mauritania"),
    one("223", "ML", "Mali"),
    one("224", "GN", "Guinea"),
    one("225", "CI", "Côte d'Ivoire"),
    one("226", "BF", "Burkina Faso"),
    one("227", "NE", "Niger"),
    one("228", "TG", "Togo"),
    one("229", "BJ", "Benin"),
    one("230", "MU", "Mauritius"),
    one("231", "LR", "Liberia"),
    one("232", "SL", "Sierra Leone"),
    one("233", "GH", "Ghana"),
    one("234", "NG", "Nigeria"),
    one("235", "TD", "Chad"),
    one("236", "CF", "Central African Republic"),
    one("237", "CM", "Cameroon"),
    one("238", "CV", "Cape Verde"),
    one("239", "ST", "São Tomé and Príncipe"),
    one("240", "GQ", "Equatorial Guinea"),
    one("241", "GA", "Gabon"),
    one("242", "CG", "Republic of the Congo"),
    one("243", "CD", "Democratic Republic of the Congo"),
    one("244", "AO", "Angola"),
    one("245", "GW", "Guinea-Bissau"),
    one("246", "IO", "British Indian Ocean Territory"),
    one("247", "SH", "Ascension Island"),
    one("248", "SC", "Seychelles"),
    one("249", "SD", "Sudan"),
    one("250", "RW", "Rwanda"),
    one("251", "ET", "Ethiopia"),
    one("252", "SO", "Somalia"),
    one("253", "DJ", "Djibouti"),
    one("254", "KE", "Kenya"),
    one("255", "TZ", "Tanzania"),
    one("256", "UG", "Uganda"),
    one("257", "BI", "Burundi"),
    one("258", "MZ", "Mozambique"),
    one("260", "ZM", "Zambia"),
    one("261", "MG", "Madagascar"),
    zone("262", "Réunion or Mayotte"),
    one("263", "ZW", "Zimbabwe"),
    one("264", "NA", "Namibia"),
    one("265", "MW", "Malawi"),
    one("266", "LS", "Lesotho"),
    one("267", "BW", "Botswana"),
    one("268", "SZ", "Eswatini"),
    one("269", "KM", "Comoros"),
    one("27", "ZA", "South Africa"),
    one("290", "SH", "Saint Helena and Tristan da Cunha"),
    one("291", "ER", "Eritrea"),
    one("297", "AW", "Aruba"),
    one("298", "FO", "Faroe Islands"),
    one("299", "GL", "Greenland"),
    one("30", "GR", "Greece"),
    one("31", "NL", "Netherlands"),
    one("32", "BE", "Belgium"),
    one("33", "FR", "France"),
    one("34", "ES", "Spain"),
    one("350", "GI", "Gibraltar"),
    one("351", "PT", "Portugal"),
    one("352", "LU", "Luxembourg"),
    one("353", "IE", "Ireland"),
    one("354", "IS", "Iceland"),
    one("355", "AL", "Albania"),
    one("356", "MT", "Malta"),
    one("357", "CY", "Cyprus"),
    one("358", "FI", "Finland"),
    one("359", "BG", "Bulgaria"),
    one("36", "HU", "Hungary"),
    one("370", "LT", "Lithuania"),
    one("371", "LV", "Latvia"),
    one("372", "EE", "Estonia"),
    one("373", "MD", "Moldova"),
    one("374", "AM", "Armenia"),
    one("375", "BY", "Belarus"),
    one("376", "AD", "Andorra"),
    one("377", "MC", "Monaco"),
    one("378", "SM", "San Marino"),
    one("379", "VA", "Vatican City"),
    one("380", "UA", "Ukraine"),
    one("381", "RS", "Serbia"),
    one("382", "ME", "Montenegro"),
    // XK is the code in common use for Kosovo (user-assigned, not yet in ISO 3166-1).
    one("383", "XK", "Kosovo"),
    one("385", "HR", "Croatia"),
    one("386", "SI", "Slovenia"),
    one("387", "BA", "Bosnia and Herzegovina"),
    one("389", "MK", "North Macedonia"),
    one("39", "IT", "Italy"),
    one("40", "RO", "Romania"),
    one("41", "CH", "Switzerland"),
    one("420", "CZ", "Czechia"),
    one("421", "SK", "Slovakia"),
    one("423", "LI", "Liechtenstein"),
    one("43", "AT", "Austria"),
    one("44", "GB", "United Kingdom"),
    one("45", "DK", "Denmark"),
    one("46", "SE", "Sweden"),
    one("47", "NO", "Norway"),
    one("48", "PL", "Poland"),
    one("49", "DE", "Germany"),
    one("500", "FK", "Falkland Islands"),
    one("501", "BZ", "Belize"),
    one("502", "GT", "Guatemala"),
    one("503", "SV", "El Salvador"),
    one("504", "HN", "Honduras"),
    one("505", "NI", "Nicaragua"),
    one("506", "CR", "Costa Rica"),
    one("507", "PA", "Panama"),
    one("508", "PM", "Saint Pierre and Miquelon"),
    one("509", "HT", "Haiti"),
    one("51", "PE", "Peru"),
    one("52", "MX", "Mexico"),
    one("53", "CU", "Cuba"),
    one("54", "AR", "Argentina"),
    one("55", "BR", "Brazil"),
    one("56", "CL", "Chile"),
    one("57", "CO", "Colombia"),
    one("58", "VE", "Venezuela"),
    zone("590", "Guadeloupe, Saint Barthélemy or Saint Martin"),
    one("591", "BO", "Bolivia"),
    one("592", "GY", "Guyana"),
    one("593", "EC", "Ecuador"),
    one("594", "GF", "French Guiana"),
    one("595", "PY", "Paraguay"),
    one("596", "MQ", "Martinique"),
    one("597", "SR", "Suriname"),
    one("598", "UY", "Uruguay"),
    zone("599", "Curaçao or the Caribbean Netherlands"),
    one("60", "MY", "Malaysia"),
    one("61", "AU", "Australia"),
    one("62", "ID", "Indonesia"),
    one("63", "PH", "Philippines"),
    one("64", "NZ", "New Zealand"),
    one("65", "SG", "Singapore"),
    one("66", "TH", "Thailand"),
    one("670", "TL", "Timor-Leste"),
    one("672", "NF", "Norfolk Island"),
    one("673", "BN", "Brunei"),
    one("674", "NR", "Nauru"),
    one("675", "PG", "Papua New Guinea"),
    one("676", "TO", "Tonga"),
    one("677", "SB", "Solomon Islands"),
    one("678", "VU", "Vanuatu"),
    one("679", "FJ", "Fiji"),
    one("680", "PW", "Palau"),
    one("681", "WF", "Wallis and Futuna"),
    one("682", "CK", "Cook Islands"),
    one("683", "NU", "Niue"),
    one("685", "WS", "Samoa"),
    one("686", "KI", "Kiribati"),
    one("687", "NC", "New Caledonia"),
    one("688", "TV", "Tuvalu"),
    one("689", "PF", "French Polynesia"),
    one("690", "TK", "Tokelau"),
    one("691", "FM", "Micronesia"),
    one("692", "MH", "Marshall Islands"),
    zone("7", "Russia or Kazakhstan"),
    zone("800", "International Freephone"),
    zone("808", "International Shared Cost Service"),
    one("81", "JP", "Japan"),
    one("82", "KR", "South Korea"),
    one("84", "VN", "Vietnam"),
    one("850", "KP", "North Korea"),
    one("852", "HK", "Hong Kong"),
    one("853", "MO", "Macau"),
    one("855", "KH", "Cambodia"),
    one("856", "LA", "Laos"),
    one("86", "CN", "China"),
    zone("870", "Inmarsat"),
    one("880", "BD", "Bangladesh"),
    zone("881", "Global Mobile Satellite System"),
    zone("882", "International Networks"),
    zone("883", "International Networks"),
    one("886", "TW", "Taiwan"),
    zone("888", "Telecommunications for Disaster Relief (OCHA)"),
    one("90", "TR", "Türkiye"),
    one("91", "IN", "India"),
    one("92", "PK", "Pakistan"),
    one("93", "AF", "Afghanistan"),
    one("94", "LK", "Sri Lanka"),
    one("95", "MM", "Myanmar"),
    one("960", "MV", "Maldives"),
    one("961", "LB", "Lebanon"),
    one("962", "JO", "Jordan"),
    one("963", "SY", "Syria"),
    one("964", "IQ", "Iraq"),
    one("965", "KW", "Kuwait"),
    one("966", "SA", "Saudi Arabia"),
    one("967", "YE", "Yemen"),
    one("968", "OM", "Oman"),
    one("970", "PS", "Palestine"),
    one("971", "AE", "United Arab Emirates"),
    one("972", "IL", "Israel"),
    one("973", "BH", "Bahrain"),
    one("974", "QA", "Qatar"),
    one("975", "BT", "Bhutan"),
    one("976", "MN", "Mongolia"),
    one("977", "NP", "Nepal"),
    zone("979", "International Premium Rate Service"),
    one("98", "IR", "Iran"),
    one("992", "TJ", "Tajikistan"),
    one("993", "TM", "Turkmenistan"),
    one("994", "AZ", "Azerbaijan"),
    one("995", "GE", "Georgia"),
    one("996", "KG", "Kyrgyzstan"),
    one("998", "UZ", "Uzbekistan"),
];

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn calling_codes_are_sorted_unique_and_prefix_free() {
        for pair in CALLING_CODES.windows(2) {
            assert!(
                pair[0].code < pair[1].code,
                "{} before {}",
                pair[0].code,
                pair[1].code
            );
        }
        for a in CALLING_CODES {
            for b in CALLING_CODES {
                assert!(
                    a.code == b.code || !b.code.starts_with(a.code),
                    "{} starts {}",
                    a.code,
                    b.code
                );
            }
        }
    }

    #[test]
    fn calling_codes_cover_the_assigned_ones_with_well_formed_entries() {
        assert!(CALLING_CODES.len() >= 200, "{}", CALLING_CODES.len());
        for c in CALLING_CODES {
            assert!((1..=3).contains(&c.code.len()) && c.code.bytes().all(|b| b.is_ascii_digit()));
            assert!(!c.code.starts_with('0'));
            assert!(!c.name.is_empty());
            if let Some(iso) = c.country {
                assert!(
                    iso.len() == 2 && iso.bytes().all(|b| b.is_ascii_uppercase()),
                    "{iso}"
                );
            }
        }
    }

    #[test]
    fn an_iso_code_under_two_calling_codes_has_its_own_name() {
        let mut seen = BTreeSet::new();
        for iso in CALLING_CODES.iter().filter_map(|c| c.country) {
            if !seen.insert(iso) {
                assert!(SHARED_CODE_COUNTRIES.iter().any(|(i, _)| *i == iso), "{iso}");
            }
        }
        let shared: BTreeSet<_> = SHARED_CODE_COUNTRIES.iter().map(|(i, _)| *i).collect();
        assert_eq!(
            shared.len(),
            SHARED_CODE_COUNTRIES.len(),
            "duplicate in SHARED_CODE_COUNTRIES"
        );
        assert_eq!(
            iso_country_name("SH"),
            Some("Saint Helena, Ascension and Tristan da Cunha")
        );
        assert_eq!(iso_country_name("DE"), Some("Germany"));
        assert_eq!(iso_country_name("US"), Some("United States"));
        assert_eq!(iso_country_name("ZZ"), None);
    }

    #[test]
    fn every_special_dialing_code_is_assigned() {
        for code in NO_TRUNK_PREFIX.iter().chain(&["1", "7", "36"]) {
            assert_eq!(calling_code(code).map(|c| c.code), Some(*code));
        }
    }

    #[test]
    fn calling_code_matches_one_two_and_three_digits() {
        assert_eq!(calling_code("15551230001").map(|c| c.code), Some("1"));
        assert_eq!(calling_code("4930123").map(|c| c.code), Some("49"));
        assert_eq!(calling_code("353123").map(|c| c.code), Some("353"));
        assert_eq!(calling_code("999123"), None);
        assert_eq!(calling_code("21"), None);
        assert_eq!(calling_code(""), None);
    }

    #[test]
    fn normalize_accepts_international_forms() {
        for (input, want) in [
            ("+4930123456", "4930123456"),
            ("004930123456", "4930123456"),
            ("+1 (555) 123-4567", "15551234567"),
            ("+44 20 7946 0000", "442079460000"),
            ("+49.30.123456", "4930123456"),
            ("  +49 30 123456\t", "4930123456"),
            ("(+49) 30-123456", "4930123456"),
            ("00 1 555 000 1111", "15550001111"),
            ("+123456789012345", "123456789012345"),
        ] {
            assert_eq!(normalize(input, None).as_deref(), Some(want), "{input}");
        }
    }

    #[test]
    fn normalize_refuses_what_is_not_an_international_number() {
        for input in [
            "",
            "+",
            "00",
            "  ",
            "4930123456",
            "030123456",
            "15550001111",
            "+49abc",
            "alice",
            "*21#",
            "#",
            "+49 30 123456;ext=1",
            "+49/30",
            "++4930",
            "49+30",
            "+0123456",
            "000123456",
            "+1234567890123456",
            "+49\u{a0}30",
        ] {
            assert_eq!(normalize(input, None), None, "{input:?}");
        }
    }

    #[test]
    fn national_numbers_follow_the_default_countrys_dialing_rule() {
        for (input, default, want) in [
            ("030 123456", "49", Some("4930123456")),
            ("030 123456", "+49", Some("4930123456")),
            ("30123456", "49", None),
            ("0", "49", None),
            ("06 1234 5678", "39", Some("390612345678")),
            ("347 123 4567", "39", Some("393471234567")),
            ("91 123 45 67", "34", Some("34911234567")),
            ("06 1 234 5678", "36", Some("3612345678")),
            ("8 495 123-45-67", "7", Some("74951234567")),
            ("8 727 123 45 67", "7", Some("77271234567")),
            ("8 10 49 30 1234", "7", None),
            ("(212) 555-0100", "1", Some("12125550100")),
            ("1 212 555 0100", "1", Some("12125550100")),
            ("555-0100", "1", None),
            ("112", "1", None),
            ("030 123456", "049", None),
            ("030 123456", "4x", None),
            ("030 123456", "1234", None),
            ("+33 1 23 45 67 89", "49", Some("33123456789")),
        ] {
            assert_eq!(
                normalize(input, Some(default)).as_deref(),
                want,
                "{input} with {default}"
            );
        }
    }

    #[test]
    fn fields_split_on_commas_outside_quotes() {
        let split = split_fields;
        assert_eq!(split("+4930,Berlin"), Ok(vec!["+4930".into(), "Berlin".into()]));
        assert_eq!(
            split(" +4930 , Berlin ,"),
            Ok(vec!["+4930".into(), "Berlin".into(), String::new()])
        );
        assert_eq!(
            split(r#"+1202, "Washington, D.C." ,US"#),
            Ok(vec!["+1202".into(), "Washington, D.C.".into(), "US".into()])
        );
        assert_eq!(
            split(r#""+1","The ""Big"" One""#),
            Ok(vec!["+1".into(), r#"The "Big" One"#.into()])
        );
        assert_eq!(split(r#""""#), Ok(vec![String::new()]));
        assert_eq!(split(r#"+1,"open"#), Err(LineProblem::UnterminatedQuote));
        assert_eq!(split(r#"+1,"a"b"#), Err(LineProblem::TextAfterQuote));
        assert_eq!(split(r#"+1,a"b"#), Err(LineProblem::StrayQuote));
    }

    #[test]
    fn debug_routes_the_number_through_pii() {
        let info = RegionInfo {
            e164: Some("+4930123456".into()),
            ..RegionInfo::default()
        };
        let text = format!("{info:?}");
        assert!(text.starts_with("RegionInfo { e164: Some("), "{text}");
    }
}
