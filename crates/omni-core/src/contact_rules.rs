//! The contact rules language: conditions on what is known about a contact
//! (its enrichment, its customer, its channel, its conversation's
//! attributes), e.g. `intent == "refund" AND sentiment <= -0.5`. Routing
//! rules (`[[rules]] when`, docs/routing.md) are written in it.
//!
//! # Grammar
//!
//! ```text
//! expr    := or
//! or      := and ( OR and )*
//! and     := unary ( AND unary )*
//! unary   := NOT unary | primary
//! primary := "(" expr ")" | "true"
//!          | operand ( "==" | "!=" | "<=" | "<" | ">=" | ">" ) operand
//!          | FACT
//! operand := FACT | STRING | NUMBER
//! ```
//!
//! Keywords are case-insensitive. A fact name is letters, digits, `_`, `-`
//! and `.`, starting with a letter or `_`: `intent`, `sentiment` (-1..1),
//! `sentiment_label`, `lang` (the message's language), `tier` and
//! `customer.language` / `customer.tier` (the customer's), `channel`, and
//! any conversation attribute by its name (`order_number`). A number is
//! decimal with an optional sign and fraction (`-0.5`). A bare fact holds
//! when the fact is known and not empty.
//!
//! Facts are strings. A comparison is numeric when both sides read as
//! numbers, otherwise `==` and `!=` compare the strings and the ordering
//! operators do not hold. A comparison with an unknown fact does not hold,
//! whatever its operator: `lang != customer.language` is false while the
//! customer's language is unknown.

use std::collections::BTreeMap;
use std::fmt;

/// What is known about a contact, by fact name (see the module docs).
pub type Facts = BTreeMap<String, String>;

/// A parsed condition.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Condition {
    expr: Expr,
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<=`
    Le,
    /// `<`
    Lt,
    /// `>=`
    Ge,
    /// `>`
    Gt,
}

impl Op {
    fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "==",
            Op::Ne => "!=",
            Op::Le => "<=",
            Op::Lt => "<",
            Op::Ge => ">=",
            Op::Gt => ">",
        }
    }

    fn holds(self, ordering: std::cmp::Ordering) -> bool {
        use std::cmp::Ordering::{Equal, Greater, Less};
        match self {
            Op::Eq => ordering == Equal,
            Op::Ne => ordering != Equal,
            Op::Le => ordering != Greater,
            Op::Lt => ordering == Less,
            Op::Ge => ordering != Less,
            Op::Gt => ordering == Greater,
        }
    }
}

/// One side of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// A fact, by name.
    Fact(String),
    /// A quoted string.
    Str(String),
    /// A number.
    Num(f64),
}

/// The syntax tree of a condition.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Expr {
    /// Always holds.
    #[default]
    True,
    /// The fact is known and not empty.
    Known(String),
    /// `left OP right`.
    Compare {
        /// Left side.
        left: Operand,
        /// The operator.
        op: Op,
        /// Right side.
        right: Operand,
    },
    /// Negation.
    Not(Box<Expr>),
    /// Every term holds.
    And(Vec<Expr>),
    /// Some term holds.
    Or(Vec<Expr>),
}

/// Why a condition did not parse: what and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("column {column}: {message}")]
pub struct ParseError {
    /// 1-based column (in characters) where the problem starts.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

impl Condition {
    /// Parses the contact rules language (see the module docs). The empty
    /// text is `true`.
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let tokens = lex(text)?;
        if tokens.is_empty() {
            return Ok(Self::default());
        }
        let mut parser = Parser {
            tokens: &tokens,
            pos: 0,
            end_column: text.chars().count() + 1,
        };
        let expr = parser.or()?;
        if let Some(token) = parser.tokens.get(parser.pos) {
            return Err(ParseError {
                column: token.column,
                message: format!("unexpected {}; expected AND, OR or the end", token.kind),
            });
        }
        Ok(Self { expr })
    }

    /// Whether it holds for a contact with these facts.
    pub fn holds(&self, facts: &Facts) -> bool {
        self.expr.eval(facts)
    }

    /// The facts it names, with their values in `facts` (those known), in
    /// the order written: what an explanation quotes.
    pub fn cited<'a>(&self, facts: &'a Facts) -> Vec<(String, &'a str)> {
        let mut names = Vec::new();
        self.expr.names(&mut names);
        let mut out: Vec<(String, &str)> = Vec::new();
        for name in names {
            if let Some(value) = facts.get(name)
                && !out.iter().any(|(n, _)| n == name)
            {
                out.push((name.to_owned(), value.as_str()));
            }
        }
        out
    }

    /// The syntax tree.
    pub fn expr(&self) -> &Expr {
        &self.expr
    }
}

/// The value of `operand` for `facts`: `None` for an unknown fact.
fn value<'a>(operand: &'a Operand, facts: &'a Facts) -> Option<Value<'a>> {
    match operand {
        Operand::Fact(name) => facts.get(name).map(|v| match v.trim().parse::<f64>() {
            Ok(n) if n.is_finite() => Value::Num(n, v),
            _ => Value::Str(v),
        }),
        Operand::Str(s) => Some(Value::Str(s)),
        Operand::Num(n) => Some(Value::Num(*n, "")),
    }
}

/// A side's value: a number (with its text, when a fact) or a string.
enum Value<'a> {
    Num(f64, &'a str),
    Str(&'a str),
}

impl Expr {
    fn eval(&self, facts: &Facts) -> bool {
        match self {
            Expr::True => true,
            Expr::Known(name) => facts.get(name).is_some_and(|v| !v.is_empty()),
            Expr::Compare { left, op, right } => {
                let (Some(l), Some(r)) = (value(left, facts), value(right, facts)) else {
                    return false;
                };
                match (l, r) {
                    (Value::Num(a, _), Value::Num(b, _)) => {
                        a.partial_cmp(&b).is_some_and(|o| op.holds(o))
                    }
                    (l, r) => {
                        if !matches!(op, Op::Eq | Op::Ne) {
                            return false;
                        }
                        let text = |v: Value<'_>| match v {
                            Value::Str(s) => s.to_owned(),
                            Value::Num(_, t) if !t.is_empty() => t.to_owned(),
                            Value::Num(n, _) => n.to_string(),
                        };
                        op.holds(text(l).cmp(&text(r)))
                    }
                }
            }
            Expr::Not(inner) => !inner.eval(facts),
            Expr::And(terms) => terms.iter().all(|t| t.eval(facts)),
            Expr::Or(terms) => terms.iter().any(|t| t.eval(facts)),
        }
    }

    fn names<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            Expr::True => {}
            Expr::Known(name) => out.push(name),
            Expr::Compare { left, right, .. } => {
                for side in [left, right] {
                    if let Operand::Fact(name) = side {
                        out.push(name);
                    }
                }
            }
            Expr::Not(inner) => inner.names(out),
            Expr::And(terms) | Expr::Or(terms) => terms.iter().for_each(|t| t.names(out)),
        }
    }

    fn fmt_prec(&self, f: &mut fmt::Formatter<'_>, parent: u8) -> fmt::Result {
        // Precedence: OR 1, AND 2, NOT/atoms 3.
        let (terms, sep, own) = match self {
            Expr::True => return f.write_str("true"),
            Expr::Known(name) => return f.write_str(name),
            Expr::Compare { left, op, right } => {
                return write!(f, "{left} {} {right}", op.as_str());
            }
            Expr::Not(inner) => {
                f.write_str("NOT ")?;
                return inner.fmt_prec(f, 3);
            }
            Expr::And(terms) => (terms, " AND ", 2),
            Expr::Or(terms) => (terms, " OR ", 1),
        };
        if own < parent {
            f.write_str("(")?;
        }
        for (i, t) in terms.iter().enumerate() {
            if i > 0 {
                f.write_str(sep)?;
            }
            t.fmt_prec(f, own + 1)?;
        }
        if own < parent {
            f.write_str(")")?;
        }
        Ok(())
    }
}

impl fmt::Display for Operand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Operand::Fact(name) => f.write_str(name),
            Operand::Str(s) => write!(f, "{s:?}"),
            Operand::Num(n) => write!(f, "{n}"),
        }
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.expr.fmt_prec(f, 0)
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    Name(String),
    Num(f64),
    Str(String),
    Op(Op),
    And,
    Or,
    Not,
    Open,
    Close,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Kind::Name(s) => write!(f, "name {s:?}"),
            Kind::Num(n) => write!(f, "number {n}"),
            Kind::Str(s) => write!(f, "string {s:?}"),
            Kind::Op(op) => write!(f, "\"{}\"", op.as_str()),
            Kind::And => f.write_str("AND"),
            Kind::Or => f.write_str("OR"),
            Kind::Not => f.write_str("NOT"),
            Kind::Open => f.write_str("\"(\""),
            Kind::Close => f.write_str("\")\""),
        }
    }
}

#[derive(Debug, Clone)]
struct Token {
    kind: Kind,
    column: usize,
}

fn lex(text: &str) -> Result<Vec<Token>, ParseError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let err = |column: usize, message: String| ParseError { column, message };
    while i < chars.len() {
        let c = chars[i];
        let column = i + 1;
        let next = chars.get(i + 1).copied();
        let kind = match c {
            c if c.is_whitespace() => {
                i += 1;
                continue;
            }
            '(' | ')' => {
                i += 1;
                if c == '(' { Kind::Open } else { Kind::Close }
            }
            '>' | '<' | '=' | '!' => {
                let (op, len) = match (c, next) {
                    ('>', Some('=')) => (Op::Ge, 2),
                    ('<', Some('=')) => (Op::Le, 2),
                    ('=', Some('=')) => (Op::Eq, 2),
                    ('!', Some('=')) => (Op::Ne, 2),
                    ('>', _) => (Op::Gt, 1),
                    ('<', _) => (Op::Lt, 1),
                    ('=', _) => {
                        return Err(err(column, "\"=\" is not an operator; use \"==\"".into()));
                    }
                    _ => {
                        return Err(err(
                            column,
                            "\"!\" is not an operator; use NOT or \"!=\"".into(),
                        ));
                    }
                };
                i += len;
                Kind::Op(op)
            }
            '"' => {
                let start = i + 1;
                let Some(len) = chars[start..].iter().position(|c| *c == '"') else {
                    return Err(err(column, "unterminated string".into()));
                };
                i = start + len + 1;
                Kind::Str(chars[start..start + len].iter().collect())
            }
            c if c.is_ascii_digit()
                || ((c == '-' || c == '+' || c == '.')
                    && next.is_some_and(|n| n.is_ascii_digit() || n == '.')) =>
            {
                let start = i;
                i += 1;
                while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                    i += 1;
                }
                let text: String = chars[start..i].iter().collect();
                let n = text
                    .parse::<f64>()
                    .ok()
                    .filter(|n| n.is_finite())
                    .ok_or_else(|| err(column, format!("{text:?} is not a number")))?;
                Kind::Num(n)
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let start = i;
                while i < chars.len()
                    && (chars[i].is_ascii_alphanumeric() || matches!(chars[i], '_' | '-' | '.'))
                {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                match word.to_ascii_uppercase().as_str() {
                    "AND" => Kind::And,
                    "OR" => Kind::Or,
                    "NOT" => Kind::Not,
                    _ => Kind::Name(word),
                }
            }
            other => return Err(err(column, format!("unexpected character {other:?}"))),
        };
        out.push(Token { kind, column });
    }
    Ok(out)
}

struct Parser<'a> {
    tokens: &'a [Token],
    pos: usize,
    end_column: usize,
}

impl Parser<'_> {
    fn eat(&mut self, kind: &Kind) -> bool {
        if self.tokens.get(self.pos).is_some_and(|t| t.kind == *kind) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn error_here(&self, expected: &str) -> ParseError {
        match self.tokens.get(self.pos) {
            Some(t) => ParseError {
                column: t.column,
                message: format!("unexpected {}; expected {expected}", t.kind),
            },
            None => ParseError {
                column: self.end_column,
                message: format!("unexpected end; expected {expected}"),
            },
        }
    }

    fn or(&mut self) -> Result<Expr, ParseError> {
        let mut terms = vec![self.and()?];
        while self.eat(&Kind::Or) {
            terms.push(self.and()?);
        }
        Ok(if terms.len() == 1 {
            terms.remove(0)
        } else {
            Expr::Or(terms)
        })
    }

    fn and(&mut self) -> Result<Expr, ParseError> {
        let mut terms = vec![self.unary()?];
        while self.eat(&Kind::And) {
            terms.push(self.unary()?);
        }
        Ok(if terms.len() == 1 {
            terms.remove(0)
        } else {
            Expr::And(terms)
        })
    }

    fn unary(&mut self) -> Result<Expr, ParseError> {
        if self.eat(&Kind::Not) {
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        self.primary()
    }

    fn operand(&mut self) -> Option<Operand> {
        let operand = match &self.tokens.get(self.pos)?.kind {
            Kind::Name(name) => Operand::Fact(name.clone()),
            Kind::Str(s) => Operand::Str(s.clone()),
            Kind::Num(n) => Operand::Num(*n),
            _ => return None,
        };
        self.pos += 1;
        Some(operand)
    }

    fn primary(&mut self) -> Result<Expr, ParseError> {
        const OPERAND: &str = "a fact, a string, a number, NOT or \"(\"";
        if self.eat(&Kind::Open) {
            let inner = self.or()?;
            if !self.eat(&Kind::Close) {
                return Err(self.error_here("\")\""));
            }
            return Ok(inner);
        }
        let start = self.pos;
        let Some(left) = self.operand() else {
            return Err(self.error_here(OPERAND));
        };
        let op = match self.tokens.get(self.pos).map(|t| &t.kind) {
            Some(Kind::Op(op)) => *op,
            _ => {
                return match left {
                    Operand::Fact(name) if name.eq_ignore_ascii_case("true") => Ok(Expr::True),
                    Operand::Fact(name) => Ok(Expr::Known(name)),
                    _ => Err(ParseError {
                        column: self.tokens[start].column,
                        message: format!(
                            "{} alone is not a condition; compare it with a fact",
                            self.tokens[start].kind
                        ),
                    }),
                };
            }
        };
        self.pos += 1;
        let Some(right) = self.operand() else {
            return Err(self.error_here("a fact, a string or a number"));
        };
        Ok(Expr::Compare { left, op, right })
    }
}

#[cfg(test)]
#[path = "contact_rules_tests.rs"]
mod tests;
