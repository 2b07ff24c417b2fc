//! Switch conditions, time ranges, day lists and holiday calendars.

use jiff::civil::Date;

use super::Loader;
use super::node::{NodeCtx, compile_pattern};
use super::yaml::Yaml;
use crate::diagnostic::{Mark, Problem};
use crate::flow::{Calendar, Cond, DateRule, ValueTest};
use crate::model::Condition;

/// Compiles one condition mapping (an implicit `all` of its keys). Problems are reported; the
/// returned condition is then never run (the load fails).
pub(crate) fn condition(ctx: &mut NodeCtx<'_, '_>, tree: &Yaml, c: &Condition) -> Cond {
    let at = |key: &str| super::mark_at(tree, key);
    let key_at = |key: &str| super::key_mark_at(tree, key);
    let mut parts = Vec::new();

    // Value tests.
    let mut tests: Vec<(&'static str, ValueTest)> = Vec::new();
    if let Some(v) = &c.equals {
        tests.push(("equals", ValueTest::Equals(v.clone())));
    }
    if let Some(vs) = &c.one_of {
        if vs.is_empty() {
            ctx.report(at("in"), Problem::EmptyList { key: "in" });
        }
        tests.push(("in", ValueTest::In(vs.clone())));
    }
    if let Some(p) = &c.matches {
        match compile_pattern(p) {
            Ok(re) => tests.push(("matches", ValueTest::Matches(re))),
            Err(message) => ctx.report(at("matches"), Problem::BadPattern(message)),
        }
    }
    if let Some(p) = &c.prefix {
        tests.push(("prefix", ValueTest::Prefix(p.clone())));
    }
    if let Some(n) = c.at_least {
        tests.push(("at_least", ValueTest::AtLeast(n)));
    }
    if let Some(n) = c.at_most {
        tests.push(("at_most", ValueTest::AtMost(n)));
    }
    if let (Some(min), Some(max)) = (c.at_least, c.at_most) {
        if min > max {
            ctx.report(
                at("at_least"),
                Problem::BackwardsNumberRange {
                    min: min.to_string(),
                    max: max.to_string(),
                },
            );
        }
    }
    if let Some(e) = c.empty {
        tests.push(("empty", ValueTest::Empty(e)));
    }
    match &c.variable {
        Some(variable) => {
            let mark = at("variable");
            ctx.known_variable(variable, mark);
            if tests.is_empty() && c.matches.is_none() {
                ctx.report(key_at("variable"), Problem::VariableWithoutTest);
            }
            for (_, test) in tests {
                parts.push(Cond::Value {
                    variable: variable.clone(),
                    test,
                });
            }
        }
        None => {
            let keys = [
                "equals", "in", "matches", "prefix", "at_least", "at_most", "empty",
            ];
            for key in keys {
                if tree.get(key).is_some() {
                    ctx.report(key_at(key), Problem::TestWithoutVariable { key });
                }
            }
        }
    }

    // Time tests.
    if let Some(text) = &c.time {
        match time_range(text) {
            Some((start, end)) => parts.push(Cond::Time { start, end }),
            None => ctx.report(at("time"), Problem::BadTimeRange { text: text.clone() }),
        }
    }
    if let Some(days) = &c.days {
        if days.is_empty() {
            ctx.report(at("days"), Problem::EmptyList { key: "days" });
        }
        let mut mask = 0u8;
        for (i, day) in days.iter().enumerate() {
            match day_mask(day) {
                Some(m) => mask |= m,
                None => ctx.report(
                    super::item_mark(tree, "days", i),
                    Problem::UnknownDay { text: day.clone() },
                ),
            }
        }
        parts.push(Cond::Days(mask));
    }
    if let Some(name) = &c.calendar {
        match ctx.calendar_id(name) {
            Some(id) => parts.push(Cond::Calendar(id)),
            None => ctx.report(at("calendar"), Problem::UnknownCalendar { name: name.clone() }),
        }
    }

    // Combinations.
    for (key, list) in [("all", &c.all), ("any", &c.any)] {
        let Some(list) = list else { continue };
        if list.is_empty() {
            ctx.report(at(key), Problem::EmptyList { key });
        }
        let list_tree = tree.get(key).unwrap_or(tree);
        let compiled = list
            .iter()
            .enumerate()
            .map(|(i, c)| condition(ctx, list_tree.index(i).unwrap_or(list_tree), c))
            .collect();
        parts.push(if key == "all" {
            Cond::All(compiled)
        } else {
            Cond::Any(compiled)
        });
    }
    if let Some(inner) = &c.not {
        let inner_tree = tree.get("not").unwrap_or(tree);
        parts.push(Cond::Not(Box::new(condition(ctx, inner_tree, inner))));
    }

    if parts.is_empty() && c == &Condition::default() {
        ctx.report(tree.mark, Problem::EmptyCondition);
    }
    if parts.len() == 1 {
        parts.pop().unwrap_or(Cond::All(Vec::new()))
    } else {
        Cond::All(parts)
    }
}

/// `HH:MM-HH:MM` → minutes since midnight. `24:00` is allowed as an end.
pub(crate) fn time_range(text: &str) -> Option<(u16, u16)> {
    let (a, b) = text.split_once('-')?;
    let start = clock(a.trim(), false)?;
    let end = clock(b.trim(), true)?;
    (start != end).then_some((start, end))
}

fn clock(text: &str, end: bool) -> Option<u16> {
    let (h, m) = text.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let h: u16 = h.parse().ok()?;
    let m: u16 = m.parse().ok()?;
    match (h, m) {
        (24, 0) if end => Some(24 * 60),
        (0..=23, 0..=59) => Some(h * 60 + m),
        _ => None,
    }
}

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

fn day_index(text: &str) -> Option<u8> {
    let text = text.trim().to_ascii_lowercase();
    DAYS.iter()
        .position(|d| *d == text)
        .and_then(|i| u8::try_from(i).ok())
}

/// `mon` or a range `mon-fri` (wrapping: `sat-mon`) → bits, Monday first.
pub(crate) fn day_mask(text: &str) -> Option<u8> {
    match text.split_once('-') {
        None => day_index(text).map(|d| 1 << d),
        Some((a, b)) => {
            let (a, b) = (day_index(a)?, day_index(b)?);
            let mut mask = 0u8;
            let mut d = a;
            loop {
                mask |= 1 << d;
                if d == b {
                    break;
                }
                d = (d + 1) % 7;
            }
            Some(mask)
        }
    }
}

/// Compiles one calendar's entries, reporting each bad one at its place.
pub(crate) fn calendar(loader: &mut Loader<'_>, tree: &Yaml, dates: &[String]) -> Calendar {
    let mut rules = Vec::new();
    for (i, text) in dates.iter().enumerate() {
        let mark = tree.index(i).map_or(tree.mark, |t| t.mark);
        match date_rule(text) {
            Ok(rule) => rules.push(rule),
            Err(problem) => report(loader, mark, problem),
        }
    }
    Calendar { rules }
}

fn report(loader: &mut Loader<'_>, mark: Mark, problem: Problem) {
    loader.report(mark, problem);
}

fn date_rule(text: &str) -> Result<DateRule, Problem> {
    let bad = || Problem::BadDate {
        text: text.to_owned(),
    };
    let text_trim = text.trim();
    if let Some((a, b)) = text_trim.split_once("..") {
        let (a, b) = (a.trim(), b.trim());
        if let (Some(a), Some(b)) = (iso_date(a), iso_date(b)) {
            if b < a {
                return Err(Problem::BackwardsDateRange {
                    text: text.to_owned(),
                });
            }
            return Ok(DateRule::Range(a, b));
        }
        // Every year; `12-30..01-02` spans the new year.
        let a = month_day(a).ok_or_else(bad)?;
        let b = month_day(b).ok_or_else(bad)?;
        return Ok(DateRule::YearlyRange(a, b));
    }
    if let Some(date) = iso_date(text_trim) {
        return Ok(DateRule::Day(date));
    }
    let (m, d) = month_day(text_trim).ok_or_else(bad)?;
    Ok(DateRule::Yearly(m, d))
}

/// `MM-DD` (checked against a leap year so that 02-29 is allowed).
fn month_day(text: &str) -> Option<(i8, i8)> {
    let (m, d) = text.split_once('-')?;
    if m.len() != 2 || d.len() != 2 {
        return None;
    }
    let m: i8 = m.parse().ok()?;
    let d: i8 = d.parse().ok()?;
    Date::new(2000, m, d).ok()?;
    Some((m, d))
}

/// `YYYY-MM-DD` exactly.
fn iso_date(text: &str) -> Option<Date> {
    let b = text.as_bytes();
    let shape = b.len() == 10
        && b.get(4) == Some(&b'-')
        && b.get(7) == Some(&b'-')
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shape {
        return None;
    }
    text.parse::<Date>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_ranges_parse_and_refuse_nonsense() {
        assert_eq!(time_range("08:00-18:00"), Some((480, 1080)));
        assert_eq!(time_range("22:00-06:30"), Some((1320, 390)));
        assert_eq!(time_range("00:00-24:00"), Some((0, 1440)));
        for bad in [
            "8:00-18:00",
            "08:00",
            "08:00-08:00",
            "25:00-26:00",
            "08:60-09:00",
            "24:00-01:00",
        ] {
            assert_eq!(time_range(bad), None, "{bad}");
        }
    }

    #[test]
    fn day_lists_accept_names_and_wrapping_ranges() {
        assert_eq!(day_mask("mon"), Some(0b000_0001));
        assert_eq!(day_mask("mon-fri"), Some(0b001_1111));
        assert_eq!(day_mask("sat-mon"), Some(0b110_0001));
        assert_eq!(day_mask("Sun"), Some(0b100_0000));
        assert_eq!(day_mask("monday"), None);
        assert_eq!(day_mask("mon-xyz"), None);
    }

    #[test]
    fn calendar_entries_are_dates_ranges_or_yearly_days() {
        let d = |s: &str| s.parse::<Date>().unwrap();
        assert_eq!(date_rule("2025-12-25").unwrap(), DateRule::Day(d("2025-12-25")));
        assert_eq!(
            date_rule("2025-12-24..2025-12-26").unwrap(),
            DateRule::Range(d("2025-12-24"), d("2025-12-26"))
        );
        assert_eq!(date_rule("02-29").unwrap(), DateRule::Yearly(2, 29));
        assert_eq!(
            date_rule("12-30..01-02").unwrap(),
            DateRule::YearlyRange((12, 30), (1, 2))
        );
        for bad in [
            "2025-02-30",
            "2025-13-01",
            "25-12-25",
            "12-32",
            "christmas",
            "2025-1-1",
            "2025-12-24..12-26",
        ] {
            assert!(matches!(date_rule(bad), Err(Problem::BadDate { .. })), "{bad}");
        }
        assert!(matches!(
            date_rule("2025-12-26..2025-12-24"),
            Err(Problem::BackwardsDateRange { .. })
        ));
    }
}
