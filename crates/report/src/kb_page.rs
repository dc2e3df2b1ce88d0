//! Person-readable pages about the knowledge base: the list of causes and one cause in full
//! (what it is, how restless detects it, the evidence and its sources).

use std::io::{self, Write};

use restless_kb::{Cause, Criterion, Expr, Kb};

fn expr_words(e: &Expr, criteria: &[Criterion]) -> String {
    match e {
        Expr::Ref(i) => criteria.get(*i).map_or_else(|| "?".to_owned(), |c| c.label.clone()),
        Expr::Not(inner) => format!("not ({})", expr_words(inner, criteria)),
        Expr::All(parts) => format!(
            "all of [{}]",
            parts.iter().map(|p| expr_words(p, criteria)).collect::<Vec<_>>().join("; ")
        ),
        Expr::Any(parts) => format!(
            "any of [{}]",
            parts.iter().map(|p| expr_words(p, criteria)).collect::<Vec<_>>().join("; ")
        ),
    }
}

/// The rule of a cause in words, one line per status.
#[must_use]
pub fn rule_in_words(c: &Cause) -> Vec<(&'static str, String)> {
    let mut out = vec![("present when", expr_words(&c.rule.present, &c.criteria))];
    if let Some(p) = &c.rule.possible {
        out.push(("possible when", expr_words(p, &c.criteria)));
    }
    if let Some(a) = &c.rule.absent {
        out.push(("ruled out when", expr_words(a, &c.criteria)));
    }
    out
}

/// Writes the list of causes: id, kind, strength, name.
///
/// # Errors
/// When writing fails.
pub fn write_list(kb: &Kb, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "knowledge base {} (reviewed {}), {} entries",
        kb.version(),
        kb.reviewed(),
        kb.causes().len()
    )?;
    writeln!(out, "{:<36} {:<16} {:<10} name", "id", "kind", "strength")?;
    for c in kb.causes() {
        writeln!(out, "{:<36} {:<16} {:<10} {}", c.id, c.kind.name(), c.strength.name(), c.name)?;
    }
    Ok(())
}

/// Writes one cause as a page.
///
/// # Errors
/// When writing fails.
pub fn write_cause(kb: &Kb, c: &Cause, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "{} ({})", c.name, c.id)?;
    writeln!(
        out,
        "kind: {}; strength of evidence: {}; last reviewed {}",
        c.kind.name(),
        c.strength.name(),
        c.reviewed
    )?;
    if !c.seed.is_empty() {
        let claims: Vec<String> = c
            .seed
            .iter()
            .map(|s| {
                kb.claims()
                    .iter()
                    .find(|x| &x.id == s)
                    .map_or_else(|| s.clone(), |x| format!("{s} \"{}\"", x.text))
            })
            .collect();
        writeln!(out, "answers seed claims: {}", claims.join("; "))?;
    }
    writeln!(out)?;
    writeln!(out, "What it is\n  {}", c.summary.split_whitespace().collect::<Vec<_>>().join(" "))?;
    writeln!(out)?;
    writeln!(
        out,
        "The evidence\n  {}",
        c.evidence.split_whitespace().collect::<Vec<_>>().join(" ")
    )?;
    if let Some(q) = &c.qualifies_seed {
        writeln!(out)?;
        writeln!(
            out,
            "What the seed article got wrong or overstated\n  {}",
            q.split_whitespace().collect::<Vec<_>>().join(" ")
        )?;
    }
    writeln!(out)?;
    writeln!(out, "How restless detects it")?;
    for (when, words) in rule_in_words(c) {
        writeln!(out, "  {when}: {words}")?;
    }
    let unverified: Vec<&str> = c
        .criteria
        .iter()
        .filter(|x| x.tag == restless_kb::Tag::Unverified)
        .map(|x| x.label.as_str())
        .collect();
    if !unverified.is_empty() {
        writeln!(out, "  not yet verified against the primary source: {}", unverified.join("; "))?;
    }
    writeln!(out)?;
    writeln!(out, "What to do\n  {}", c.advice.split_whitespace().collect::<Vec<_>>().join(" "))?;
    writeln!(out)?;
    writeln!(out, "Sources")?;
    for id in &c.references {
        match kb.reference(id) {
            Some(r) => writeln!(
                out,
                "  [{id}] {}{}",
                r.citation,
                r.url.as_deref().map(|u| format!(" {u}")).unwrap_or_default()
            )?,
            None => writeln!(out, "  [{id}]")?,
        }
    }
    Ok(())
}
