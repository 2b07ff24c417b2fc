//! `RegionTable` through its public surface: numbers, countries, prefixes, the CSV format and its limits,
//! and the demo table shipped in `ivr-flows/regions.csv`.
#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use hotline_model::{LineProblem, RegionError, RegionInfo, RegionTable};

fn table(csv: &str) -> RegionTable {
    RegionTable::parse_csv(csv, "regions.csv").unwrap()
}

/// The line, problem and message of a CSV that must not load.
fn line_error(csv: &str) -> (usize, LineProblem, String) {
    let err = RegionTable::parse_csv(csv, "regions.csv").unwrap_err();
    let text = err.to_string();
    let RegionError::Line { line, problem, .. } = err else {
        panic!("expected a line error, got {err:?}");
    };
    (line, problem, text)
}

/// A file under the temporary folder, removed when dropped (also when the test fails).
struct TempFile(PathBuf);

impl TempFile {
    fn new(tag: &str, contents: &[u8]) -> Self {
        let path = std::env::temp_dir().join(format!("hotline-region-{}-{tag}.csv", std::process::id()));
        std::fs::write(&path, contents).unwrap();
        Self(path)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn shipped_table_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ivr-flows/regions.csv")
}

// ---------------------------------------------------------------------------------------------------
// Numbers

#[test]
fn international_forms_normalize_to_e164() {
    let t = RegionTable::empty();
    for (input, want) in [
        ("+4930123456", "+4930123456"),
        ("004930123456", "+4930123456"),
        ("+1 (555) 123-4567", "+15551234567"),
        ("+44 20 7946 0000", "+442079460000"),
        ("+49.30.123456", "+4930123456"),
        (" +49-30-123456 ", "+4930123456"),
    ] {
        assert_eq!(t.lookup(input, None).e164.as_deref(), Some(want), "{input}");
    }
}

#[test]
fn what_is_not_an_international_number_has_no_answer() {
    let t = table("prefix,region\n+49,Germany\n+1,North America\n");
    for input in [
        "4930123456",
        "030123456",
        "15550001111",
        "+49abc",
        "anonymous",
        "*31#4930123456",
        "+4930123456#",
        "+49 30 123456;ext=1",
        "+49_30",
        "++4930",
        "",
        "+",
        "+0049",
        "+1234567890123456",
    ] {
        assert_eq!(t.lookup(input, None), RegionInfo::default(), "{input:?}");
    }
}

#[test]
fn a_default_country_code_makes_national_numbers_international() {
    let t = table("prefix,region\n+4930,Berlin\n+3906,Rome\n");
    let berlin = t.lookup("030 123456", Some("49"));
    assert_eq!(berlin.e164.as_deref(), Some("+4930123456"));
    assert_eq!(berlin.country.as_deref(), Some("DE"));
    assert_eq!(berlin.region.as_deref(), Some("Berlin"));
    assert_eq!(
        t.lookup("(030) 123-456", Some("+49")).region.as_deref(),
        Some("Berlin")
    );
    // Italy keeps its leading 0: it is part of the number, not a trunk prefix.
    let rome = t.lookup("06 1234 5678", Some("39"));
    assert_eq!(rome.e164.as_deref(), Some("+390612345678"));
    assert_eq!(rome.region.as_deref(), Some("Rome"));
    // NANP: ten digits, with or without the leading 1.
    assert_eq!(
        t.lookup("(212) 555-0100", Some("1")).e164.as_deref(),
        Some("+12125550100")
    );
    assert_eq!(
        t.lookup("1-212-555-0100", Some("1")).e164.as_deref(),
        Some("+12125550100")
    );
    // A local number without its trunk 0 stays unknown, and international numbers ignore the default.
    assert_eq!(t.lookup("123456", Some("49")), RegionInfo::default());
    assert_eq!(
        t.lookup("+33 1 23 45 67 89", Some("49")).country.as_deref(),
        Some("FR")
    );
    // Without a default a national number has no country.
    assert_eq!(t.lookup("030 123456", None), RegionInfo::default());
}

// ---------------------------------------------------------------------------------------------------
// Countries

#[test]
fn countries_come_from_one_two_and_three_digit_codes() {
    let t = RegionTable::empty();
    for (number, code, iso, name) in [
        (
            "+15551230001",
            "1",
            None,
            "United States, Canada and the Caribbean (NANP)",
        ),
        ("+74951234567", "7", None, "Russia or Kazakhstan"),
        ("+20212345678", "20", Some("EG"), "Egypt"),
        ("+442079460000", "44", Some("GB"), "United Kingdom"),
        ("+4930123456", "49", Some("DE"), "Germany"),
        ("+33123456789", "33", Some("FR"), "France"),
        ("+861012345678", "86", Some("CN"), "China"),
        ("+911123456789", "91", Some("IN"), "India"),
        ("+35312345678", "353", Some("IE"), "Ireland"),
        ("+358912345678", "358", Some("FI"), "Finland"),
        ("+88021234567", "880", Some("BD"), "Bangladesh"),
        ("+97141234567", "971", Some("AE"), "United Arab Emirates"),
        ("+80012345678", "800", None, "International Freephone"),
    ] {
        let info = t.lookup(number, None);
        assert_eq!(info.e164.as_deref(), Some(number));
        assert_eq!(info.country_code.as_deref(), Some(code), "{number}");
        assert_eq!(info.country.as_deref(), iso, "{number}");
        assert_eq!(info.country_name.as_deref(), Some(name), "{number}");
        assert_eq!(info.region, None);
    }
}

#[test]
fn an_unassigned_code_gives_the_number_but_no_country() {
    let info = RegionTable::empty().lookup("+999 123 456", None);
    assert_eq!(
        info,
        RegionInfo {
            e164: Some("+999123456".into()),
            ..RegionInfo::default()
        }
    );
}

// ---------------------------------------------------------------------------------------------------
// Prefixes

#[test]
fn the_longest_prefix_wins() {
    let t = table("prefix,region\n+49,Germany (elsewhere)\n+4930,Berlin\n+493012,Berlin (a district)\n");
    assert_eq!(t.len(), 3);
    assert_eq!(t.lookup("+49 30 98765", None).region.as_deref(), Some("Berlin"));
    assert_eq!(
        t.lookup("+49 30 12345", None).region.as_deref(),
        Some("Berlin (a district)")
    );
    assert_eq!(
        t.lookup("+49 89 12345", None).region.as_deref(),
        Some("Germany (elsewhere)")
    );
    assert_eq!(t.lookup("+44 20 7946 0000", None).region, None);
    // A prefix longer than the number does not match it.
    assert_eq!(t.lookup("+4930", None).region.as_deref(), Some("Berlin"));
    assert_eq!(
        t.lookup("+493", None).region.as_deref(),
        Some("Germany (elsewhere)")
    );
}

#[test]
fn the_country_column_refines_a_shared_code() {
    let t = table(
        "prefix,region,country\n+1212,New York City,US\n+1416,Toronto,CA\n+1555,Fictional\n+4930,Berlin,\n",
    );
    let nyc = t.lookup("+1 212 555 0100", None);
    assert_eq!(nyc.country_code.as_deref(), Some("1"));
    assert_eq!(nyc.country.as_deref(), Some("US"));
    assert_eq!(nyc.country_name.as_deref(), Some("United States"));
    assert_eq!(
        t.lookup("+1 416 555 0100", None).country_name.as_deref(),
        Some("Canada")
    );
    let fictional = t.lookup("+1 555 000 1111", None);
    assert_eq!(fictional.country, None);
    assert_eq!(
        fictional.country_name.as_deref(),
        Some("United States, Canada and the Caribbean (NANP)")
    );
    assert_eq!(t.lookup("+49 30 1234", None).country.as_deref(), Some("DE"));
}

#[test]
fn region_info_serializes_every_field() {
    let info = table("prefix,region\n+4930,Berlin\n").lookup("+4930123456", None);
    let json = serde_json::to_value(&info).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "e164": "+4930123456",
            "country_code": "49",
            "country": "DE",
            "country_name": "Germany",
            "region": "Berlin",
        })
    );
}

// ---------------------------------------------------------------------------------------------------
// The CSV format

#[test]
fn comments_blank_lines_quotes_crlf_and_a_bom_are_accepted() {
    let csv = "\u{feff}# a comment\r\n\r\n  # an indented comment\r\nPrefix, Region\r\n+1202,\"Washington, D.C.\"\r\n\
               \"+1212\" , \"The \"\"Big\"\" Apple\"\r\n\r\n+4930,  Berlin  \r\n";
    let t = table(csv);
    assert_eq!(t.len(), 3);
    assert!(!t.is_empty());
    assert_eq!(
        t.lookup("+12025550100", None).region.as_deref(),
        Some("Washington, D.C.")
    );
    assert_eq!(
        t.lookup("+12125550100", None).region.as_deref(),
        Some("The \"Big\" Apple")
    );
    assert_eq!(t.lookup("+4930123", None).region.as_deref(), Some("Berlin"));
}

#[test]
fn a_header_alone_is_an_empty_table() {
    let t = table("prefix,region,country\n");
    assert!(t.is_empty());
    assert_eq!(t.len(), 0);
    assert!(RegionTable::empty().is_empty());
}

#[test]
fn errors_name_the_file_and_the_line() {
    let csv = "# comment\nprefix,region\n+4930,Berlin\n\n# another\n+4989,Munich\n4940,Hamburg\n";
    let (line, problem, text) = line_error(csv);
    assert_eq!((line, problem), (7, LineProblem::BadPrefix));
    assert_eq!(text, "regions.csv:7: prefix must be + followed by 1 to 15 digits");

    for (csv, line, problem) in [
        ("prefix,region\n+49 30,Berlin\n", 2, LineProblem::BadPrefix),
        ("prefix,region\n+,Berlin\n", 2, LineProblem::BadPrefix),
        ("prefix,region\n+49x,Berlin\n", 2, LineProblem::BadPrefix),
        ("prefix,region\n,Berlin\n", 2, LineProblem::BadPrefix),
        (
            "prefix,region\n+0049,Berlin\n",
            2,
            LineProblem::PrefixStartsWithZero,
        ),
        ("prefix,region\n+4930\n", 2, LineProblem::MissingRegion),
        ("prefix,region\n+4930,\n", 2, LineProblem::MissingRegion),
        ("prefix,region\n+4930,\"  \"\n", 2, LineProblem::MissingRegion),
        (
            "prefix,region\n+4930,\"Ber\tlin\"\n",
            2,
            LineProblem::ControlCharacter,
        ),
        (
            "prefix,region\n+4930,Berlin, Mitte\n",
            2,
            LineProblem::FieldCount {
                expected: 2,
                found: 3,
            },
        ),
        (
            "prefix,region,country\n+4930,Berlin,DE,x\n",
            2,
            LineProblem::FieldCount {
                expected: 3,
                found: 4,
            },
        ),
        (
            "prefix,region,country\n+4930,Berlin,de\n",
            2,
            LineProblem::BadCountry,
        ),
        (
            "prefix,region,country\n+4930,Berlin,DEU\n",
            2,
            LineProblem::BadCountry,
        ),
        (
            "prefix,region\n+4930,\"Berlin\n",
            2,
            LineProblem::UnterminatedQuote,
        ),
        (
            "prefix,region\n+4930,\"Berlin\" Mitte\n",
            2,
            LineProblem::TextAfterQuote,
        ),
        ("prefix,region\n+4930,Ber\"lin\n", 2, LineProblem::StrayQuote),
        ("# only a comment\n+4930,Berlin\n", 2, LineProblem::BadHeader),
        ("prefix;region\n", 1, LineProblem::BadHeader),
        ("prefix,region,country,extra\n", 1, LineProblem::BadHeader),
    ] {
        let (got_line, got_problem, _) = line_error(csv);
        assert_eq!((got_line, got_problem), (line, problem), "{csv:?}");
    }
}

#[test]
fn a_duplicate_prefix_names_both_lines() {
    let csv = "prefix,region\n+4930,Berlin\n+4989,Munich\n# again\n+4930,Berlin (again)\n";
    let (line, problem, text) = line_error(csv);
    assert_eq!(line, 5);
    assert_eq!(
        problem,
        LineProblem::DuplicatePrefix {
            prefix: "+4930".into(),
            first_line: 2
        }
    );
    assert_eq!(
        text,
        "regions.csv:5: duplicate prefix +4930, first given on line 2"
    );
}

#[test]
fn a_file_without_a_header_is_refused() {
    for csv in ["", "\n\n", "# just a comment\n"] {
        let err = RegionTable::parse_csv(csv, "regions.csv").unwrap_err();
        assert!(matches!(err, RegionError::MissingHeader { .. }), "{err:?}");
    }
}

// ---------------------------------------------------------------------------------------------------
// Limits, each at the limit and one past it

/// A table of `rows` distinct prefixes.
fn csv_with_rows(rows: usize) -> String {
    let mut csv = String::from("prefix,region\n");
    for i in 0..rows {
        writeln!(csv, "+1{i:07},R").unwrap();
    }
    csv
}

#[test]
fn rows_are_limited() {
    let max = RegionTable::MAX_ROWS;
    assert_eq!(max, 100_000);
    let t = table(&csv_with_rows(max));
    assert_eq!(t.len(), max);
    assert_eq!(t.lookup("+10000042", None).region.as_deref(), Some("R"));
    let (line, problem, _) = line_error(&csv_with_rows(max + 1));
    assert_eq!((line, problem), (max + 2, LineProblem::TooManyRows));
}

#[test]
fn prefix_digits_are_limited() {
    let max = RegionTable::MAX_PREFIX_DIGITS;
    assert_eq!(max, 15);
    let longest = format!("+1{}", "2".repeat(max - 1));
    let t = table(&format!("prefix,region\n{longest},Longest\n"));
    assert_eq!(t.lookup(&longest, None).region.as_deref(), Some("Longest"));
    let (line, problem, _) = line_error(&format!("prefix,region\n+1{},Too long\n", "2".repeat(max)));
    assert_eq!((line, problem), (2, LineProblem::BadPrefix));
}

#[test]
fn region_bytes_are_limited() {
    let max = RegionTable::MAX_REGION_BYTES;
    assert_eq!(max, 128);
    let region = "é".repeat(max / 2);
    assert_eq!(region.len(), max);
    let t = table(&format!("prefix,region\n+4930,{region}\n"));
    assert_eq!(t.lookup("+4930", None).region.as_deref(), Some(region.as_str()));
    let (line, problem, _) = line_error(&format!("prefix,region\n+4930,{region}x\n"));
    assert_eq!(
        (line, problem),
        (2, LineProblem::RegionTooLong { bytes: max + 1 })
    );
}

/// A valid table of exactly `bytes` bytes: the header, one row, and a comment filling the rest.
fn csv_of_size(bytes: u64) -> String {
    let mut csv = String::from("prefix,region\n+4930,Berlin\n#");
    let fill = usize::try_from(bytes).unwrap() - csv.len() - 1;
    csv.push_str(&"x".repeat(fill));
    csv.push('\n');
    assert_eq!(csv.len() as u64, bytes);
    csv
}

#[test]
fn file_size_is_limited() {
    let max = RegionTable::MAX_FILE_BYTES;
    assert_eq!(max, 8 * 1024 * 1024);

    let at_limit = csv_of_size(max);
    assert_eq!(table(&at_limit).len(), 1);
    let file = TempFile::new("at-limit", at_limit.as_bytes());
    let loaded = RegionTable::load_file(&file.0).unwrap();
    assert_eq!(loaded.lookup("+4930123", None).region.as_deref(), Some("Berlin"));
    drop(file);

    let past_limit = csv_of_size(max + 1);
    let err = RegionTable::parse_csv(&past_limit, "regions.csv").unwrap_err();
    assert!(
        matches!(err, RegionError::FileTooLarge { bytes, .. } if bytes == max + 1),
        "{err:?}"
    );
    let file = TempFile::new("past-limit", past_limit.as_bytes());
    let err = RegionTable::load_file(&file.0).unwrap_err();
    assert!(
        matches!(err, RegionError::FileTooLarge { bytes, .. } if bytes == max + 1),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "{}: file is 8388609 bytes, more than the limit of 8388608 bytes",
            file.0.display()
        )
    );
}

#[test]
fn load_file_reports_a_missing_file_and_bytes_that_are_not_utf8() {
    let missing = std::env::temp_dir().join(format!("hotline-region-{}-missing.csv", std::process::id()));
    let err = RegionTable::load_file(&missing).unwrap_err();
    assert!(matches!(err, RegionError::Io { .. }), "{err:?}");
    assert!(
        err.to_string()
            .starts_with(&format!("{}: cannot read: ", missing.display()))
    );

    let file = TempFile::new("latin1", b"prefix,region\n+4930,M\xfcnchen\n");
    let err = RegionTable::load_file(&file.0).unwrap_err();
    assert!(matches!(err, RegionError::NotUtf8 { .. }), "{err:?}");
}

#[test]
fn load_file_names_the_path_in_line_errors() {
    let file = TempFile::new("bad-line", b"prefix,region\n+4930,Berlin\nBerlin,+4930\n");
    let err = RegionTable::load_file(&file.0).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}:3: prefix must be + followed by 1 to 15 digits",
            file.0.display()
        )
    );
}

// ---------------------------------------------------------------------------------------------------
// The shipped demo table

#[test]
fn the_shipped_table_loads_and_places_the_demo_numbers() {
    let t = RegionTable::load_file(&shipped_table_path()).unwrap();
    assert!((25..=40).contains(&t.len()), "{}", t.len());

    let demo = t.lookup("+15550001111", None);
    assert_eq!(demo.region.as_deref(), Some("Fictional (NANP 555)"));
    assert_eq!(demo.country_code.as_deref(), Some("1"));
    assert_eq!(
        t.lookup("+15551230001", None).region.as_deref(),
        Some("Fictional (NANP 555)")
    );

    let berlin = t.lookup("+493012345", None);
    assert_eq!(berlin.region.as_deref(), Some("Berlin"));
    assert_eq!(berlin.country.as_deref(), Some("DE"));
    assert_eq!(berlin.country_name.as_deref(), Some("Germany"));

    assert_eq!(
        t.lookup("+1 (212) 555-0100", None).region.as_deref(),
        Some("New York City (Manhattan)")
    );
    assert_eq!(
        t.lookup("+1 202 555 0100", None).region.as_deref(),
        Some("Washington, D.C.")
    );
    assert_eq!(
        t.lookup("+33 1 23 45 67 89", None).region.as_deref(),
        Some("Paris (Île-de-France)")
    );
    assert_eq!(
        t.lookup("06 1234 5678", Some("39")).region.as_deref(),
        Some("Rome")
    );
}
