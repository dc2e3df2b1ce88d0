//! Comparisons over measured values, including values reported with a comparator (`<5`).

/// A comparison operator used by rules and carried by lab values such as `<5`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Cmp {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `=`
    Eq,
}

impl Cmp {
    /// Parses `<`, `<=`, `>`, `>=`, `=` (and `==`).
    #[must_use]
    pub fn parse(s: &str) -> Option<Cmp> {
        Some(match s {
            "<" => Cmp::Lt,
            "<=" => Cmp::Le,
            ">" => Cmp::Gt,
            ">=" => Cmp::Ge,
            "=" | "==" => Cmp::Eq,
            _ => return None,
        })
    }

    /// The operator as written.
    #[must_use]
    pub fn symbol(self) -> &'static str {
        match self {
            Cmp::Lt => "<",
            Cmp::Le => "<=",
            Cmp::Gt => ">",
            Cmp::Ge => ">=",
            Cmp::Eq => "=",
        }
    }

    /// Whether `value` satisfies `value <op> threshold`.
    #[must_use]
    pub fn holds(self, value: f64, threshold: f64) -> bool {
        match self {
            Cmp::Lt => value < threshold,
            Cmp::Le => value <= threshold,
            Cmp::Gt => value > threshold,
            Cmp::Ge => value >= threshold,
            Cmp::Eq => (value - threshold).abs() <= f64::EPSILON * threshold.abs().max(1.0),
        }
    }
}

/// A measured value as reported: exact, or only bounded (`<5`, `>500`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bound {
    /// The number in the canonical unit.
    pub value: f64,
    /// `None` for an exact value; `Some(Lt)` for "less than `value`", and so on.
    pub comparator: Option<Cmp>,
}

impl Bound {
    /// An exact value.
    #[must_use]
    pub fn exact(value: f64) -> Bound {
        Bound { value, comparator: None }
    }

    /// Three-valued test of `self <op> threshold`: `Some(true)` or `Some(false)` when the
    /// reported value settles it, `None` when a bounded value leaves it open.
    #[must_use]
    pub fn test(self, op: Cmp, t: f64) -> Option<bool> {
        let (lo, lo_in, hi, hi_in) = match self.comparator {
            None | Some(Cmp::Eq) => return Some(op.holds(self.value, t)),
            Some(Cmp::Lt) => (f64::NEG_INFINITY, false, self.value, false),
            Some(Cmp::Le) => (f64::NEG_INFINITY, false, self.value, true),
            Some(Cmp::Gt) => (self.value, false, f64::INFINITY, false),
            Some(Cmp::Ge) => (self.value, true, f64::INFINITY, false),
        };
        // The true value lies somewhere in the interval (lo, hi); the answer is settled only
        // when every point of it agrees.
        let (all, none) = match op {
            Cmp::Lt => (hi < t || (hi == t && !hi_in), lo >= t),
            Cmp::Le => (hi <= t, lo > t || (lo == t && !lo_in)),
            Cmp::Gt => (lo > t || (lo == t && !lo_in), hi <= t),
            Cmp::Ge => (lo >= t, hi < t || (hi == t && !hi_in)),
            Cmp::Eq => (false, t < lo || t > hi || (t == lo && !lo_in) || (t == hi && !hi_in)),
        };
        if all {
            Some(true)
        } else if none {
            Some(false)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(c: Option<Cmp>, v: f64) -> Bound {
        Bound { value: v, comparator: c }
    }

    #[test]
    fn exact_values_compare_plainly() {
        assert_eq!(Bound::exact(75.0).test(Cmp::Le, 75.0), Some(true));
        assert_eq!(Bound::exact(75.1).test(Cmp::Le, 75.0), Some(false));
        assert_eq!(Bound::exact(19.9).test(Cmp::Lt, 20.0), Some(true));
        assert_eq!(Bound::exact(20.0).test(Cmp::Lt, 20.0), Some(false));
    }

    #[test]
    fn bounded_values_settle_only_when_the_interval_does() {
        // "<5" is certainly <= 75.
        assert_eq!(b(Some(Cmp::Lt), 5.0).test(Cmp::Le, 75.0), Some(true));
        // "<100" may or may not be <= 75.
        assert_eq!(b(Some(Cmp::Lt), 100.0).test(Cmp::Le, 75.0), None);
        // ">500" is certainly not <= 75.
        assert_eq!(b(Some(Cmp::Gt), 500.0).test(Cmp::Le, 75.0), Some(false));
        // "<20" is certainly < 20; "<=20" is not certainly < 20.
        assert_eq!(b(Some(Cmp::Lt), 20.0).test(Cmp::Lt, 20.0), Some(true));
        assert_eq!(b(Some(Cmp::Le), 20.0).test(Cmp::Lt, 20.0), None);
        // ">=20" is certainly not < 20.
        assert_eq!(b(Some(Cmp::Ge), 20.0).test(Cmp::Lt, 20.0), Some(false));
        // ">15" is certainly >= 15; "<15" certainly not.
        assert_eq!(b(Some(Cmp::Gt), 15.0).test(Cmp::Ge, 15.0), Some(true));
        assert_eq!(b(Some(Cmp::Lt), 15.0).test(Cmp::Ge, 15.0), Some(false));
    }

    #[test]
    fn operators_parse_and_print() {
        for s in ["<", "<=", ">", ">=", "="] {
            assert_eq!(Cmp::parse(s).map(Cmp::symbol), Some(s));
        }
        assert_eq!(Cmp::parse("=<"), None);
    }
}
