//! Translation cases as data: every `tests/cases/**/NAME.adql` beside `NAME.sql` (the expected
//! PostgreSQL) or `NAME.err` (the expected error, as a user reads it). One runner checks them
//! all against a small catalog; `BLESS=1 cargo test -p adql --test cases` rewrites the
//! expectations from what the crate does now (review the diff before committing it).

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
    if failed > 0 {
        std::process::exit(1);
    }
}
