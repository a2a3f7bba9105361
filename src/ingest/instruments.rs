//! How each instrument's mode and submode are read from its headers: `schema/instruments.toml`.

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
    /// ARCFILE prefix, e.g. GRAVI for GRAVI.2020-01-09T03:34:07.546.fits.
    pub(crate) arcfile_prefix: String,
    #[serde(default = "vlti")]
    pub(crate) interferometer: String,
    /// Template naming the mode from header keywords.
    pub(crate) mode: String,
    #[serde(default)]
    pub(crate) submode: Option<String>,
    #[serde(default)]
    pub(crate) submodes: Vec<String>,
    pub(crate) modes: Vec<Mode>,
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
}

fn vlti() -> String {
    "VLTI".into()
}

impl Instruments {
    /// The embedded rules; a parse error is a build bug that the unit test below catches.
    pub(crate) fn load() -> Self {
        toml::from_str(INSTRUMENTS_TOML)
            .unwrap_or_else(|error| panic!("schema/instruments.toml: {error}"))
    }

    pub(crate) fn get(&self, name: &str) -> Option<&Instrument> {
        self.list.iter().find(|instrument| instrument.name == name)
    }
}

impl Instrument {
    pub(crate) fn mode_info(&self, name: &str) -> Option<&Mode> {
        self.modes.iter().find(|mode| mode.name == name)
    }
}

/// A template's placeholder: keyword name and, for `KEY[n]`, the 1-based comma-separated part.
pub(crate) struct Placeholder<'a> {
    pub(crate) key: &'a str,
    pub(crate) part: Option<usize>,
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
        let placeholder = match inner.strip_suffix(']').and_then(|s| s.split_once('[')) {
            Some((key, part)) => Placeholder {
                key,
                part: Some(part.parse().expect("part index")),
            },
            None => Placeholder {
                key: inner,
                part: None,
            },
        };
        each(Err(placeholder));
        rest = &rest[close + 1..];
    }
    each(Ok(rest));
}

/// Fills a template from a header; `Err` lists the keywords it lacks.
pub(crate) fn render_template(template: &str, header: &Header) -> Result<String, Vec<String>> {
    let mut out = String::new();
    let mut missing = Vec::new();
    walk_template(template, |piece| match piece {
        Ok(literal) => out.push_str(literal),
        Err(Placeholder { key, part }) => {
            let value = header.text(key).and_then(|text| match part {
                Some(n) => text
                    .split(',')
                    .nth(n - 1)
                    .map(str::trim)
                    .filter(|p| !p.is_empty()),
                None => Some(text),
            });
            match value {
                Some(value) => out.push_str(value),
                None => missing.push(key.to_string()),
            }
        }
    });
    if missing.is_empty() {
        Ok(out)
    } else {
        Err(missing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Map, Value};

    #[test]
    fn each_mode_is_named_back_from_its_own_keywords() {
        let instruments = Instruments::load();
        assert_eq!(instruments.list.len(), 5);
        for instrument in &instruments.list {
            for mode in &instrument.modes {
                let keywords: Map<String, Value> = mode
                    .keywords
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                    .collect();
                let header = Header {
                    keywords,
                    first_card: 1,
                    end_card: 2,
                };
                assert_eq!(
                    render_template(&instrument.mode, &header).as_deref(),
                    Ok(mode.name.as_str())
                );
                assert!(
                    mode.em_min < mode.em_max,
                    "{} {}",
                    instrument.name,
                    mode.name
                );
            }
        }
    }

    #[test]
    fn comma_parts_and_missing_keywords() {
        let mut keywords = Map::new();
        keywords.insert(
            "HIERARCH ESO DPR TYPE".into(),
            Value::String("OBJECT,DUAL".into()),
        );
        let header = Header {
            keywords,
            first_card: 1,
            end_card: 2,
        };
        assert_eq!(
            render_template("{HIERARCH ESO DPR TYPE[2]}", &header).as_deref(),
            Ok("DUAL")
        );
        assert_eq!(
            render_template("{A}-{HIERARCH ESO DPR TYPE[1]}-{B}", &header),
            Err(vec!["A".to_string(), "B".to_string()])
        );
    }
}
