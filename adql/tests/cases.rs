//! Translation cases as data: every `tests/cases/**/NAME.adql` beside `NAME.sql` (the expected
//! PostgreSQL) or `NAME.err` (the expected error, as a user reads it). One runner checks them
//! all against a small catalog; `BLESS=1 cargo test -p adql --test cases` rewrites the
//! expectations from what the crate does now (review the diff before committing it).
//!
//! Then every case goes through a `TranslationCache` with its numbers changed, which must
//! answer what a fresh translation answers.

use std::fs;
use std::path::{Path, PathBuf};

use adql::{ColumnInfo, ColumnType, TableInfo};

fn catalog() -> Vec<TableInfo> {
    // Units as schema/ gives them, for IN_UNIT.
    let unit = |column: &str| match column {
        "exp_seeing" => Some("arcsec"),
        "exp_tau0" => Some("s"),
        "target_ra" | "target_dec" | "s_ra" | "s_dec" | "ra" | "dec" => Some("deg"),
        "exp_mjd_start" | "exp_mjd_end" | "t_min" | "t_max" => Some("d"),
        "em_min" | "em_max" => Some("m"),
        _ => None,
    };
    let table = |schema: &str, name: &str, columns: &[(&str, ColumnType)]| TableInfo {
        schema: schema.into(),
        name: name.into(),
        columns: columns
            .iter()
            .map(|(n, k)| ColumnInfo {
                name: n.to_string(),
                kind: *k,
                unit: unit(n).map(str::to_string),
            })
            .collect(),
    };
    use ColumnType::*;
    vec![
        table(
            "obsportal",
            "exposures",
            &[
                ("exp_id", Text),
                ("exp_mjd_start", Double),
                ("exp_mjd_end", Double),
                ("exp_seeing", Double),
                ("exp_tau0", Double),
                ("obs_id", Integer),
                ("obs_type", Text),
                ("obs_program", Text),
                ("interferometer_stations", Text),
                ("instrument_name", Text),
                ("instrument_mode", Text),
                ("target_id", Integer),
                ("target_name", Text),
                ("target_ra", Double),
                ("target_dec", Double),
                ("exp_date_updated", Timestamp),
            ],
        ),
        table(
            "obsportal",
            "baselines",
            &[
                ("exp_id", Text),
                ("station1", Text),
                ("station2", Text),
                ("length_start", Double),
                ("angle_start", Double),
                ("u_start", Double),
                ("v_start", Double),
                ("u_end", Double),
                ("v_end", Double),
            ],
        ),
        table(
            "ivoa",
            "obscore",
            &[
                ("obs_id", Text),
                ("target_name", Text),
                ("s_ra", Double),
                ("s_dec", Double),
                ("t_min", Double),
                ("t_max", Double),
                ("instrument_name", Text),
                ("em_min", Double),
                ("em_max", Double),
                ("s_region", Geometry),
            ],
        ),
        table(
            "TAP_UPLOAD",
            "targets",
            &[
                ("name", Text),
                ("ra", Double),
                ("dec", Double),
                ("Mixed Case", Text),
                ("size", Double),
            ],
        ),
    ]
}

fn cases(directory: &Path, found: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(directory).expect("tests/cases exists") {
        let path = entry.unwrap().path();
        if path.is_dir() {
            cases(&path, found);
        } else if path.extension().is_some_and(|e| e == "adql") {
            found.push(path);
        }
    }
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let bless = std::env::var_os("BLESS").is_some();
    let catalog = catalog();
    let mut found = Vec::new();
    cases(&root, &mut found);
    found.sort();
    let (mut passed, mut failed) = (0, 0);
    for path in &found {
        let input = fs::read_to_string(path).unwrap();
        let (actual, extension) = match adql::translate(input.trim_end(), &catalog) {
            Ok(translation) => (translation.sql, "sql"),
            Err(error) => (error.to_string(), "err"),
        };
        let expected_path = path.with_extension(extension);
        let other_path = path.with_extension(if extension == "sql" { "err" } else { "sql" });
        let name = path.strip_prefix(&root).unwrap().display();
        if bless {
            fs::write(&expected_path, format!("{actual}\n")).unwrap();
            let _ = fs::remove_file(&other_path);
            passed += 1;
            continue;
        }
        match fs::read_to_string(&expected_path) {
            Ok(expected) if expected.trim_end() == actual => passed += 1,
            Ok(expected) => {
                failed += 1;
                println!(
                    "FAILED {name}\n  expected: {}\n  actual:   {actual}",
                    expected.trim_end()
                );
            }
            Err(_) => {
                failed += 1;
                let wanted = if other_path.exists() {
                    format!(
                        "expected a .{} file",
                        if extension == "sql" { "err" } else { "sql" }
                    )
                } else {
                    "no expectation file".into()
                };
                println!("FAILED {name} ({wanted})\n  actual {extension}: {actual}");
            }
        }
    }
    println!("adql: {passed} passed, {failed} failed");
    assert!(!found.is_empty(), "no cases found under {}", root.display());
    let (served, disagreements) = cache_agrees_with_fresh_translations(&found, &catalog);
    if failed > 0 || disagreements > 0 {
        std::process::exit(1);
    }
    assert!(served >= 150, "templates served only {served} queries");
}

/// Each case, then three variants with other numbers (of the same kind, or copied from another
/// number of the query, or as written), through one cache: it must answer what a fresh
/// translation answers. Returns how many queries templates served, and the disagreements.
fn cache_agrees_with_fresh_translations(
    found: &[PathBuf],
    catalog: &Vec<TableInfo>,
) -> (u64, usize) {
    let cache = adql::TranslationCache::new(4096);
    let mut random = Random(0x2545_f491_4f6c_dd1d);
    let (mut compared, mut disagreements) = (0, 0);
    for path in found {
        let text = fs::read_to_string(path).unwrap();
        let text = text.trim_end();
        let numbers = numbers_in(text);
        for variant in 0..4 {
            let query = if variant == 0 {
                text.to_string()
            } else {
                with_other_numbers(text, &numbers, &mut random)
            };
            let fresh = adql::translate_with_parameters(&query, catalog);
            let cached = cache.translate_with_parameters(&query, catalog);
            let agree = match (&fresh, &cached) {
                (Ok(fresh), Ok(cached)) => fresh == cached,
                (Err(fresh), Err(cached)) => fresh.to_string() == cached.to_string(),
                _ => false,
            };
            if !agree {
                disagreements += 1;
                println!(
                    "CACHE DISAGREES {}\n  query:  {query}\n  fresh:  {fresh:?}\n  cached: {cached:?}",
                    path.display()
                );
            }
            compared += 1;
        }
    }
    let served = cache.hits();
    println!(
        "cache: {compared} queries, {served} served by templates, {disagreements} disagreements"
    );
    (served, disagreements)
}

/// Byte ranges of the numbers in a query, outside strings, names and comments.
fn numbers_in(text: &str) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        match bytes[at] {
            quote @ (b'\'' | b'"') => {
                at += 1;
                while at < bytes.len() && bytes[at] != quote {
                    at += 1;
                }
                at += 1;
            }
            b'-' if bytes.get(at + 1) == Some(&b'-') => {
                while at < bytes.len() && bytes[at] != b'\n' {
                    at += 1;
                }
            }
            b if b.is_ascii_alphabetic() || b == b'_' => {
                while at < bytes.len() && (bytes[at].is_ascii_alphanumeric() || bytes[at] == b'_') {
                    at += 1;
                }
            }
            b if b.is_ascii_digit() => {
                let start = at;
                while at < bytes.len() && (bytes[at].is_ascii_digit() || bytes[at] == b'.') {
                    at += 1;
                }
                found.push((start, at));
            }
            _ => at += 1,
        }
    }
    found
}

fn with_other_numbers(text: &str, numbers: &[(usize, usize)], random: &mut Random) -> String {
    let mut query = String::new();
    let mut copied = 0;
    for &(start, end) in numbers {
        let written = &text[start..end];
        let other = numbers[random.below(numbers.len())];
        let replacement = match random.below(4) {
            0 => written.to_string(),
            1 => text[other.0..other.1].to_string(),
            _ if written.contains('.') => format!("{:?}", random.below(3_600_000) as f64 / 1e4),
            _ if random.below(8) == 0 => (3_000_000_000 + random.below(1000)).to_string(),
            _ => random.below(100).to_string(),
        };
        query.push_str(&text[copied..start]);
        query.push_str(&replacement);
        copied = end;
    }
    query.push_str(&text[copied..]);
    query
}

/// A small deterministic generator (xorshift), so that a failure can be replayed.
struct Random(u64);

impl Random {
    fn below(&mut self, bound: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % bound as u64) as usize
    }
}
