//! What `translate` tells its caller besides the SQL: the output columns, with where they come
//! from, their units and, for geometries, their DALI xtype; and `check_syntax` without a catalog.

use adql::{ColumnInfo, ColumnType, TableInfo};

fn catalog() -> Vec<TableInfo> {
    vec![TableInfo {
        schema: "obsportal".into(),
        name: "exposures".into(),
        columns: vec![
            ColumnInfo {
                name: "exp_id".into(),
                kind: ColumnType::Text,
                unit: None,
            },
            ColumnInfo {
                name: "target_ra".into(),
                kind: ColumnType::Double,
                unit: Some("deg".into()),
            },
            ColumnInfo {
                name: "target_dec".into(),
                kind: ColumnType::Double,
                unit: Some("deg".into()),
            },
        ],
    }]
}

/// name, unit, xtype, (table, column) source
type Described<'a> = (
    &'a str,
    Option<&'a str>,
    Option<&'a str>,
    Option<(&'a str, &'a str)>,
);

#[test]
fn output_columns_carry_source_unit_and_xtype() {
    let translation = adql::translate(
        "SELECT exp_id, IN_UNIT(target_dec, 'arcsec') AS dec_arcsec, POINT(target_ra, target_dec) AS p, \
         CIRCLE(target_ra, target_dec, 1) AS c, POLYGON(0, 0, 1, 0, 0, 1) AS t, COUNT(*) \
         FROM obsportal.exposures GROUP BY exp_id, target_ra, target_dec",
        &catalog(),
    )
    .unwrap();
    let described: Vec<Described> = translation
        .columns
        .iter()
        .map(|c| {
            (
                c.name.as_str(),
                c.unit.as_deref(),
                c.xtype,
                c.source.as_ref().map(|(t, n)| (t.as_str(), n.as_str())),
            )
        })
        .collect();
    assert_eq!(
        described,
        [
            (
                "exp_id",
                None,
                None,
                Some(("obsportal.exposures", "exp_id"))
            ),
            ("dec_arcsec", Some("arcsec"), None, None),
            ("p", None, Some("point"), None),
            ("c", None, Some("circle"), None),
            ("t", None, Some("polygon"), None),
            ("count", None, None, None),
        ]
    );
    assert_eq!(translation.columns[5].kind, ColumnType::Integer);
}

#[test]
fn star_expands_to_every_catalog_column_in_order() {
    let translation = adql::translate("SELECT * FROM obsportal.exposures", &catalog()).unwrap();
    let names: Vec<&str> = translation
        .columns
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(names, ["exp_id", "target_ra", "target_dec"]);
    assert_eq!(translation.columns[1].unit.as_deref(), Some("deg"));
}

#[test]
fn syntax_only_accepts_unknown_names_but_not_bad_grammar() {
    assert_eq!(
        adql::check_syntax("SELECT a, b.c FROM somewhere AS b WHERE d > 1"),
        Ok(())
    );
    let error = adql::check_syntax("SELECT a FROM WHERE").unwrap_err();
    assert_eq!(
        (error.line, error.column, error.kind),
        (1, 15, adql::ErrorKind::Syntax)
    );
    assert!(
        adql::check_syntax("SELECT pg_sleep(1)").is_err(),
        "functions are checked without a catalog too"
    );
}
