//! The checked query: only what ADQL allows, names already resolved against the catalog.
//! PostgreSQL SQL is printed from these types and nothing else.

use std::rc::Rc;

use crate::catalog::ColumnType;
use crate::functions::Function;
use crate::parameters::Literal;

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Query {
    pub with: Vec<CommonTable>,
    pub body: Body,
    pub order_by: Vec<OrderItem>,
    pub offset: Option<u64>,
    /// What the query returns, in order.
    pub columns: Vec<Output>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CommonTable {
    pub name: String,
    pub query: Query,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Body {
    Select(Box<Select>),
    SetOperation {
        operator: SetOperator,
        all: bool,
        left: Box<Body>,
        right: Box<Body>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum SetOperator {
    Union,
    Intersect,
    Except,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Select {
    pub distinct: bool,
    pub top: Option<u64>,
    pub items: Vec<SelectItem>,
    pub from: Vec<FromItem>,
    pub filter: Option<Expr>,
    pub group_by: Vec<Expr>,
    pub having: Option<Expr>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SelectItem {
    /// `*`, expanded to the columns it stands for.
    Columns(Vec<ColumnRef>),
    Expr {
        expr: Expr,
        alias: Option<String>,
    },
}

/// A column of a table in scope, as printed: `"qualifier"."name"`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ColumnRef {
    /// Shared by every column of its table (a `*` expands to many).
    pub qualifier: Option<Rc<Qualifier>>,
    pub name: String,
    /// A pg_sphere value: returned to the client in DALI form, not as is.
    pub geometry: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Qualifier {
    /// A table in a schema, not aliased: `"schema"."table"`.
    Table { schema: String, table: String },
    /// An alias, a common table or a derived table.
    Name(String),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum FromItem {
    Table {
        schema: String,
        name: String,
        alias: Option<String>,
    },
    CommonTable {
        name: String,
        alias: Option<String>,
    },
    Subquery {
        query: Box<Query>,
        alias: String,
    },
    /// A parenthesised join.
    Nested(Box<FromItem>),
    Join {
        left: Box<FromItem>,
        right: Box<FromItem>,
        kind: JoinKind,
        natural: bool,
        constraint: JoinConstraint,
    },
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum JoinKind {
    Inner,
    Left,
    Right,
    Full,
    Cross,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum JoinConstraint {
    None,
    On(Expr),
    Using(Vec<String>),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OrderItem {
    pub expr: Expr,
    pub descending: bool,
    /// Rows without a value after the others whatever the direction: not ADQL (whose order
    /// puts them first when descending, as PostgreSQL does), only asked by a built query.
    pub missing_last: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Output {
    pub name: String,
    pub source: Option<(String, String)>,
    pub kind: ColumnType,
    pub unit: Option<String>,
    /// DALI xtype of geometry values: point, circle, polygon.
    pub xtype: Option<&'static str>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    Column(ColumnRef),
    /// An output column referred to by its alias or position (ORDER BY).
    OutputAlias(String),
    Number(String),
    /// A number taken out as the `$n` parameter of a prepared statement (see `parameters`).
    Parameter(usize, Literal),
    String(String),
    Null,
    Negate(Box<Expr>),
    Not(Box<Expr>),
    Binary {
        operator: BinaryOperator,
        left: Box<Expr>,
        right: Box<Expr>,
    },
    IsNull {
        expr: Box<Expr>,
        negated: bool,
    },
    Between {
        expr: Box<Expr>,
        negated: bool,
        low: Box<Expr>,
        high: Box<Expr>,
    },
    InList {
        expr: Box<Expr>,
        negated: bool,
        list: Vec<Expr>,
    },
    InQuery {
        expr: Box<Expr>,
        negated: bool,
        query: Box<Query>,
    },
    Exists {
        negated: bool,
        query: Box<Query>,
    },
    Subquery(Box<Query>),
    Like {
        expr: Box<Expr>,
        negated: bool,
        pattern: Box<Expr>,
        case_insensitive: bool,
    },
    Call {
        function: Function,
        arguments: Vec<Expr>,
        distinct: bool,
    },
    CountAll,
    Cast {
        expr: Box<Expr>,
        target: CastTarget,
    },
    /// IN_UNIT: the value times the factor from its unit to `unit`.
    InUnit {
        expr: Box<Expr>,
        factor: f64,
        unit: String,
    },
    Nested(Box<Expr>),
}

impl Expr {
    /// The value of a number written as such (`1.5`, `-1`, `(2)`); None for anything else.
    pub(crate) fn constant_number(&self) -> Option<f64> {
        match self {
            Expr::Number(text) => text.parse().ok(),
            Expr::Negate(inner) => inner.constant_number().map(|value| -value),
            Expr::Nested(inner) => inner.constant_number(),
            _ => None,
        }
    }
}

/// Whether a number literal is whole (it fits a bigint); any other number (a point, an
/// exponent, or too large) ADQL reads as a double.
pub(crate) fn is_whole_number(number: &str) -> bool {
    number.parse::<i64>().is_ok()
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum BinaryOperator {
    Plus,
    Minus,
    Multiply,
    Divide,
    Concat,
    Equal,
    NotEqual,
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
    And,
    Or,
}

/// ADQL 2.1 CAST targets.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum CastTarget {
    SmallInt,
    Integer,
    BigInt,
    Real,
    DoublePrecision,
    Char(Option<u64>),
    VarChar(Option<u64>),
    Timestamp,
}
