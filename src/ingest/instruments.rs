//! How each instrument's exposures are read from its headers: `schema/instruments.toml`, whose
//! header comment says what each part of the rules means.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::fits::Header;

const INSTRUMENTS_TOML: &str = include_str!("../../schema/instruments.toml");

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Instruments {
    #[serde(rename = "instrument")]
    pub(crate) list: Vec<Instrument>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Instrument {
    pub(crate) name: String,
    /// Other INSTRUME values its raw headers carry (MIRC-X and MYSTIC are MIRCX-MYSTIC).
    #[serde(default)]
    names: Vec<String>,
    /// How its raw headers differ from ESO's (`chara_raw`).
    #[serde(default)]
    pub(crate) dialect: Dialect,
    /// ARCFILE prefix, e.g. GRAVI for GRAVI.2020-01-09T03:34:07.546.fits.
    pub(crate) arcfile_prefix: String,
    #[serde(default = "vlti")]
    pub(crate) interferometer: String,
    /// DPR TECH values of its fringe exposures.
    #[serde(default = "interferometry")]
    pub(crate) techniques: Vec<String>,
    /// Where the integration time comes from, most trusted first: `KEY` or `NDIT * DIT`.
    pub(crate) duration: Vec<String>,
    /// How long its data stay the observers' alone: ESO's year, CHARA's 18 months.
    #[serde(default = "a_year")]
    pub(crate) proprietary_months: u32,
    pub(crate) mode_rule: Vec<Rule>,
    #[serde(default)]
    pub(crate) submode_rule: Vec<Rule>,
    /// Named tables of keyword values, for `{KEY|TABLE}` in rule templates.
    #[serde(default)]
    pub(crate) values: BTreeMap<String, BTreeMap<String, String>>,
    pub(crate) modes: Vec<Mode>,
    #[serde(default)]
    pub(crate) submodes: Vec<Submode>,
}

/// How an instrument's raw headers are written.
#[derive(Debug, Default, Clone, Copy, PartialEq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Dialect {
    /// ESO's keywords (and the keywords CHARA's log reader writes).
    #[default]
    Eso,
    /// The MIRC-X/MYSTIC pipeline's keywords.
    Mircx,
    /// ESO's hierarchical keywords without `ESO` (SPICA).
    Hierarch,
}

/// When `when` holds, `name` (a template) names the mode or submode.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Rule {
    #[serde(default)]
    when: BTreeMap<String, Patterns>,
    name: String,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Patterns {
    One(String),
    Any(Vec<String>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Mode {
    pub(crate) name: String,
    pub(crate) em_min: f64,
    pub(crate) em_max: f64,
    pub(crate) res_power: f64,
    /// Header values that give this mode (used by the demo generator; checked by a test).
    pub(crate) keywords: BTreeMap<String, String>,
    /// The years the mode was offered, when not the instrument's whole career (demo data).
    #[serde(default)]
    pub(crate) years: Option<[f64; 2]>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Submode {
    pub(crate) name: String,
    pub(crate) keywords: BTreeMap<String, String>,
}

fn vlti() -> String {
    "VLTI".into()
}

fn a_year() -> u32 {
    12
}

fn interferometry() -> Vec<String> {
    vec!["INTERFEROMETRY".into()]
}

/// What the rules make of a header.
#[derive(Debug, PartialEq)]
pub(crate) enum Naming {
    Named(String),
    /// No rule applies (or there are none): nothing to say.
    NoRule,
    /// The rule that applies needs these keywords, which the header lacks.
    Missing(Vec<String>),
    /// The keywords are there but name nothing known: the message says which and why.
    Unknown(String),
}

impl Instruments {
    /// The embedded rules; a parse error is a build bug that the unit test below catches.
    pub(crate) fn load() -> Self {
        toml::from_str(INSTRUMENTS_TOML)
            .unwrap_or_else(|error| panic!("schema/instruments.toml: {error}"))
    }

    /// The instrument an INSTRUME value names.
    pub(crate) fn get(&self, name: &str) -> Option<&Instrument> {
        self.list.iter().find(|instrument| {
            instrument.name == name || instrument.names.iter().any(|n| n == name)
        })
    }
}

impl Instrument {
    pub(crate) fn mode_info(&self, name: &str) -> Option<&Mode> {
        self.modes.iter().find(|mode| mode.name == name)
    }

    /// ASPRO2's name of the header's mode, and nothing else: a name the rules build that is not
    /// one of `modes` is `Unknown`, never published.
    pub(crate) fn mode(&self, header: &Header) -> Naming {
        let known: Vec<&str> = self.modes.iter().map(|m| m.name.as_str()).collect();
        self.name_by(&self.mode_rule, "mode", &known, header)
    }

    pub(crate) fn submode(&self, header: &Header) -> Naming {
        let known: Vec<&str> = self.submodes.iter().map(|m| m.name.as_str()).collect();
        self.name_by(&self.submode_rule, "submode", &known, header)
    }

    fn name_by(&self, rules: &[Rule], what: &str, known: &[&str], header: &Header) -> Naming {
        let Some(rule) = rules.iter().find(|rule| rule.applies(header)) else {
            if rules.is_empty() || what == "submode" {
                return Naming::NoRule;
            }
            // Say what the conditions looked at, so the log shows why no rule applied.
            let looked_at: Vec<String> = rules
                .iter()
                .flat_map(|rule| rule.when.keys())
                .map(|key| shown(key, header))
                .collect();
            return Naming::Unknown(format!(
                "no ASPRO2 {what} of {} fits {}",
                self.name,
                looked_at.join(", ")
            ));
        };
        let mut name = String::new();
        let mut used = Vec::new();
        let mut missing = Vec::new();
        let mut unmapped = None;
        walk_template(&rule.name, |piece| match piece {
            Ok(literal) => name.push_str(literal),
            Err(Placeholder { key, filter }) => {
                let Some(value) = header.text(key).map(str::trim).filter(|v| !v.is_empty()) else {
                    missing.push(key.to_string());
                    return;
                };
                used.push(shown(key, header));
                let value = match filter {
                    None => Some(value),
                    Some(filter) => match filter.strip_prefix("after:") {
                        Some(separator) => value.split_once(separator).map(|(_, after)| after),
                        None => self
                            .values
                            .get(filter)
                            .unwrap_or_else(|| panic!("{}: no values.{filter}", self.name))
                            .iter()
                            .find(|(from, _)| from.eq_ignore_ascii_case(value))
                            .map(|(_, to)| to.as_str()),
                    },
                };
                match value {
                    Some(value) => name.push_str(value),
                    None => unmapped = Some(shown(key, header)),
                }
            }
        });
        if !missing.is_empty() {
            return Naming::Missing(missing);
        }
        if let Some(unmapped) = unmapped {
            return Naming::Unknown(format!(
                "{unmapped} names no ASPRO2 {what} of {}",
                self.name
            ));
        }
        match known.iter().find(|k| k.eq_ignore_ascii_case(&name)) {
            Some(known) => Naming::Named(known.to_string()),
            None => Naming::Unknown(format!(
                "{} give {name:?}, which is not an ASPRO2 {what} of {}",
                used.join(", "),
                self.name
            )),
        }
    }

    /// The integration time [s] from the first source in `duration` that the header has, and
    /// what it read; non-positive values (placeholders) are skipped.
    pub(crate) fn duration(&self, header: &Header) -> Option<f64> {
        self.duration.iter().find_map(|source| {
            let value = match source.split_once(" * ") {
                Some((count, each)) => header.number(count)? * header.number(each.trim())?,
                None => header.number(source)?,
            };
            (value > 0.0).then_some(value)
        })
    }
}

impl Rule {
    fn applies(&self, header: &Header) -> bool {
        self.when.iter().all(|(key, patterns)| {
            let Some(value) = header.text(key).map(str::trim) else {
                return false;
            };
            match patterns {
                Patterns::One(pattern) => matches_pattern(value, pattern),
                Patterns::Any(list) => list.iter().any(|p| matches_pattern(value, p)),
            }
        })
    }
}

/// `KEY = 'value'` or `KEY (absent)`, for validation messages.
fn shown(key: &str, header: &Header) -> String {
    match header.text(key) {
        Some(value) => format!("{key} = {:?}", value.trim()),
        None => format!("{key} (absent)"),
    }
}

/// A value against a pattern where `*` stands for any text; case does not matter.
fn matches_pattern(value: &str, pattern: &str) -> bool {
    let (value, pattern) = (value.to_ascii_uppercase(), pattern.to_ascii_uppercase());
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = value.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty(); // no `*`: the whole value
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.ends_with(last)
}

/// A template's placeholder: a keyword and, after `|`, a filter (a `values` table or `after:X`).
pub(crate) struct Placeholder<'a> {
    pub(crate) key: &'a str,
    pub(crate) filter: Option<&'a str>,
}

/// Splits a template into literal text and placeholders, calling `each` in order.
pub(crate) fn walk_template<'a>(
    template: &'a str,
    mut each: impl FnMut(Result<&'a str, Placeholder<'a>>),
) {
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let close = open
            + rest[open..]
                .find('}')
                .expect("templates close their braces");
        each(Ok(&rest[..open]));
        let inner = &rest[open + 1..close];
        let placeholder = match inner.split_once('|') {
            Some((key, filter)) => Placeholder {
                key,
                filter: Some(filter),
            },
            None => Placeholder {
                key: inner,
                filter: None,
            },
        };
        each(Err(placeholder));
        rest = &rest[close + 1..];
    }
    each(Ok(rest));
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Map, Value};

    fn header(pairs: &[(&str, &str)]) -> Header {
        let keywords: Map<String, Value> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
            .collect();
        Header {
            keywords,
            first_card: 1,
            end_card: 2,
        }
    }

    fn header_of(keywords: &BTreeMap<String, String>) -> Header {
        let pairs: Vec<(&str, &str)> = keywords
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        header(&pairs)
    }

    #[test]
    fn each_mode_and_submode_is_named_back_from_its_own_keywords() {
        let instruments = Instruments::load();
        // Five at the VLTI, nine at CHARA.
        assert_eq!(instruments.list.len(), 14);
        for instrument in &instruments.list {
            for mode in &instrument.modes {
                assert_eq!(
                    instrument.mode(&header_of(&mode.keywords)),
                    Naming::Named(mode.name.clone()),
                    "{}",
                    instrument.name
                );
                assert!(
                    mode.em_min < mode.em_max,
                    "{} {}",
                    instrument.name,
                    mode.name
                );
            }
            for submode in &instrument.submodes {
                assert_eq!(
                    instrument.submode(&header_of(&submode.keywords)),
                    Naming::Named(submode.name.clone())
                );
            }
        }
    }

    #[test]
    fn keywords_that_name_no_aspro2_mode_say_which_and_give_none() {
        let instruments = Instruments::load();
        let pionier = instruments.get("PIONIER").unwrap();
        let Naming::Unknown(message) = pionier.mode(&header(&[
            ("HIERARCH ESO INS OPTI2 NAME", "WOLL"),
            ("HIERARCH ESO INS FILT1 NAME", "H"),
        ])) else {
            panic!("a made-up mode")
        };
        assert!(
            message.contains("\"WOLL-H\"") && message.contains("OPTI2 NAME = \"WOLL\""),
            "{message}"
        );
        let matisse = instruments.get("MATISSE").unwrap();
        assert!(matches!(
            matisse.mode(&header(&[("HIERARCH ESO INS DIL NAME", "LOW")])),
            Naming::Unknown(message) if message.contains("DET NAME (absent)")
        ));
        let Naming::Unknown(message) = matisse.mode(&header(&[
            ("HIERARCH ESO DET NAME", "MATISSE-LM"),
            ("HIERARCH ESO INS FIL NAME", "LM"),
            ("HIERARCH ESO INS DIL NAME", "ULTRA"),
        ])) else {
            panic!("an unmapped value")
        };
        assert!(message.contains("ULTRA"), "{message}");
        assert_eq!(
            instruments.get("AMBER").unwrap().mode(&header(&[])),
            Naming::Missing(vec!["HIERARCH ESO INS MODE".to_string()])
        );
    }

    #[test]
    fn patterns_match_whole_values_with_stars_anywhere() {
        assert!(matches_pattern("OBJECT,SINGLE", "*,SINGLE*"));
        assert!(matches_pattern("gravity_single_obs_exp", "GRAVITY_single*"));
        assert!(!matches_pattern("OBJECT,DUAL", "*,SINGLE*"));
        assert!(matches_pattern("H", "H"));
        assert!(!matches_pattern("HK", "H"));
        assert!(matches_pattern("a-b-c", "a*c"));
        assert!(!matches_pattern("ab", "a*b*c"));
    }

    #[test]
    fn durations_come_from_the_first_source_the_header_has() {
        let instruments = Instruments::load();
        let gravity = instruments.get("GRAVITY").unwrap();
        let both = header(&[
            ("HIERARCH ESO DET2 NDIT", "12"),
            ("HIERARCH ESO DET2 SEQ1 DIT", "30."),
            ("EXPTIME", "5"),
        ]);
        assert_eq!(gravity.duration(&both), Some(360.0));
        assert_eq!(gravity.duration(&header(&[("EXPTIME", "5")])), Some(5.0));
        assert_eq!(gravity.duration(&header(&[("EXPTIME", "-1")])), None);
    }
}
