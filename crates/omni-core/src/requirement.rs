//! The requirements language: what an agent must have to take a queue's
//! contacts, e.g. `billing >= 5 AND lang == "es"`.
//!
//! # Grammar
//!
//! ```text
//! expr    := or
//! or      := and ( OR and )*
//! and     := unary ( AND unary )*
//! unary   := NOT unary | primary
//! primary := "(" expr ")" | "true"
//!          | "lang" ( "==" | "!=" ) STRING
//!          | SKILL [ ( ">=" | ">" | "<=" | "<" | "==" | "!=" ) LEVEL ]
//! ```
//!
//! Keywords are case-insensitive (`AND`, `and`). A skill name is letters,
//! digits, `_`, `-` and `.`, starting with a letter or `_`; `lang` is
//! reserved. A level is an integer 0-10. An agent without a skill has
//! proficiency 0 in it, so `billing < 3` holds for agents without `billing`.
//! A bare skill name means "has the skill" (`billing >= 1`). `lang == "es"`
//! holds when the agent speaks `es`. The empty expression and `true` match
//! every agent.
//!
//! An agent's score for a requirement (the proficiency selection ranks by)
//! is the sum of its proficiency over the skills the requirement names
//! outside any `NOT`.

use std::collections::BTreeMap;
use std::fmt;

/// A parsed requirement. Compares and prints in a canonical form.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Requirement {
    expr: Expr,
}

/// A comparison operator on proficiency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cmp {
    /// `>=`
    Ge,
    /// `>`
    Gt,
    /// `<=`
    Le,
    /// `<`
    Lt,
    /// `==`
    Eq,
    /// `!=`
    Ne,
}

impl Cmp {
    fn as_str(self) -> &'static str {
        match self {
            Cmp::Ge => ">=",
            Cmp::Gt => ">",
            Cmp::Le => "<=",
            Cmp::Lt => "<",
            Cmp::Eq => "==",
            Cmp::Ne => "!=",
        }
    }

    /// Whether `level OP bound`.
    pub fn holds(self, level: u8, bound: u8) -> bool {
        match self {
            Cmp::Ge => level >= bound,
            Cmp::Gt => level > bound,
            Cmp::Le => level <= bound,
            Cmp::Lt => level < bound,
            Cmp::Eq => level == bound,
            Cmp::Ne => level != bound,
        }
    }

    /// The proficiency range `[lo, hi]` that satisfies `level OP bound`, if
    /// it is one interval.
    pub fn interval(self, bound: u8) -> Option<(u8, u8)> {
        match self {
            Cmp::Ge => Some((bound, MAX_LEVEL)),
            Cmp::Gt => (bound < MAX_LEVEL).then(|| (bound + 1, MAX_LEVEL)),
            Cmp::Le => Some((0, bound)),
            Cmp::Lt => (bound > 0).then(|| (0, bound - 1)),
            Cmp::Eq => Some((bound, bound)),
            Cmp::Ne => None,
        }
    }
}

/// The highest proficiency.
pub const MAX_LEVEL: u8 = 10;

/// The syntax tree of a requirement.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Expr {
    /// Matches everyone.
    #[default]
    True,
    /// `skill OP level`; a bare skill name is `skill >= 1`.
    Skill {
        /// The skill.
        skill: String,
        /// The comparison.
        op: Cmp,
        /// The level compared with, 0-10.
        level: u8,
    },
    /// `lang == "xx"` (`equal`) or `lang != "xx"`.
    Lang {
        /// The language.
        lang: String,
        /// `==` rather than `!=`.
        equal: bool,
    },
    /// Negation.
    Not(Box<Expr>),
    /// Every term holds.
    And(Vec<Expr>),
    /// Some term holds.
    Or(Vec<Expr>),
}

/// Why a requirement did not parse: what and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("column {column}: {message}")]
pub struct ParseError {
    /// 1-based column (in characters) where the problem starts.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

impl Requirement {
    /// The requirement every agent meets.
    pub fn any() -> Self {
        Self::default()
    }

    /// Parses the requirements language (see the module docs).
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let tokens = lex(text)?;
        let mut parser = Parser {
            tokens: &tokens,
            pos: 0,
            end_column: text.chars().count() + 1,
        };
        if tokens.is_empty() {
            return Ok(Self::any());
        }
        let expr = parser.or()?;
        if let Some(token) = parser.peek() {
            return Err(ParseError {
                column: token.column,
                message: format!("unexpected {}; expected AND, OR or the end", token.kind),
            });
        }
        Ok(Self { expr })
    }

    /// The legacy form: every skill at its minimum or better (`AND` of `>=`).
    pub fn from_minimums(minimums: &BTreeMap<String, u8>) -> Self {
        let terms: Vec<Expr> = minimums
            .iter()
            .map(|(skill, level)| Expr::Skill {
                skill: skill.clone(),
                op: Cmp::Ge,
                level: *level,
            })
            .collect();
        Self {
            expr: and_of(terms),
        }
    }

    /// This requirement and `skill >= minimum`.
    pub fn and_minimum(self, skill: &str, minimum: u8) -> Self {
        let term = Expr::Skill {
            skill: skill.to_owned(),
            op: Cmp::Ge,
            level: minimum,
        };
        let terms = match self.expr {
            Expr::True => vec![term],
            Expr::And(mut terms) => {
                terms.push(term);
                terms
            }
            other => vec![other, term],
        };
        Self {
            expr: and_of(terms),
        }
    }

    /// Whether an agent with these skills and languages meets it.
    pub fn matches(&self, skills: &BTreeMap<String, u8>, languages: &[String]) -> bool {
        self.expr
            .eval(&|s| skills.get(s).copied().unwrap_or(0), &|l| {
                languages.iter().any(|x| x == l)
            })
    }

    /// The agent's score: the sum of its proficiency over the skills named
    /// outside any `NOT`.
    pub fn score(&self, skills: &BTreeMap<String, u8>) -> u32 {
        let mut names = Vec::new();
        self.expr.positive_skills(&mut names);
        names.sort();
        names.dedup();
        names
            .iter()
            .map(|s| u32::from(skills.get(*s).copied().unwrap_or(0)))
            .sum()
    }

    /// Skill to minimum, when the requirement is the legacy form (an `AND`
    /// of `>=`); `None` otherwise.
    pub fn minimums(&self) -> Option<BTreeMap<String, u8>> {
        let terms: &[Expr] = match &self.expr {
            Expr::True => &[],
            Expr::And(terms) => terms,
            single => std::slice::from_ref(single),
        };
        terms
            .iter()
            .map(|t| match t {
                Expr::Skill {
                    skill,
                    op: Cmp::Ge,
                    level,
                } => Some((skill.clone(), *level)),
                _ => None,
            })
            .collect()
    }

    /// Every skill name it mentions.
    pub fn skills(&self) -> Vec<&str> {
        let mut out = Vec::new();
        self.expr.all_skills(&mut out);
        out.sort();
        out.dedup();
        out
    }

    /// Every language it mentions.
    pub fn languages(&self) -> Vec<&str> {
        let mut out = Vec::new();
        self.expr.all_languages(&mut out);
        out.sort();
        out.dedup();
        out
    }

    /// The syntax tree.
    pub fn expr(&self) -> &Expr {
        &self.expr
    }
}

fn and_of(mut terms: Vec<Expr>) -> Expr {
    match terms.len() {
        0 => Expr::True,
        1 => terms.pop().unwrap_or(Expr::True),
        _ => Expr::And(terms),
    }
}

impl Expr {
    /// Evaluates with `level` giving a skill's proficiency (0 when absent)
    /// and `speaks` whether a language is spoken.
    pub fn eval(&self, level: &impl Fn(&str) -> u8, speaks: &impl Fn(&str) -> bool) -> bool {
        match self {
            Expr::True => true,
            Expr::Skill {
                skill,
                op,
                level: bound,
            } => op.holds(level(skill), *bound),
            Expr::Lang { lang, equal } => speaks(lang) == *equal,
            Expr::Not(inner) => !inner.eval(level, speaks),
            Expr::And(terms) => terms.iter().all(|t| t.eval(level, speaks)),
            Expr::Or(terms) => terms.iter().any(|t| t.eval(level, speaks)),
        }
    }

    /// Skills named outside any `NOT` (with repeats).
    pub fn positive_skills<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            Expr::Skill { skill, .. } => out.push(skill),
            Expr::And(terms) | Expr::Or(terms) => terms.iter().for_each(|t| t.positive_skills(out)),
            Expr::True | Expr::Lang { .. } | Expr::Not(_) => {}
        }
    }

    fn all_skills<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            Expr::Skill { skill, .. } => out.push(skill),
            Expr::Not(inner) => inner.all_skills(out),
            Expr::And(terms) | Expr::Or(terms) => terms.iter().for_each(|t| t.all_skills(out)),
            Expr::True | Expr::Lang { .. } => {}
        }
    }

    fn all_languages<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            Expr::Lang { lang, .. } => out.push(lang),
            Expr::Not(inner) => inner.all_languages(out),
            Expr::And(terms) | Expr::Or(terms) => terms.iter().for_each(|t| t.all_languages(out)),
            Expr::True | Expr::Skill { .. } => {}
        }
    }

    fn fmt_prec(&self, f: &mut fmt::Formatter<'_>, parent: u8) -> fmt::Result {
        // Precedence: OR 1, AND 2, NOT/atoms 3.
        match self {
            Expr::True => f.write_str("true"),
            Expr::Skill { skill, op, level } => write!(f, "{skill} {} {level}", op.as_str()),
            Expr::Lang { lang, equal } => {
                write!(f, "lang {} \"{lang}\"", if *equal { "==" } else { "!=" })
            }
            Expr::Not(inner) => {
                f.write_str("NOT ")?;
                inner.fmt_prec(f, 3)
            }
            Expr::And(terms) => join(f, terms, " AND ", 2, parent),
            Expr::Or(terms) => join(f, terms, " OR ", 1, parent),
        }
    }
}

fn join(f: &mut fmt::Formatter<'_>, terms: &[Expr], sep: &str, own: u8, parent: u8) -> fmt::Result {
    let paren = own < parent;
    if paren {
        f.write_str("(")?;
    }
    for (i, t) in terms.iter().enumerate() {
        if i > 0 {
            f.write_str(sep)?;
        }
        t.fmt_prec(f, own + 1)?;
    }
    if paren {
        f.write_str(")")?;
    }
    Ok(())
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.expr.fmt_prec(f, 0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    Ident(String),
    Number(u32),
    Str(String),
    Op(Cmp),
    And,
    Or,
    Not,
    Open,
    Close,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Kind::Ident(s) => write!(f, "name {s:?}"),
            Kind::Number(n) => write!(f, "number {n}"),
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
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let two: String = chars[i..chars.len().min(i + 2)].iter().collect();
        let kind = match c {
            '(' => {
                i += 1;
                Kind::Open
            }
            ')' => {
                i += 1;
                Kind::Close
            }
            '>' | '<' | '=' | '!' => {
                let (op, len) = match two.as_str() {
                    ">=" => (Cmp::Ge, 2),
                    "<=" => (Cmp::Le, 2),
                    "==" => (Cmp::Eq, 2),
                    "!=" => (Cmp::Ne, 2),
                    _ if c == '>' => (Cmp::Gt, 1),
                    _ if c == '<' => (Cmp::Lt, 1),
                    _ if c == '=' => {
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
            c if c.is_ascii_digit() => {
                let start = i;
                while i < chars.len() && chars[i].is_ascii_digit() {
                    i += 1;
                }
                let digits: String = chars[start..i].iter().collect();
                Kind::Number(digits.parse().unwrap_or(u32::MAX))
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
                    _ => Kind::Ident(word),
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
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn eat(&mut self, kind: &Kind) -> bool {
        if self.peek().is_some_and(|t| t.kind == *kind) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn error_here(&self, expected: &str) -> ParseError {
        match self.peek() {
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

    fn primary(&mut self) -> Result<Expr, ParseError> {
        const OPERAND: &str = "a skill name, lang, NOT or \"(\"";
        let Some(token) = self.peek().cloned() else {
            return Err(self.error_here(OPERAND));
        };
        match token.kind {
            Kind::Open => {
                self.pos += 1;
                let inner = self.or()?;
                if !self.eat(&Kind::Close) {
                    return Err(self.error_here("\")\""));
                }
                Ok(inner)
            }
            Kind::Ident(name) if name.eq_ignore_ascii_case("true") => {
                self.pos += 1;
                Ok(Expr::True)
            }
            Kind::Ident(name) if name == "lang" => {
                self.pos += 1;
                let equal = match self.next() {
                    Some(Token {
                        kind: Kind::Op(Cmp::Eq),
                        ..
                    }) => true,
                    Some(Token {
                        kind: Kind::Op(Cmp::Ne),
                        ..
                    }) => false,
                    _ => {
                        self.pos -= 1;
                        return Err(self.error_here("\"==\" or \"!=\" after lang"));
                    }
                };
                match self.next() {
                    Some(Token {
                        kind: Kind::Str(lang),
                        column,
                    }) => {
                        if lang.is_empty() {
                            return Err(ParseError {
                                column,
                                message: "empty language".into(),
                            });
                        }
                        Ok(Expr::Lang { lang, equal })
                    }
                    _ => {
                        self.pos -= 1;
                        Err(self.error_here("a quoted language such as \"es\""))
                    }
                }
            }
            Kind::Ident(skill) => {
                self.pos += 1;
                let Some(Token {
                    kind: Kind::Op(op), ..
                }) = self.peek().cloned()
                else {
                    return Ok(Expr::Skill {
                        skill,
                        op: Cmp::Ge,
                        level: 1,
                    });
                };
                self.pos += 1;
                match self.next() {
                    Some(Token {
                        kind: Kind::Number(n),
                        column,
                    }) => {
                        let level = u8::try_from(n)
                            .ok()
                            .filter(|l| *l <= MAX_LEVEL)
                            .ok_or_else(|| ParseError {
                                column,
                                message: format!("level {n} is outside 0-{MAX_LEVEL}"),
                            })?;
                        Ok(Expr::Skill { skill, op, level })
                    }
                    _ => {
                        self.pos -= 1;
                        Err(self.error_here(&format!("a level 0-{MAX_LEVEL}")))
                    }
                }
            }
            _ => Err(self.error_here(OPERAND)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn skills(pairs: &[(&str, u8)]) -> BTreeMap<String, u8> {
        pairs.iter().map(|(s, l)| ((*s).to_owned(), *l)).collect()
    }

    fn langs(l: &[&str]) -> Vec<String> {
        l.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn parses_and_evaluates_the_issue_example() {
        let r = Requirement::parse(r#"billing >= 5 AND lang == "es""#).unwrap();
        assert!(r.matches(&skills(&[("billing", 5)]), &langs(&["es"])));
        assert!(!r.matches(&skills(&[("billing", 4)]), &langs(&["es"])));
        assert!(!r.matches(&skills(&[("billing", 9)]), &langs(&["en"])));
        assert_eq!(r.to_string(), r#"billing >= 5 AND lang == "es""#);
    }

    #[test]
    fn precedence_parentheses_not_and_bare_names() {
        let r = Requirement::parse("a OR b AND NOT c").unwrap();
        assert_eq!(r.to_string(), "a >= 1 OR b >= 1 AND NOT c >= 1");
        assert!(r.matches(&skills(&[("a", 1), ("c", 5)]), &[]));
        assert!(r.matches(&skills(&[("b", 1)]), &[]));
        assert!(!r.matches(&skills(&[("b", 1), ("c", 1)]), &[]));
        let r = Requirement::parse("(a or b) and not (c > 2)").unwrap();
        assert_eq!(r.to_string(), "(a >= 1 OR b >= 1) AND NOT c > 2");
        assert!(r.matches(&skills(&[("b", 3), ("c", 2)]), &[]));
        assert!(!r.matches(&skills(&[("b", 3), ("c", 3)]), &[]));
        // A missing skill is level 0.
        let r = Requirement::parse("x < 3 AND y != 4 AND z <= 0").unwrap();
        assert!(r.matches(&skills(&[]), &[]));
        assert!(!r.matches(&skills(&[("y", 4)]), &[]));
        assert!(Requirement::parse("").unwrap().matches(&skills(&[]), &[]));
        assert!(
            Requirement::parse("TRUE")
                .unwrap()
                .matches(&skills(&[]), &[])
        );
    }

    #[test]
    fn errors_name_the_column() {
        let cases = [
            ("billing >= ", 12, "unexpected end; expected a level 0-10"),
            ("billing >= 11", 12, "level 11 is outside 0-10"),
            ("billing = 3", 9, "\"=\" is not an operator; use \"==\""),
            ("(a AND b", 9, "unexpected end; expected \")\""),
            (
                "a b",
                3,
                "unexpected name \"b\"; expected AND, OR or the end",
            ),
            (
                "lang == es",
                9,
                "unexpected name \"es\"; expected a quoted language such as \"es\"",
            ),
            (
                "lang >= \"es\"",
                6,
                "unexpected \">=\"; expected \"==\" or \"!=\" after lang",
            ),
            (
                "a AND",
                6,
                "unexpected end; expected a skill name, lang, NOT or \"(\"",
            ),
            ("a & b", 3, "unexpected character '&'"),
            ("lang == \"es", 9, "unterminated string"),
        ];
        for (text, column, message) in cases {
            let err = Requirement::parse(text).unwrap_err();
            assert_eq!(
                (err.column, err.message.as_str()),
                (column, message),
                "{text}"
            );
        }
    }

    #[test]
    fn legacy_minimums_round_trip_and_score_positive_skills() {
        let legacy = Requirement::from_minimums(&skills(&[("sales", 3), ("billing", 2)]));
        assert_eq!(legacy.to_string(), "billing >= 2 AND sales >= 3");
        assert_eq!(
            legacy.minimums(),
            Some(skills(&[("billing", 2), ("sales", 3)]))
        );
        assert_eq!(
            Requirement::any().and_minimum("sales", 4).minimums(),
            Some(skills(&[("sales", 4)]))
        );
        assert_eq!(Requirement::parse("a OR b").unwrap().minimums(), None);
        let r = Requirement::parse("a >= 2 AND (b OR c) AND NOT d").unwrap();
        assert_eq!(r.score(&skills(&[("a", 3), ("b", 4), ("d", 9)])), 7);
        assert_eq!(r.skills(), ["a", "b", "c", "d"]);
    }
}
