//! Errors a person can act on: what is wrong, where (line and column, from 1), and often a hint.
//! Positions are fields; the message is rendered here and nowhere else.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    /// The text is not ADQL grammar.
    Syntax,
    /// Grammatical, but not allowed or not supported here.
    Unsupported,
    UnknownTable,
    UnknownColumn,
    AmbiguousColumn,
    UnknownFunction,
    /// Wrong number or kind of arguments.
    BadArguments,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct AdqlError {
    pub kind: ErrorKind,
    pub message: String,
    /// From 1; 0 when the position is unknown.
    pub line: u64,
    pub column: u64,
    pub hint: Option<String>,
}

impl AdqlError {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>, position: (u64, u64)) -> Self {
        AdqlError {
            kind,
            message: message.into(),
            line: position.0,
            column: position.1,
            hint: None,
        }
    }

    pub(crate) fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for AdqlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "line {}, column {}: ", self.line, self.column)?;
        }
        f.write_str(&self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, " ({hint})")?;
        }
        Ok(())
    }
}
