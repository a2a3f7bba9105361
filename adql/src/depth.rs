//! How deep a query's tree can grow, read off its tokens before anything recursive runs.
//!
//! sqlparser reads an operator chain (`1+1+...`, `a OR b OR ...`, `... UNION ...`) in a loop,
//! but builds it as a left-deep tree, and every later pass walks that tree recursively: its
//! own span computation, the checker, the printer, even dropping it. 2,500 `+` overflowed the
//! stack and aborted the whole server. Counting parentheses is not enough: a chain nests
//! without them. So the tokens are measured first, and a query whose tree could be deeper than
//! `MAX_DEPTH` never becomes a tree.
//!
//! The measure is an upper bound of the tree's depth: within one bracketed group, an
//! expression between commas (or CASE's WHEN/THEN/ELSE) is at most as deep as the operators in
//! it, plus the deepest group inside it; set operations and joins chain the group's whole body.
//! Every token that is not a name, a literal or punctuation counts as an operator, so the bound
//! errs on the safe side.

use sqlparser::keywords::Keyword;
use sqlparser::tokenizer::{Token, TokenWithSpan};

use crate::error::{AdqlError, ErrorKind};

/// The deepest tree a query may have: operators in one chain plus brackets around them.
/// Astronomers' queries stay far below it (an ASPRO2 cone is 6 deep); `STACK_NEEDED` is what
/// the deepest one takes.
pub(crate) const MAX_DEPTH: usize = 200;

/// Brackets (calls, subqueries, CASE) inside one another: each level of a subquery costs the
/// recursive passes several frames.
const MAX_NESTING: usize = 64;

/// sqlparser's own bound on its recursion, which `MAX_DEPTH` keeps it under: it recurses a few
/// times per level of the tree.
pub(crate) const PARSER_RECURSION: usize = 4 * MAX_DEPTH;

/// One bracketed group (parentheses, CASE ... END) being read.
#[derive(Default)]
struct Group {
    /// Operators in the expression being read (since the last comma or CASE arm).
    operators: usize,
    /// The deepest group closed inside that expression.
    deepest_inside: usize,
    /// Set operations and joins: they chain the group's whole body, across commas.
    chained: usize,
    /// The deepest expression already finished in this group.
    deepest_finished: usize,
}

impl Group {
    fn finish_expression(&mut self) {
        self.deepest_finished = self
            .deepest_finished
            .max(self.operators + self.deepest_inside);
        self.operators = 0;
        self.deepest_inside = 0;
    }

    /// How deep this group's tree is, with a still open group of `open_inside` levels in its
    /// current expression (0 once it is closed).
    fn depth(&self, open_inside: usize) -> usize {
        let current = self.operators + self.deepest_inside.max(open_inside);
        self.chained + self.deepest_finished.max(current) + 1
    }
}

/// Refuses a query whose tree could be deeper than `MAX_DEPTH`, or whose brackets nest deeper than
/// `MAX_NESTING`, at the token where it gets there.
pub(crate) fn check_depth(tokens: &[TokenWithSpan]) -> Result<(), AdqlError> {
    let mut groups = vec![Group::default()];
    for token in tokens {
        match &token.token {
            Token::LParen | Token::LBracket => groups.push(Group::default()),
            Token::Word(word) if word.keyword == Keyword::CASE => groups.push(Group::default()),
            Token::RParen | Token::RBracket => close_group(&mut groups),
            Token::Word(word) if word.keyword == Keyword::END => close_group(&mut groups),
            Token::Comma => current(&mut groups).finish_expression(),
            Token::Word(word) => match word.keyword {
                Keyword::WHEN | Keyword::THEN | Keyword::ELSE => {
                    current(&mut groups).finish_expression()
                }
                Keyword::UNION | Keyword::INTERSECT | Keyword::EXCEPT | Keyword::JOIN => {
                    current(&mut groups).chained += 1
                }
                Keyword::AND
                | Keyword::OR
                | Keyword::NOT
                | Keyword::IS
                | Keyword::BETWEEN
                | Keyword::LIKE
                | Keyword::ILIKE
                | Keyword::IN
                | Keyword::EXISTS
                | Keyword::ESCAPE
                | Keyword::COLLATE => current(&mut groups).operators += 1,
                _ => continue,
            },
            Token::Number(..) | Token::Period | Token::SemiColon | Token::EOF => continue,
            Token::Whitespace(_) => continue,
            token if is_literal(token) => continue,
            _ => current(&mut groups).operators += 1,
        }
        if groups.len() > MAX_NESTING + 1 {
            return Err(AdqlError::new(
                ErrorKind::Unsupported,
                format!("the query is nested more than {MAX_NESTING} levels deep"),
                (token.span.start.line, token.span.start.column),
            )
            .with_hint("fewer nested brackets, calls, subqueries and CASEs"));
        }
        if depth_so_far(&groups) > MAX_DEPTH {
            return Err(too_deep(token));
        }
    }
    Ok(())
}

/// The group being read. The outermost one is never closed: an unmatched `)` is the parser's
/// to report.
fn current(groups: &mut [Group]) -> &mut Group {
    groups.last_mut().expect("the outermost group stays")
}

fn close_group(groups: &mut Vec<Group>) {
    if groups.len() > 1 {
        let closed = groups.pop().expect("more than one group");
        let inside = &mut current(groups).deepest_inside;
        *inside = (*inside).max(closed.depth(0));
    }
}

/// How deep the tree would be if every open group closed now. It only grows as tokens are
/// read, and after the last one it is the bound for the whole query.
fn depth_so_far(groups: &[Group]) -> usize {
    groups
        .iter()
        .rev()
        .fold(0, |open_inside, group| group.depth(open_inside))
}

fn is_literal(token: &Token) -> bool {
    matches!(
        token,
        Token::SingleQuotedString(_)
            | Token::DoubleQuotedString(_)
            | Token::NationalStringLiteral(_)
            | Token::EscapedStringLiteral(_)
            | Token::UnicodeStringLiteral(_)
            | Token::HexStringLiteral(_)
    )
}

/// Says which limit was met and how such a query is written within it.
fn too_deep(token: &TokenWithSpan) -> AdqlError {
    let hint = match &token.token {
        Token::Word(word) if matches!(word.keyword, Keyword::OR) => {
            "a long chain of OR comparing one column with many values reads better as column IN (value, value, ...)"
        }
        Token::Word(word) if matches!(word.keyword, Keyword::AND) => {
            "split the conditions into several queries, or compare with IN (...) or BETWEEN"
        }
        Token::Word(word)
            if matches!(
                word.keyword,
                Keyword::UNION | Keyword::INTERSECT | Keyword::EXCEPT
            ) =>
        {
            "send the parts as separate queries, or select the values with IN (...) in one query"
        }
        Token::Word(word) if matches!(word.keyword, Keyword::JOIN) => {
            "join fewer tables in one query"
        }
        Token::Word(word) if matches!(word.keyword, Keyword::CASE | Keyword::END) => {
            "a CASE can have many WHEN arms instead of nesting another CASE in each"
        }
        Token::LParen | Token::RParen => "fewer nested brackets, calls and subqueries",
        _ => "split the expression into parts computed as separate columns, or as several queries",
    };
    AdqlError::new(
        ErrorKind::Unsupported,
        format!("the query is nested too deeply: more than {MAX_DEPTH} operators and brackets inside one another"),
        (token.span.start.line, token.span.start.column),
    )
    .with_hint(hint)
}
