//! Translations reused by queries that differ only in their numbers.
//!
//! A TAP client following one star after another sends the same query around other
//! coordinates. Parsing and checking it again cost a sixth of the server's time per cone
//! search, and the answer is already known: the same SQL with other parameters.
//!
//! A query's *shape* is its text with each number replaced by its kind (integer, bigint,
//! double): everything else must be the same bytes. The first
//! query of a shape is translated as usual, then once more per number with only that number
//! changed (a probe). A number whose change changes one parameter's value and nothing else
//! fills that parameter (negated after a minus: `-20` is one parameter); one that changes
//! nothing is ignored (RAND's seed). Any other number (an ORDER BY position, TOP, the `1` of
//! `CONTAINS(...) = 1`, two equal numbers sharing a parameter) is fixed: the template applies
//! only to queries that write it the same. A fresh translation gives equal numbers one
//! parameter, so a query whose parameters would repeat a value is translated afresh too.
//!
//! A query is only ever served what a fresh translation would give it: the probes decide from
//! the translator's own answers, and errors are never kept (a refused query is checked again).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::catalog::Catalog;
use crate::error::AdqlError;
use crate::parameters::Literal;
use crate::{translate_noting_checked_values, translate_with_parameters, Translation};

/// Queries with more numbers than this are translated each time: learning a shape costs one
/// translation per number.
const MAX_NUMBERS: usize = 16;

/// Longer queries are translated each time: a shape's key is the whole text.
const MAX_TEXT_BYTES: usize = 16 * 1024;

/// Templates by shape, for one catalog. Shared by all requests; when full, it starts afresh.
pub struct TranslationCache {
    templates: Mutex<HashMap<String, Arc<Template>>>,
    capacity: usize,
    hits: AtomicU64,
}

struct Template {
    translation: Translation,
    /// One per number of the shape, in text order.
    numbers: Vec<Role>,
}

#[derive(Debug, PartialEq)]
enum Role {
    Parameter { index: usize, negated: bool },
    Ignored,
    Fixed(String),
}

/// A query's text with its numbers located.
struct Shape<'t> {
    key: String,
    numbers: Vec<Number<'t>>,
}

struct Number<'t> {
    text: &'t str,
    /// What the text reads as.
    literal: Literal,
    /// Byte range in the query text.
    start: usize,
    end: usize,
}

impl TranslationCache {
    /// A cache of at most `capacity` shapes. Use one per catalog: templates are not checked
    /// against the catalog again.
    pub fn new(capacity: usize) -> TranslationCache {
        TranslationCache {
            templates: Mutex::new(HashMap::new()),
            capacity,
            hits: AtomicU64::new(0),
        }
    }

    /// How many queries a template has served.
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    /// As `crate::translate_with_parameters`, reusing the translation of an earlier query of
    /// the same shape.
    pub fn translate_with_parameters(
        &self,
        text: &str,
        catalog: &dyn Catalog,
    ) -> Result<Translation, AdqlError> {
        let Some(shape) = Shape::of(text) else {
            return translate_with_parameters(text, catalog);
        };
        let known = self.templates().get(&shape.key).cloned();
        if let Some(translation) = known.and_then(|template| template.apply(&shape)) {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(translation);
        }
        let (translation, value_checked) = translate_noting_checked_values(text, catalog)?;
        let template = Template::learn(text, &shape, &translation, &value_checked, catalog);
        let mut templates = self.templates();
        if templates.len() >= self.capacity {
            templates.clear();
        }
        templates.insert(shape.key, Arc::new(template));
        Ok(translation)
    }

    fn templates(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Template>>> {
        // A panic while holding the lock leaves a map that is still whole.
        self.templates
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl<'t> Shape<'t> {
    /// None when the query is too long or has too many numbers.
    ///
    /// The scan need not find numbers exactly as the tokenizer does: whatever it takes for one
    /// is probed like a number. Digits in a string change the SQL (fixed), digits in a comment
    /// change nothing (ignored), and a part of a larger number changes its parameter to a value
    /// of another kind (fixed). Strings, names and comments are skipped only to probe less.
    fn of(text: &'t str) -> Option<Shape<'t>> {
        if text.len() > MAX_TEXT_BYTES || text.contains(KIND_MARKS) {
            return None; // its key could read as another query's
        }
        let bytes = text.as_bytes();
        let mut numbers = Vec::new();
        let mut key = String::with_capacity(text.len());
        let (mut at, mut copied) = (0, 0);
        while at < bytes.len() {
            let skip_to = |at: usize, end: fn(u8) -> bool| {
                at + bytes[at..]
                    .iter()
                    .position(|&b| end(b))
                    .unwrap_or(bytes.len() - at)
            };
            at = match bytes[at] {
                b'\'' => skip_to(at + 1, |b| b == b'\'') + 1,
                b'"' => skip_to(at + 1, |b| b == b'"') + 1,
                b'-' if bytes.get(at + 1) == Some(&b'-') => skip_to(at, |b| b == b'\n'),
                b if b.is_ascii_alphabetic() || b == b'_' => {
                    skip_to(at, |b| !(b.is_ascii_alphanumeric() || b == b'_'))
                }
                b if b.is_ascii_digit() => {
                    let end = number_end(bytes, at);
                    let written = &text[at..end];
                    if let Some(literal) = Literal::of(written) {
                        key.push_str(&text[copied..at]);
                        key.push(kind_mark(literal));
                        copied = end;
                        numbers.push(Number {
                            text: written,
                            literal,
                            start: at,
                            end,
                        });
                    }
                    end
                }
                _ => at + 1,
            };
        }
        key.push_str(&text[copied..]);
        (numbers.len() <= MAX_NUMBERS).then_some(Shape { key, numbers })
    }

    /// The query's text with number `index` written as `replacement`.
    fn with_number(&self, text: &str, index: usize, replacement: &str) -> String {
        let number = &self.numbers[index];
        format!(
            "{}{replacement}{}",
            &text[..number.start],
            &text[number.end..]
        )
    }
}

/// Where a number was, by kind, in a shape's key. A text that contains one is not cached.
const KIND_MARKS: [char; 3] = ['\u{1}', '\u{2}', '\u{3}'];

fn kind_mark(literal: Literal) -> char {
    match literal {
        Literal::Int4(_) => KIND_MARKS[0],
        Literal::Int8(_) => KIND_MARKS[1],
        Literal::Float8(_) => KIND_MARKS[2],
    }
}

impl Template {
    fn learn(
        text: &str,
        shape: &Shape<'_>,
        translation: &Translation,
        value_checked: &[(u64, u64)],
        catalog: &dyn Catalog,
    ) -> Template {
        let numbers = (0..shape.numbers.len())
            .map(|index| {
                // A value the checker judged (a CIRCLE's radius) is checked for each query.
                if value_checked.contains(&line_and_column(text, shape.numbers[index].start)) {
                    Role::Fixed(shape.numbers[index].text.to_string())
                } else {
                    Self::role(text, shape, index, translation, catalog)
                }
            })
            .collect();
        Template {
            translation: translation.clone(),
            numbers,
        }
    }

    /// What number `index` does, found by translating the query with only that number changed.
    fn role(
        text: &str,
        shape: &Shape<'_>,
        index: usize,
        translation: &Translation,
        catalog: &dyn Catalog,
    ) -> Role {
        let number = &shape.numbers[index];
        let fixed = Role::Fixed(number.text.to_string());
        let Some(probe) = other_value(number.literal) else {
            return fixed;
        };
        let Ok(probed) =
            translate_with_parameters(&shape.with_number(text, index, &probe.0), catalog)
        else {
            return fixed;
        };
        if probed.sql != translation.sql
            || probed.columns != translation.columns
            || probed.parameters.len() != translation.parameters.len()
        {
            return fixed;
        }
        let changed: Vec<usize> = (0..translation.parameters.len())
            .filter(|&i| !probed.parameters[i].same_as(translation.parameters[i]))
            .collect();
        match changed[..] {
            [] => Role::Ignored,
            [i] if probed.parameters[i].same_as(probe.1) => Role::Parameter {
                index: i,
                negated: false,
            },
            [i] if probed.parameters[i].same_as(probe.1.negated()) => Role::Parameter {
                index: i,
                negated: true,
            },
            _ => fixed,
        }
    }

    /// The translation of a query of this shape, if the template gives the same as a fresh one.
    fn apply(&self, shape: &Shape<'_>) -> Option<Translation> {
        let mut parameters = self.translation.parameters.clone();
        for (role, number) in self.numbers.iter().zip(&shape.numbers) {
            match role {
                Role::Fixed(written) if written != number.text => return None,
                Role::Fixed(_) | Role::Ignored => {}
                &Role::Parameter { index, negated } => {
                    let literal = number.literal;
                    parameters[index] = if negated { literal.negated() } else { literal };
                }
            }
        }
        let repeats = parameters
            .iter()
            .enumerate()
            .any(|(i, p)| parameters[..i].iter().any(|q| q.same_as(*p)));
        if repeats {
            return None;
        }
        Some(Translation {
            parameters,
            ..self.translation.clone()
        })
    }
}

/// Where byte `offset` of `text` is, as the checker counts: from 1, in characters.
fn line_and_column(text: &str, offset: usize) -> (u64, u64) {
    let before = &text[..offset];
    let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
    (
        before.matches('\n').count() as u64 + 1,
        before[line_start..].chars().count() as u64 + 1,
    )
}

/// Another value of the same kind as `literal`, as text and as the literal it reads as.
fn other_value(literal: Literal) -> Option<(String, Literal)> {
    let text = match literal {
        Literal::Int4(value) => value.checked_add(7919).unwrap_or(value - 7919).to_string(),
        Literal::Int8(value) => value.checked_add(7919).unwrap_or(value - 7919).to_string(),
        Literal::Float8(value) => format!("{:?}", value * 1.5 + 0.7),
    };
    let other = Literal::of(&text)?;
    (kind_mark(other) == kind_mark(literal)).then_some((text, other))
}

/// Where the number starting at `start` ends: digits and points, then an exponent.
fn number_end(bytes: &[u8], start: usize) -> usize {
    let digits_from = |at: usize| {
        at + bytes[at..]
            .iter()
            .position(|b| !(b.is_ascii_digit() || *b == b'.'))
            .unwrap_or(bytes.len() - at)
    };
    let end = digits_from(start);
    let signed = matches!(bytes.get(end + 1), Some(b'+' | b'-'));
    let exponent_digit = end + 1 + usize::from(signed);
    if matches!(bytes.get(end), Some(b'e' | b'E'))
        && bytes.get(exponent_digit).is_some_and(u8::is_ascii_digit)
    {
        digits_from(exponent_digit)
    } else {
        end
    }
}
