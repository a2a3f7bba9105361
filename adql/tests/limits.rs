//! Regression tests for the 5 KB query that crashed the server (issue 17): `1+1+...+1` with
//! 2,500 terms overflowed the stack in sqlparser's span computation, because an operator chain
//! nests without parentheses. Every kind of chain, at ten times the sizes that crashed, is now a
//! clear error with a line and column; and everything the bound lets through translates on a
//! thread with `adql::STACK_NEEDED` of stack (the server's threads have that), in this debug
//! build, which needs more than a release build.

use adql::{ColumnInfo, ColumnType, TableInfo};

fn catalog() -> Vec<TableInfo> {
    vec![TableInfo {
        schema: "obsportal".into(),
        name: "exposures".into(),
        columns: [
            "exp_id",
            "target_name",
            "target_ra",
            "target_dec",
            "exp_seeing",
        ]
        .iter()
        .map(|name| ColumnInfo {
            name: name.to_string(),
            kind: if name.starts_with("target_r") || name.ends_with("dec") {
                ColumnType::Double
            } else {
                ColumnType::Text
            },
            unit: None,
        })
        .collect(),
    }]
}

/// A query with `unit` repeated `count` times between `before` and `after`.
struct Chain {
    name: &'static str,
    before: &'static str,
    unit: &'static str,
    after: &'static str,
}

impl Chain {
    fn query(&self, count: usize) -> String {
        let mut text = String::from(self.before);
        for _ in 0..count {
            text.push_str(self.unit);
        }
        text.push_str(self.after);
        text
    }
}

/// Each kind of chain the issue names: arithmetic, concatenation, logic, comparisons, set
/// operations, joins, prefix operators, nested CASE, calls and subqueries.
const CHAINS: &[Chain] = &[
    Chain {
        name: "+",
        before: "SELECT TOP 1 1",
        unit: "+1",
        after: " AS x FROM obsportal.exposures",
    },
    Chain {
        name: "-",
        before: "SELECT TOP 1 1",
        unit: " - 1",
        after: " AS x FROM obsportal.exposures",
    },
    Chain {
        name: "*",
        before: "SELECT TOP 1 exp_seeing",
        unit: "*1",
        after: " AS x FROM obsportal.exposures",
    },
    Chain {
        name: "/",
        before: "SELECT TOP 1 exp_seeing",
        unit: "/1",
        after: " AS x FROM obsportal.exposures",
    },
    Chain {
        name: "||",
        before: "SELECT TOP 1 exp_id",
        unit: "||'a'",
        after: " AS x FROM obsportal.exposures",
    },
    Chain {
        name: "OR",
        before: "SELECT exp_id FROM obsportal.exposures WHERE target_name = 'a'",
        unit: " OR target_name = 'b'",
        after: "",
    },
    Chain {
        name: "AND",
        before: "SELECT exp_id FROM obsportal.exposures WHERE target_ra > 0",
        unit: " AND target_ra > 1",
        after: "",
    },
    Chain {
        name: "comparison",
        before: "SELECT exp_id FROM obsportal.exposures WHERE 1 < 2",
        unit: " = 1 < 2",
        after: "",
    },
    Chain {
        name: "NOT",
        before: "SELECT exp_id FROM obsportal.exposures WHERE",
        unit: " NOT",
        after: " 1 = 1",
    },
    Chain {
        name: "unary -",
        before: "SELECT TOP 1",
        unit: " -",
        after: "1 AS x FROM obsportal.exposures",
    },
    Chain {
        name: "UNION",
        before: "SELECT exp_id FROM obsportal.exposures",
        unit: " UNION SELECT exp_id FROM obsportal.exposures",
        after: "",
    },
    Chain {
        name: "INTERSECT",
        before: "SELECT exp_id FROM obsportal.exposures",
        unit: " INTERSECT SELECT exp_id FROM obsportal.exposures",
        after: "",
    },
    Chain {
        name: "EXCEPT",
        before: "SELECT exp_id FROM obsportal.exposures",
        unit: " EXCEPT ALL SELECT exp_id FROM obsportal.exposures",
        after: "",
    },
    Chain {
        name: "JOIN",
        before: "SELECT a.exp_id FROM obsportal.exposures AS a",
        unit: " JOIN obsportal.exposures USING (exp_id)",
        after: "",
    },
];

/// Chains that nest by opening something inside the last one: `after` is repeated as often.
const NESTINGS: &[(&str, &str, &str)] = &[
    ("CASE", "CASE WHEN 1 = 1 THEN ", " ELSE 0 END"),
    ("ABS()", "ABS(", ")"),
    (
        "subquery",
        "(SELECT TOP 1 1 FROM obsportal.exposures WHERE 1 IN ",
        ")",
    ),
];

fn nested(unit: &str, closing: &str, count: usize) -> String {
    format!(
        "SELECT TOP 1 {}1{} AS x FROM obsportal.exposures",
        unit.repeat(count),
        closing.repeat(count)
    )
}

/// The sizes that crashed: 2,500 terms of `+`, about 2,100 UNIONs. Ten times those.
const CRASHED_AT: usize = 2_500;

#[test]
fn chains_ten_times_longer_than_the_crash_are_refused_with_a_position() {
    let mut queries: Vec<(String, String)> = CHAINS
        .iter()
        .map(|chain| (chain.name.to_string(), chain.query(10 * CRASHED_AT)))
        .collect();
    for (name, unit, closing) in NESTINGS {
        queries.push((name.to_string(), nested(unit, closing, 10 * CRASHED_AT)));
    }
    for (name, text) in queries {
        for result in [
            adql::translate(&text, &catalog()).map(|_| ()),
            adql::translate_with_parameters(&text, &catalog()).map(|_| ()),
            adql::check_syntax(&text),
        ] {
            let error = result.expect_err(&name);
            assert!(
                error.message.contains("nested") && error.line == 1 && error.column > 1,
                "{name}: {error}"
            );
            assert!(error.hint.is_some(), "{name}: no advice in {error}");
        }
    }
}

#[test]
fn a_long_or_chain_is_told_to_use_in() {
    let text = CHAINS.iter().find(|c| c.name == "OR").unwrap().query(500);
    let error = adql::translate(&text, &catalog()).unwrap_err();
    assert!(error.hint.as_deref().unwrap().contains("IN ("), "{error}");
    // The error points at the OR where the chain became too long, not at the start.
    assert!(error.column > 1000, "{error}");
}

/// A query with its chain repeated n times.
type QueryOfSize = Box<dyn Fn(usize) -> String + Send>;

/// Finds the longest repetition the bound accepts (it refuses all longer ones) and translates it
/// on a thread with the stack the crate says it needs, inline, with parameters, through a cache and for syntax alone.
#[test]
fn the_longest_accepted_chains_translate_on_a_small_stack() {
    let mut cases: Vec<(String, QueryOfSize)> = Vec::new();
    for chain in CHAINS {
        cases.push((chain.name.into(), Box::new(move |n| chain.query(n))));
    }
    for (name, unit, closing) in NESTINGS {
        cases.push((
            name.to_string(),
            Box::new(move |n| nested(unit, closing, n)),
        ));
    }
    for (name, query) in cases {
        let accepted = |n: usize| {
            let text = query(n);
            !on_stack_needed(move || adql::check_syntax(&text))
                .is_err_and(|error| error.message.contains("nested"))
        };
        assert!(accepted(1), "{name}: even one is refused");
        assert!(!accepted(10 * CRASHED_AT), "{name}: no bound");
        let (mut low, mut high) = (1, 10 * CRASHED_AT);
        while high - low > 1 {
            let middle = (low + high) / 2;
            if accepted(middle) {
                low = middle
            } else {
                high = middle
            }
        }
        // Chains astronomers write (an OR over a few dozen names) stay well inside the bound.
        if !["CASE", "ABS()", "subquery"].contains(&name.as_str()) {
            assert!(low >= 90, "{name}: only {low} accepted");
        }
        let text = query(low);
        let outcomes = on_stack_needed(move || {
            let cache = adql::TranslationCache::new(4);
            [
                adql::translate(&text, &catalog()).map(|_| ()),
                adql::translate_with_parameters(&text, &catalog()).map(|_| ()),
                cache
                    .translate_with_parameters(&text, &catalog())
                    .map(|_| ()),
                adql::check_syntax(&text),
            ]
            .map(|r| r.err().map(|e| e.to_string()))
        });
        // Refusals for other reasons (a comparison of booleans, say) are fine: what matters is
        // that the passes ran to the end on a small stack.
        for outcome in outcomes.into_iter().flatten() {
            assert!(!outcome.contains("nested"), "{name} x {low}: {outcome}");
        }
    }
}

/// Runs `work` on a thread with the stack the crate says it needs, as the server does.
fn on_stack_needed<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(adql::STACK_NEEDED)
        .spawn(work)
        .unwrap()
        .join()
        .expect("the passes ran to the end")
}

/// What passed the checker and then failed in PostgreSQL as a server error (issue 17) is
/// refused by the checker, where it is written.
#[test]
fn what_postgresql_cannot_run_is_refused_where_it_is_written() {
    let refused = |text: &str| adql::translate(text, &catalog()).unwrap_err();
    // A NUL character: PostgreSQL's text cannot hold it.
    let error = refused("SELECT exp_id FROM obsportal.exposures WHERE target_name = 'a\0b'");
    assert_eq!((error.line, error.column), (1, 62), "{error}");
    let error = refused("SELECT \"exp\0id\" FROM obsportal.exposures");
    assert_eq!((error.line, error.column), (1, 12), "{error}");
    // An empty delimited name.
    let error = refused("SELECT exp_id AS \"\" FROM obsportal.exposures");
    assert!(error.message.contains("empty"), "{error}");
    // More columns than PostgreSQL selects (1,664), also through *.
    let many = vec!["exp_id"; 1665].join(", ");
    let error = refused(&format!("SELECT {many} FROM obsportal.exposures"));
    assert!(error.message.contains("1665 columns"), "{error}");
    let stars = vec!["e.*"; 400].join(", ");
    let error = refused(&format!("SELECT {stars} FROM obsportal.exposures AS e"));
    assert!(error.message.contains("2000 columns"), "{error}");
    assert!(adql::translate(
        &format!(
            "SELECT {} FROM obsportal.exposures",
            vec!["exp_id"; 1664].join(", ")
        ),
        &catalog()
    )
    .is_ok());
}

/// A translation cache that learned a cone of one radius does not serve another radius
/// unchecked: a radius over 90 degrees is refused, as a fresh translation refuses it.
#[test]
fn the_cache_checks_each_radius_again() {
    let cache = adql::TranslationCache::new(4);
    let cone = |ra: &str, radius: &str| {
        format!(
            "SELECT exp_id FROM obsportal.exposures \
             WHERE CONTAINS(POINT(target_ra, target_dec), CIRCLE({ra}, 20, -({radius}))) = 1"
        )
    };
    cache
        .translate_with_parameters(&cone("10", "-1"), &catalog())
        .unwrap();
    cache
        .translate_with_parameters(&cone("11", "-1"), &catalog())
        .unwrap();
    assert_eq!(
        cache.hits(),
        1,
        "another centre with the same radius is served"
    );
    let error = cache
        .translate_with_parameters(&cone("12", "-120"), &catalog())
        .unwrap_err();
    assert!(error.message.contains("radius"), "{error}");
}
