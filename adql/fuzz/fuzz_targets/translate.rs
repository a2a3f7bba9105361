//! Parse + check + translate never panics, and what comes out for arbitrary text is either an
//! error with a position or SQL that ends where it should (no second statement smuggled in).
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

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match adql::translate(text, &catalog()) {
        Ok(translation) => {
            // Every statement separator we print is inside a quoted string or identifier.
            let mut quote = None;
            for c in translation.sql.chars() {
                match (quote, c) {
                    (None, '\'' | '"') => quote = Some(c),
                    (Some(q), c) if c == q => quote = None,
                    (None, ';') => panic!("a ';' outside quotes in {}", translation.sql),
                    _ => {}
                }
            }
        }
        Err(error) => assert!(!error.message.is_empty()),
    }
    let _ = adql::check_syntax(text);
});
