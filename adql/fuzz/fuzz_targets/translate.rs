//! Parse + check + translate never panics, and what comes out for arbitrary text is either an
//! error with a position or SQL that ends where it should (no second statement smuggled in).
//! A translation cache kept across inputs answers what a fresh translation answers.
#![no_main]

use adql::{ColumnInfo, ColumnType, TableInfo};
use libfuzzer_sys::fuzz_target;

fn catalog() -> Vec<TableInfo> {
    let columns = ["exp_id", "target_ra", "target_dec", "exp_seeing", "instrument_name", "target_name"];
    vec![TableInfo {
        schema: "obsportal".into(),
        name: "exposures".into(),
        columns: columns.iter().map(|n| ColumnInfo { name: n.to_string(), kind: ColumnType::Unknown, unit: Some("deg".into()) }).collect(),
    }]
}

/// Every statement separator printed is inside a quoted string or identifier, and every `$n`
/// outside them names one of the `parameters` values.
fn check_sql(sql: &str, parameters: usize) {
    let mut quote = None;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, ';') => panic!("a ';' outside quotes in {sql}"),
            (None, '$') => {
                let mut digits = String::new();
                while let Some(d) = chars.next_if(char::is_ascii_digit) {
                    digits.push(d);
                }
                let n: usize = digits.parse().unwrap_or_else(|_| panic!("a bare '$' in {sql}"));
                assert!((1..=parameters).contains(&n), "${n} of {parameters} in {sql}");
            }
            _ => {}
        }
    }
}

static CATALOG: std::sync::LazyLock<Vec<TableInfo>> = std::sync::LazyLock::new(catalog);
static CACHE: std::sync::LazyLock<adql::TranslationCache> =
    std::sync::LazyLock::new(|| adql::TranslationCache::new(1024));

/// Long chains (issue 17: `1+1+...` with 2,500 terms crashed the server) are out of reach of
/// byte mutations, so an input `#N#prefix#unit#suffix` stands for `prefix`, `unit` N x 50
/// times, and `suffix`; the script seeds a few.
fn expand(text: &str) -> std::borrow::Cow<'_, str> {
    let mut parts = text.splitn(5, '#');
    let (Some(""), Some(count), Some(prefix), Some(unit), Some(suffix)) =
        (parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return text.into();
    };
    let Ok(count) = count.parse::<usize>() else { return text.into() };
    let count = (count % 1000) * 50;
    format!("{prefix}{}{suffix}", unit.repeat(count)).into()
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let text = &*expand(text);
    let inline = adql::translate(text, &*CATALOG);
    // With its numbers as parameters, the same query is accepted or refused alike.
    let parameterised = adql::translate_with_parameters(text, &*CATALOG);
    // Templates learned from earlier inputs of the same shape give the same.
    let cached = CACHE.translate_with_parameters(text, &*CATALOG);
    match (&parameterised, &cached) {
        (Ok(fresh), Ok(cached)) => assert_eq!(fresh, cached, "{text}"),
        (Err(fresh), Err(cached)) => assert_eq!(fresh.to_string(), cached.to_string()),
        _ => panic!("{text}: {parameterised:?} fresh but {cached:?} from the cache"),
    }
    match (inline, parameterised) {
        (Ok(inline), Ok(parameterised)) => {
            check_sql(&inline.sql, 0);
            check_sql(&parameterised.sql, parameterised.parameters.len());
        }
        (Err(error), Err(_)) => assert!(!error.message.is_empty()),
        (inline, parameterised) => panic!("{inline:?} but {parameterised:?}"),
    }
    let _ = adql::check_syntax(text);
});
