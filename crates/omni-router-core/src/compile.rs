//! Requirements compiled for the engine: interned names, the score's skills,
//! and the index sets that cover every agent meeting them.

use omni_core::requirement::{Cmp, Expr, Requirement};

use crate::index::{Interner, NameId};

/// A requirement over interned names.
#[derive(Debug, Clone)]
pub(crate) enum CExpr {
    True,
    Skill(NameId, Cmp, u8),
    Lang(NameId, bool),
    Not(Box<CExpr>),
    And(Vec<CExpr>),
    Or(Vec<CExpr>),
}

/// One index set: open agents with a skill at a level in `lo..=hi`, or
/// speaking a language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Term {
    Skill(NameId, u8, u8),
    Lang(NameId),
}

/// A compiled requirement.
#[derive(Debug, Clone)]
pub(crate) struct Compiled {
    pub(crate) expr: CExpr,
    /// Skills whose proficiency sums into the score.
    pub(crate) positive: Vec<NameId>,
    /// Alternative covers: every agent meeting the requirement is in the
    /// union of some cover's sets (any one of them). Empty: no cover, the
    /// whole channel must be scanned.
    pub(crate) covers: Vec<Vec<Term>>,
    /// The requirement is exactly one skill comparison over `lo..=hi`
    /// (`lo >= 1`), or that and one language (`lang == "x"`, in
    /// `single_lang`): the index alone decides it.
    pub(crate) single: Option<(NameId, u8, u8)>,
    /// The language of a `skill AND lang` requirement.
    pub(crate) single_lang: Option<NameId>,
}

impl Compiled {
    pub(crate) fn new(req: &Requirement, skills: &mut Interner, langs: &mut Interner) -> Self {
        let expr = lower(req.expr(), skills, langs);
        let mut positive: Vec<NameId> = Vec::new();
        let mut names = Vec::new();
        req.expr().positive_skills(&mut names);
        for n in names {
            positive.push(skills.intern(n));
        }
        positive.sort_unstable();
        positive.dedup();
        let skill_range = |e: &CExpr| match e {
            CExpr::Skill(s, op, bound) => op
                .interval(*bound)
                .filter(|(lo, _)| *lo >= 1)
                .map(|(lo, hi)| (*s, lo, hi)),
            _ => None,
        };
        let (single, single_lang) = match &expr {
            CExpr::And(ts) if ts.len() == 2 => match (&ts[0], &ts[1]) {
                (CExpr::Lang(l, true), other) | (other, CExpr::Lang(l, true)) => {
                    match skill_range(other) {
                        Some(range) => (Some(range), Some(*l)),
                        None => (None, None),
                    }
                }
                _ => (None, None),
            },
            e => (skill_range(e), None),
        };
        Self {
            covers: covers(&expr),
            expr,
            positive,
            single,
            single_lang,
        }
    }

    /// Whether an agent with `skills` (sorted by id) and `langs` meets it.
    pub(crate) fn eval(&self, skills: &[(NameId, u8)], langs: &[NameId]) -> bool {
        eval(&self.expr, skills, langs)
    }

    /// The score: proficiency summed over the positive skills.
    pub(crate) fn score(&self, skills: &[(NameId, u8)]) -> u32 {
        self.positive
            .iter()
            .map(|s| u32::from(level(skills, *s)))
            .sum()
    }
}

/// The agent's level in `skill`, 0 when absent.
pub(crate) fn level(skills: &[(NameId, u8)], skill: NameId) -> u8 {
    skills
        .binary_search_by_key(&skill, |(s, _)| *s)
        .map(|i| skills[i].1)
        .unwrap_or(0)
}

fn eval(e: &CExpr, skills: &[(NameId, u8)], langs: &[NameId]) -> bool {
    match e {
        CExpr::True => true,
        CExpr::Skill(s, op, bound) => op.holds(level(skills, *s), *bound),
        CExpr::Lang(l, equal) => langs.contains(l) == *equal,
        CExpr::Not(inner) => !eval(inner, skills, langs),
        CExpr::And(ts) => ts.iter().all(|t| eval(t, skills, langs)),
        CExpr::Or(ts) => ts.iter().any(|t| eval(t, skills, langs)),
    }
}

fn lower(e: &Expr, skills: &mut Interner, langs: &mut Interner) -> CExpr {
    match e {
        Expr::True => CExpr::True,
        Expr::Skill { skill, op, level } => CExpr::Skill(skills.intern(skill), *op, *level),
        Expr::Lang { lang, equal } => CExpr::Lang(langs.intern(lang), *equal),
        Expr::Not(inner) => CExpr::Not(Box::new(lower(inner, skills, langs))),
        Expr::And(ts) => CExpr::And(ts.iter().map(|t| lower(t, skills, langs)).collect()),
        Expr::Or(ts) => CExpr::Or(ts.iter().map(|t| lower(t, skills, langs)).collect()),
    }
}

fn covers(e: &CExpr) -> Vec<Vec<Term>> {
    match e {
        CExpr::True | CExpr::Not(_) | CExpr::Lang(_, false) => Vec::new(),
        CExpr::Lang(l, true) => vec![vec![Term::Lang(*l)]],
        CExpr::Skill(s, op, bound) => match op.interval(*bound) {
            // An interval that includes 0 includes agents without the skill.
            Some((lo, hi)) if lo >= 1 => vec![vec![Term::Skill(*s, lo, hi)]],
            _ => Vec::new(),
        },
        // Any conjunct's cover covers the conjunction.
        CExpr::And(ts) => ts.iter().flat_map(covers).collect(),
        // A disjunction needs a cover of every disjunct.
        CExpr::Or(ts) => {
            let mut union = Vec::new();
            for t in ts {
                let Some(smallest) = covers(t).into_iter().min_by_key(Vec::len) else {
                    return Vec::new();
                };
                union.extend(smallest);
            }
            vec![union]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compile(text: &str) -> (Compiled, Interner, Interner) {
        let (mut s, mut l) = (Interner::default(), Interner::default());
        let c = Compiled::new(&Requirement::parse(text).unwrap(), &mut s, &mut l);
        (c, s, l)
    }

    #[test]
    fn covers_follow_and_or_not() {
        let (c, s, _) = compile("billing >= 5");
        assert_eq!(c.single, Some((s.get("billing").unwrap(), 5, 10)));
        let (c, s, l) = compile("billing > 4 AND lang == \"es\"");
        assert_eq!(c.single, Some((s.get("billing").unwrap(), 5, 10)));
        assert_eq!(c.single_lang, l.get("es"));
        let (swapped, _, _) = compile("lang == \"es\" AND billing");
        assert!(swapped.single.is_some() && swapped.single_lang.is_some());
        for text in [
            "billing > 4 AND lang != \"es\"",
            "billing > 4 AND sales",
            "billing < 4 AND lang == \"es\"",
            "billing AND lang == \"es\" AND sales",
        ] {
            let (other, _, _) = compile(text);
            assert_eq!((other.single, other.single_lang), (None, None), "{text}");
        }
        assert_eq!(
            c.covers,
            vec![
                vec![Term::Skill(s.get("billing").unwrap(), 5, 10)],
                vec![Term::Lang(l.get("es").unwrap())]
            ]
        );
        let (c, s, _) = compile("a == 3 OR (b AND NOT c)");
        let (a, b) = (s.get("a").unwrap(), s.get("b").unwrap());
        assert_eq!(
            c.covers,
            vec![vec![Term::Skill(a, 3, 3), Term::Skill(b, 1, 10)]]
        );
        assert!(compile("a OR NOT b").0.covers.is_empty());
        assert!(compile("a < 3").0.covers.is_empty());
        assert!(compile("").0.covers.is_empty());
    }

    #[test]
    fn evaluates_and_scores_over_interned_skills() {
        let (c, s, l) = compile("(a >= 2 OR b) AND NOT c AND lang != \"fr\"");
        let (a, b, cc) = (
            s.get("a").unwrap(),
            s.get("b").unwrap(),
            s.get("c").unwrap(),
        );
        let fr = l.get("fr").unwrap();
        let mut skills = vec![(a, 3), (b, 4)];
        skills.sort();
        assert!(c.eval(&skills, &[]));
        assert!(!c.eval(&skills, &[fr]));
        let mut with_c = vec![(a, 3), (cc, 1)];
        with_c.sort();
        assert!(!c.eval(&with_c, &[]));
        assert_eq!(c.score(&skills), 7, "c is under NOT and does not score");
    }
}
