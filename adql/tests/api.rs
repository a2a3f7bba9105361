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

#[test]
fn numbers_become_parameters_so_that_cones_share_one_statement() {
    let cone = |ra: &str, dec: &str| {
        adql::translate_with_parameters(
            &format!(
                "SELECT TOP 5 exp_id, target_ra * 2 AS twice FROM obsportal.exposures \
                 WHERE 1 = CONTAINS(POINT('ICRS', target_ra, target_dec), \
                 CIRCLE('ICRS', {ra}, {dec}, 30 / 3600.0)) ORDER BY 1"
            ),
            &catalog(),
        )
        .unwrap()
    };
    let (first, second) = (cone("10.5", "-20"), cone("200.25", "45"));
    assert_eq!(first.sql, second.sql, "one statement for both cones");
    use adql::Literal::{Float8, Int4};
    assert_eq!(
        first.parameters,
        [Int4(2), Float8(10.5), Int4(-20), Int4(30), Float8(3600.0)]
    );
    assert_eq!(second.parameters[1], Float8(200.25));
    // The printer still sees CONTAINS(...) = 1, TOP and ORDER BY's position as written.
    assert!(first.sql.contains("<@ (SELECT scircle("), "{}", first.sql);
    assert!(first.sql.ends_with("ORDER BY 1 LIMIT 5"), "{}", first.sql);
    assert!(first.sql.contains("$5::float8"), "{}", first.sql);
    // Translated without parameters, the same query prints its numbers.
    let inline = adql::translate(
        "SELECT target_ra FROM obsportal.exposures GROUP BY target_ra ORDER BY 1",
        &catalog(),
    )
    .unwrap();
    assert!(inline.parameters.is_empty() && !inline.sql.contains('$'));
    let grouped = adql::translate_with_parameters(
        "SELECT target_ra, COUNT(*) FROM obsportal.exposures GROUP BY 1 HAVING COUNT(*) > 3",
        &catalog(),
    )
    .unwrap();
    assert!(
        grouped
            .sql
            .contains("GROUP BY 1 HAVING (count(*) > $1::int4)"),
        "{}",
        grouped.sql
    );
    assert_eq!(grouped.parameters, [Int4(3)]);
}

#[test]
fn the_translation_cache_serves_only_queries_of_the_same_shape() {
    let cache = adql::TranslationCache::new(16);
    let cone = |ra: &str, dec: &str| {
        format!(
            "SELECT exp_id FROM obsportal.exposures WHERE 1 = CONTAINS(\
             POINT(target_ra, target_dec), CIRCLE({ra}, {dec}, 0.01))"
        )
    };
    let first = cache
        .translate_with_parameters(&cone("10.5", "-20.25"), &catalog())
        .unwrap();
    let second = cache
        .translate_with_parameters(&cone("200.75", "-45.5"), &catalog())
        .unwrap();
    assert_eq!(
        cache.hits(),
        1,
        "the second cone comes from the first one's template"
    );
    assert_eq!(second.sql, first.sql);
    assert_eq!(
        second,
        adql::translate_with_parameters(&cone("200.75", "-45.5"), &catalog()).unwrap()
    );

    // A control character where the number was must not read as that number's mark.
    let where_id =
        |value: &str| format!("SELECT exp_id FROM obsportal.exposures WHERE target_ra = {value}");
    cache
        .translate_with_parameters(&where_id("5"), &catalog())
        .unwrap();
    let odd = where_id("\u{1}");
    assert!(adql::translate_with_parameters(&odd, &catalog()).is_err());
    assert!(cache.translate_with_parameters(&odd, &catalog()).is_err());
}

/// A built query asking for missing values last when descending: ADQL's text cannot say it
/// (it orders them first), so the translation adds it after the same check.
#[test]
fn built_queries_can_put_missing_values_last() {
    let catalog = catalog();
    let query = adql::build::Query::select("obsportal.exposures", ["exp_id"])
        .order_by_missing_last("target_dec", true)
        .order_by("exp_id", true)
        .top(10);
    assert!(query.orders_missing_last());
    assert!(query
        .to_string()
        .ends_with("ORDER BY target_dec DESC, exp_id DESC"));
    let sql = adql::translate_built(&query, &catalog).unwrap().sql;
    assert!(
        sql.contains(
            "\"target_dec\" DESC NULLS LAST, \"obsportal\".\"exposures\".\"exp_id\" DESC LIMIT 10"
        ),
        "{sql}"
    );
    // Ascending, missing values are last already: nothing to add.
    let ascending = adql::build::Query::select("obsportal.exposures", ["exp_id"])
        .order_by_missing_last("target_dec", false);
    assert!(!ascending.orders_missing_last());
    // A built query is checked like typed text.
    let unknown = adql::build::Query::select("obsportal.exposures", ["no_such_column"]);
    assert!(adql::translate_built(&unknown, &catalog).is_err());
}

/// `joins_by_zones` says whether a crossmatch anywhere in the FROM (a derived table's, a common
/// table's) became a join on zones of declination: the server builds no position index on an
/// uploaded table for such a query.
#[test]
fn a_translation_tells_whether_it_joins_by_zones() {
    let pair = "obsportal.exposures AS a JOIN obsportal.exposures AS b \
        ON CONTAINS(POINT(a.target_ra, a.target_dec), CIRCLE(b.target_ra, b.target_dec, 1.0/3600)) = 1";
    let cases = [
        (format!("SELECT a.exp_id FROM {pair}"), true),
        (
            format!("SELECT n FROM (SELECT a.exp_id AS n FROM {pair}) AS d"),
            true,
        ),
        (
            format!("WITH w AS (SELECT a.exp_id FROM {pair}) SELECT * FROM w"),
            true,
        ),
        (
            format!("SELECT exp_id FROM obsportal.exposures UNION SELECT a.exp_id FROM {pair}"),
            true,
        ),
        // Not an inner join, or too wide a radius: the join stays as pg_sphere's.
        (
            format!(
                "SELECT a.exp_id FROM {}",
                pair.replace(" JOIN ", " LEFT JOIN ")
            ),
            false,
        ),
        (
            format!("SELECT a.exp_id FROM {}", pair.replace("1.0/3600", "0.5")),
            false,
        ),
        ("SELECT exp_id FROM obsportal.exposures".to_string(), false),
    ];
    for (query, expected) in cases {
        let translation = adql::translate(&query, &catalog()).unwrap();
        assert_eq!(translation.joins_by_zones, expected, "{query}");
        assert_eq!(
            translation.sql.contains(" zones\""),
            expected,
            "{}",
            translation.sql
        );
    }
}
