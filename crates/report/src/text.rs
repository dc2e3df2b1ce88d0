//! The report as plain text for a person at a terminal: the classification first, then the
//! causes grouped by status with their evidence, the work-up, warnings and the disclaimer.

use std::io::{self, Write};

use restless_engine::{Evidence, Finding, Status, Tri};
use restless_kb::{CauseKind, Tag};

use crate::{ENGINE_VERSION, Report, cited_references};

fn kind_name(k: CauseKind) -> &'static str {
    match k {
        CauseKind::PrimaryRisk => "primary risk factor",
        CauseKind::SecondaryCause => "secondary cause",
        CauseKind::Aggravator => "aggravator",
        CauseKind::Mimic => "look-alike",
    }
}

fn evidence_line(e: &Evidence) -> String {
    let date = e.date.map(|d| format!(" on {d}")).unwrap_or_default();
    let flag = if e.tag == Tag::Unverified { " [threshold or code not yet verified]" } else { "" };
    let history = if e.counted { "" } else { " (history, not counted)" };
    format!("{} = {}{date}{history} — {}{flag} [{}]", e.fact, e.value, e.rule, e.source)
}

fn wrap(text: &str, indent: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.len() + 1 + word.len() > width {
            out.push_str(indent);
            out.push_str(&line);
            out.push('\n');
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        out.push_str(indent);
        out.push_str(&line);
        out.push('\n');
    }
    out
}

fn finding_block(out: &mut dyn Write, f: &Finding, detail: bool) -> io::Result<()> {
    writeln!(out, "  * {} [{}, {} evidence]", f.name, kind_name(f.kind), f.strength.name())?;
    for e in &f.evidence {
        writeln!(out, "      - {}", evidence_line(e))?;
    }
    if !f.missing.is_empty() {
        writeln!(out, "      missing: {}", f.missing.join(", "))?;
    }
    if detail {
        write!(out, "{}", wrap(&f.advice, "      ", 88))?;
        if !f.alternatives.is_empty() {
            writeln!(out, "      safer alternatives to discuss: {}", f.alternatives.join(", "))?;
        }
        writeln!(out, "      sources: {}", f.references.join(", "))?;
    }
    Ok(())
}

/// Writes the text report.
///
/// # Errors
/// When writing fails.
pub fn write(r: &Report<'_>, out: &mut dyn Write) -> io::Result<()> {
    let a = r.assessment;
    writeln!(
        out,
        "restless report, as of {} (knowledge base {}, reviewed {}; engine {ENGINE_VERSION})",
        a.as_of,
        r.kb.version(),
        r.kb.reviewed()
    )?;
    writeln!(out)?;
    writeln!(out, "Classification: {}", a.classification.kind.name().to_uppercase())?;
    write!(out, "{}", wrap(&a.classification.summary, "  ", 90))?;
    writeln!(out)?;
    writeln!(out, "Diagnosis (IRLSSG criteria): {}", a.diagnosis.status.name())?;
    for c in &a.diagnosis.criteria {
        let v = match c.value {
            Tri::Met => "met",
            Tri::NotMet => "not met",
            Tri::Unknown => "not answered",
        };
        writeln!(out, "  {}. {:<36} {v}", c.number, c.name)?;
    }
    for e in &a.diagnosis.recorded {
        writeln!(out, "  recorded diagnosis: {} [{}]", e.value, e.source)?;
    }
    if !a.diagnosis.mimics.is_empty() {
        writeln!(out, "  Look-alikes a clinician should rule out:")?;
        for m in &a.diagnosis.mimics {
            writeln!(out, "  * {} ({})", m.name, m.status.name())?;
            for e in &m.evidence {
                writeln!(out, "      - {}", evidence_line(e))?;
            }
        }
    }
    let groups = [
        (Status::Present, "PRESENT"),
        (Status::Possible, "POSSIBLE"),
        (Status::Unknown, "CANNOT BE JUDGED YET"),
        (Status::Absent, "RULED OUT BY THE DATA"),
    ];
    for (status, title) in groups {
        let items: Vec<&Finding> = a.findings.iter().filter(|f| f.status == status).collect();
        if items.is_empty() {
            continue;
        }
        writeln!(out)?;
        writeln!(out, "{title} ({})", items.len())?;
        for f in items {
            match status {
                Status::Present | Status::Possible => finding_block(out, f, true)?,
                Status::Unknown => {
                    let missing = if f.missing.is_empty() {
                        String::new()
                    } else {
                        format!(" — needs: {}", f.missing.join(", "))
                    };
                    writeln!(out, "  * {}{missing}", f.name)?;
                }
                Status::Absent => {
                    let why = f
                        .evidence
                        .iter()
                        .find(|e| e.counted)
                        .map(|e| format!(" — {} = {}", e.fact, e.value))
                        .unwrap_or_default();
                    writeln!(out, "  * {}{why}", f.name)?;
                }
            }
        }
    }
    if !a.workup.is_empty() {
        writeln!(out)?;
        writeln!(out, "WHAT TO ASK FOR (work-up)")?;
        for w in &a.workup {
            let loinc = w.loinc.as_deref().map(|l| format!(" (LOINC {l})")).unwrap_or_default();
            writeln!(out, "  * {}{loinc} — for {}", w.test, w.for_causes.join(", "))?;
        }
    }
    if !a.questions.is_empty() {
        writeln!(out)?;
        writeln!(out, "QUESTIONS THAT WOULD SETTLE MORE")?;
        for q in a.questions.iter().take(12) {
            writeln!(out, "  * {} ({} item(s))", q.text, q.for_causes.len())?;
        }
        if a.questions.len() > 12 {
            writeln!(out, "  ... and {} more (see the JSON report)", a.questions.len() - 12)?;
        }
    }
    if !r.warnings.is_empty() {
        writeln!(out)?;
        writeln!(out, "WARNINGS (input not used)")?;
        for w in r.warnings {
            writeln!(out, "  * {}: {}", w.source, w.message)?;
        }
    }
    writeln!(out)?;
    writeln!(out, "Sources: {}", cited_references(r).join(", "))?;
    writeln!(
        out,
        "(restless kb show ID gives each cause's evidence; the JSON report carries full citations.)"
    )?;
    writeln!(out)?;
    write!(out, "{}", wrap(r.kb.disclaimer(), "", 90))?;
    Ok(())
}
