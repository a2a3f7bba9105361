//! ADQL's lexical rules for sqlparser, and parsing with errors that carry positions as fields.

use sqlparser::ast::{Expr, Statement};
use sqlparser::dialect::Dialect;
use sqlparser::keywords::Keyword;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::{Token, Tokenizer};

use crate::error::{AdqlError, ErrorKind};

/// ADQL 2.1 lexical rules: regular identifiers are ASCII letters, digits and underscores
/// starting with a letter; delimited identifiers use double quotes; strings single quotes.
#[derive(Debug, Default)]
pub(crate) struct AdqlDialect;

impl Dialect for AdqlDialect {
    fn is_identifier_start(&self, ch: char) -> bool {
        ch.is_ascii_alphabetic()
    }

    fn is_identifier_part(&self, ch: char) -> bool {
        ch.is_ascii_alphanumeric() || ch == '_'
    }

    fn is_delimited_identifier_start(&self, ch: char) -> bool {
        ch == '"'
    }

    /// Names, numbers and strings read directly. sqlparser first tries every expression as a
    /// typed literal (`DATE '2020-05-20'`), and for each name or number that is not one it
    /// builds and formats an error before reading it plainly: a third of the time it took to
    /// parse a cone search. A name followed by `(` (a function) or a string, and keywords, go
    /// the long way as before; what follows a name (`.column`, operators) sqlparser reads next.
    fn parse_prefix(&self, parser: &mut Parser) -> Option<Result<Expr, ParserError>> {
        match &parser.peek_token_ref().token {
            Token::Number(..) | Token::SingleQuotedString(_) => {
                Some(parser.parse_value().map(Expr::Value))
            }
            Token::Word(word) if word.keyword == Keyword::NoKeyword => {
                let plain_name = !matches!(
                    parser.peek_nth_token_ref(1).token,
                    Token::LParen
                        | Token::SingleQuotedString(_)
                        | Token::DoubleQuotedString(_)
                        | Token::NationalStringLiteral(_)
                        | Token::HexStringLiteral(_)
                );
                if !plain_name {
                    return None;
                }
                let token = parser.next_token();
                let Token::Word(word) = token.token else {
                    unreachable!("peeked a word")
                };
                Some(Ok(Expr::Identifier(word.into_ident(token.span))))
            }
            _ => None,
        }
    }
}

/// Parses exactly one query.
pub(crate) fn parse(text: &str) -> Result<Statement, AdqlError> {
    let dialect = AdqlDialect;
    check_characters(text)?;
    let tokens = Tokenizer::new(&dialect, text)
        .tokenize_with_location()
        .map_err(|error| positioned(ErrorKind::Syntax, &error.to_string()))?;
    let first = tokens
        .iter()
        .find(|t| !matches!(t.token, Token::Whitespace(_)));
    if let Some(first) = first {
        let starts_a_query = match &first.token {
            Token::Word(word) => ["SELECT", "WITH"]
                .iter()
                .any(|k| word.value.eq_ignore_ascii_case(k)),
            Token::LParen => true,
            _ => false,
        };
        if !starts_a_query {
            let written = first.token.to_string();
            let hint = if crate::hints::edit_distance(&written.to_ascii_uppercase(), "SELECT") <= 2
            {
                "did you mean SELECT?"
            } else {
                "ADQL reads; it never changes data"
            };
            return Err(AdqlError::new(
                ErrorKind::Unsupported,
                format!("an ADQL query starts with SELECT (or WITH), not {written}"),
                (first.span.start.line, first.span.start.column),
            )
            .with_hint(hint));
        }
    }
    let mut after_semicolon: Option<(u64, u64)> = None;
    for token in &tokens {
        let at = (token.span.start.line, token.span.start.column);
        if let Token::Word(word) = &token.token {
            if word.quote_style.is_some() && word.value.is_empty() {
                return Err(AdqlError::new(
                    ErrorKind::Syntax,
                    "a delimited name cannot be empty",
                    at,
                )
                .with_hint("write a name between the double quotes, or leave them out"));
            }
        }
        match token.token {
            Token::SemiColon => {
                after_semicolon.get_or_insert(at);
                continue;
            }
            Token::Whitespace(_) => continue,
            _ => {}
        }
        if let Some(semicolon) = after_semicolon {
            return Err(AdqlError::new(
                ErrorKind::Syntax,
                "only one query can be sent at a time",
                semicolon,
            )
            .with_hint("remove the ';' and what follows it"));
        }
    }
    // Before anything recursive builds or walks a tree: see `depth`.
    crate::depth::check_depth(&tokens)?;
    let mut statements = Parser::new(&dialect)
        .with_recursion_limit(crate::depth::PARSER_RECURSION)
        .with_tokens_with_locations(tokens)
        .parse_statements()
        .map_err(|error| parser_error(&error, text))?;
    match statements.len() {
        0 => Err(
            AdqlError::new(ErrorKind::Syntax, "the query is empty", (1, 1))
                .with_hint("an ADQL query starts with SELECT"),
        ),
        1 => Ok(statements.remove(0)),
        _ => {
            let second = sqlparser::ast::Spanned::span(&statements[1]).start;
            Err(AdqlError::new(
                ErrorKind::Syntax,
                "only one query can be sent at a time",
                (second.line, second.column),
            )
            .with_hint("remove the ';' and what follows it"))
        }
    }
}

/// Typographic quotes pasted from documents are the most common reason a query fails; a NUL
/// character is refused here too, wherever it is.
fn check_characters(text: &str) -> Result<(), AdqlError> {
    for (line_index, line) in text.lines().enumerate() {
        for (column_index, character) in line.chars().enumerate() {
            let hint = match character {
                '‘' | '’' | '‚' | '′' => "use the plain quote ' around strings",
                '“' | '”' | '„' | '″' => {
                    "use the plain double quote \" around delimited names"
                }
                // PostgreSQL's text cannot hold it, and documents cannot show it.
                '\0' => "remove the NUL character (U+0000): no text in a query can carry it",
                _ => continue,
            };
            return Err(AdqlError::new(
                ErrorKind::Syntax,
                format!("unexpected character {character:?}"),
                (line_index as u64 + 1, column_index as u64 + 1),
            )
            .with_hint(hint));
        }
    }
    Ok(())
}

fn parser_error(error: &ParserError, text: &str) -> AdqlError {
    match error {
        // `depth` refuses what would get here first; sqlparser says no more than this.
        ParserError::RecursionLimitExceeded => AdqlError::new(
            ErrorKind::Unsupported,
            "the query is nested too deeply",
            (1, 1),
        ),
        ParserError::TokenizerError(message) | ParserError::ParserError(message) => {
            let mut error = positioned(ErrorKind::Syntax, message);
            if error.line == 0 {
                // sqlparser gives no position at the end of the text: that is where it is.
                let lines = text.trim_end().lines().count().max(1);
                let last = text.trim_end().lines().last().unwrap_or("");
                (error.line, error.column) = (lines as u64, last.chars().count() as u64 + 1);
                error.message = error
                    .message
                    .replace("found: EOF", "found the end of the query");
            }
            error
        }
    }
}

/// sqlparser writes positions into its messages ("... at Line: 2, Column: 7"): take them out
/// into fields, and say it in ADQL's words.
fn positioned(kind: ErrorKind, message: &str) -> AdqlError {
    let message = message.trim_start_matches("sql parser error: ");
    let (text, position) = match message.rfind(" at Line: ") {
        Some(at) => {
            let rest = &message[at + " at Line: ".len()..];
            let mut numbers = rest
                .split(", Column: ")
                .map(|n| n.trim().parse::<u64>().unwrap_or(0));
            (
                &message[..at],
                (numbers.next().unwrap_or(0), numbers.next().unwrap_or(0)),
            )
        }
        None => (message, (0, 0)),
    };
    let text = text.replace("sql parser error: ", "");
    AdqlError::new(kind, text, position)
}
