//! The report page for people, from the JSON report v1 document: the classification in one
//! sentence, medicines that can make restless legs worse (with safer alternatives and the
//! advice never to stop a medicine alone), what to ask the doctor, the causes grouped by status
//! with their evidence, strength and sources, look-alikes, data not used, "was this useful?"
//! and the disclaimer. Links to sources are printed as text: the page links nowhere outside.
//!
//! [`render`] is the content of the web page (`/report`, `/upload`); [`standalone`] is the same
//! report as a whole, self-contained document for `POST /v1/assess` with `Accept: text/html`.

use std::fmt::Write as _;

use serde_json::Value;

use crate::api::html::esc;

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}

fn arr<'a>(v: &'a Value, k: &str) -> &'a [Value] {
    v.get(k).and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

fn kind_words(kind: &str) -> &'static str {
    match kind {
        "secondary-cause" => "a cause",
        "aggravator" => "can make it worse",
        "primary-risk" => "a risk factor",
        "mimic" => "a look-alike",
        _ => "an entry",
    }
}

fn diagnosis_sentence(status: &str) -> &'static str {
    match status {
        "criteria-met" => {
            "Your answers meet all five criteria used to diagnose restless legs syndrome."
        }
        "criteria-not-met" => {
            "Your answers do not meet all five criteria used to diagnose restless legs syndrome; \
             a doctor should look for another explanation."
        }
        _ => {
            "Not all five diagnostic questions were answered, so whether this is restless legs \
             syndrome is still open."
        }
    }
}

fn kind_title(kind: &str) -> &'static str {
    match kind {
        "secondary" => "Points to a treatable cause (secondary restless legs)",
        "primary" => "No other cause found (primary restless legs)",
        _ => "Not settled yet",
    }
}

/// Whether a finding is a medicine that can worsen restless legs.
fn is_medicine(f: &Value) -> bool {
    s(f, "kind") == "aggravator"
        && (f.get("alternatives").is_some() || s(f, "cause").starts_with("drug-"))
}

fn evidence_list(out: &mut String, items: &[Value]) {
    if items.is_empty() {
        return;
    }
    out.push_str("<ul class=\"evidence\">");
    for e in items {
        let date = s(e, "date");
        let date = if date.is_empty() { String::new() } else { format!(", {}", esc(date)) };
        let unverified = if s(e, "verification") == "unverified" {
            " <span class=\"tag\">rule not yet verified</span>"
        } else {
            ""
        };
        let _ = write!(
            out,
            "<li><strong>{}</strong> \u{2014} {}{unverified} <span class=\"src\">({}{date})</span></li>",
            esc(s(e, "value")),
            esc(s(e, "rule")),
            esc(s(e, "source"))
        );
    }
    out.push_str("</ul>\n");
}

fn sources(out: &mut String, doc: &Value, ids: &[Value]) {
    if ids.is_empty() {
        return;
    }
    out.push_str("<details class=\"sources\"><summary>Sources</summary><ol>");
    for id in ids.iter().filter_map(Value::as_str) {
        let r = arr(doc, "references").iter().find(|r| s(r, "id") == id);
        let text = r.map_or(id, |r| s(r, "citation"));
        let _ = write!(out, "<li>{}</li>", esc(text));
    }
    out.push_str("</ol></details>\n");
}

fn finding(out: &mut String, doc: &Value, f: &Value) {
    let status = s(f, "status");
    let _ = writeln!(
        out,
        "<article class=\"finding {}\">\n<h4>{}</h4>\n<p class=\"meta\"><span class=\"badge {}\">{}</span> {} \u{b7} strength of evidence: {}</p>",
        esc(status),
        esc(s(f, "name")),
        esc(status),
        esc(status),
        kind_words(s(f, "kind")),
        esc(s(f, "strength"))
    );
    evidence_list(out, arr(f, "evidence"));
    let missing = arr(f, "missing");
    if !missing.is_empty() && status != "absent" {
        let m: Vec<String> = missing.iter().filter_map(Value::as_str).map(missing_words).collect();
        let _ = writeln!(out, "<p class=\"missing\">To settle it: {}.</p>", esc(&m.join(", ")));
    }
    // Advice and sources for what applies; the rest stays short.
    if matches!(status, "present" | "possible") {
        let _ = writeln!(out, "<p>{}</p>", esc(s(f, "advice")));
        sources(out, doc, arr(f, "references"));
    }
    out.push_str("</article>\n");
}

/// A missing fact id in words (`answer.fatigue` → "your answer about fatigue").
fn missing_words(id: &str) -> String {
    if let Some(a) = id.strip_prefix("answer.") {
        format!("an answer about {}", a.replace('-', " "))
    } else if let Some(c) = id.strip_prefix("condition.") {
        format!("whether you have {}", c.replace('-', " "))
    } else if let Some(c) = id.strip_prefix("drug.") {
        format!("whether you take {}", c.replace('-', " "))
    } else {
        format!("a {} result", id.replace('-', " "))
    }
}

const GROUPS: &[(&str, &str, &str, bool)] = &[
    ("present", "Found", "These fit your data.", true),
    (
        "possible",
        "Possible",
        "Part of the picture fits; a test or an answer would settle it.",
        true,
    ),
    ("unknown", "Cannot be judged yet", "Not enough information to say either way.", false),
    ("absent", "Ruled out", "Your data speak against these.", false),
];

/// The report page's content. `download` is the form that gets the JSON report.
pub(crate) fn render(doc: &Value, download: &str) -> String {
    content(doc, Some(download))
}

/// The report as a whole HTML document that needs nothing else: the web page's style sheet
/// inline, no script, no link to load. It leaves out the web page's controls (print, download,
/// start again, "was this useful?"), which lead back into the web page and do nothing in a
/// saved or printed copy; the disclaimer stays.
pub(crate) fn standalone(doc: &Value) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
<title>Your restless legs report</title>\n<style>\n{}</style>\n</head>\n<body>\n\
<main id=\"main\">\n{}</main>\n</body>\n</html>\n",
        super::CSS,
        content(doc, None)
    )
}

/// The report; `controls` is the web page's download form, or `None` for a standalone copy
/// without the web page's controls.
fn content(doc: &Value, controls: Option<&str>) -> String {
    let mut out = String::with_capacity(32 * 1024);
    let cls = doc.get("classification").unwrap_or(&Value::Null);
    let dx = doc.get("diagnosis").unwrap_or(&Value::Null);
    let findings = arr(doc, "findings");
    let _ = writeln!(
        out,
        "<h1>Your restless legs report</h1>\n<section class=\"card summary {}\" aria-labelledby=\"summary-title\">\n<h2 id=\"summary-title\">{}</h2>\n<p class=\"lead\">{}</p>\n<p>{}</p>\n</section>",
        esc(s(cls, "kind")),
        kind_title(s(cls, "kind")),
        esc(s(cls, "summary")),
        diagnosis_sentence(s(dx, "status"))
    );
    if let Some(download) = controls {
        out.push_str("<div class=\"buttons no-print\"><button type=\"button\" class=\"secondary\" data-print hidden>Print this report</button>\n");
        out.push_str(download);
        out.push_str("<a class=\"button secondary\" href=\"/\">Start again</a></div>\n");
    }

    // Medicines.
    let meds: Vec<&Value> = findings
        .iter()
        .filter(|f| is_medicine(f) && matches!(s(f, "status"), "present" | "possible"))
        .collect();
    if !meds.is_empty() {
        out.push_str(
            "<section class=\"card medicines\" aria-labelledby=\"med-title\">\n<h2 id=\"med-title\">Medicines that can make restless legs worse</h2>\n\
<p class=\"warning\"><strong>Do not stop or change a medicine on your own.</strong> Talk to the doctor \
who prescribed it first: stopping some medicines suddenly is dangerous.</p>\n",
        );
        for f in meds {
            let taken: Vec<&str> = arr(f, "evidence").iter().map(|e| s(e, "value")).collect();
            let _ = writeln!(
                out,
                "<article class=\"finding\"><h3>{}</h3>\n<p>You take: <strong>{}</strong></p>",
                esc(s(f, "name")),
                esc(&taken.join("; "))
            );
            let alts: Vec<&str> = arr(f, "alternatives").iter().filter_map(Value::as_str).collect();
            if !alts.is_empty() {
                let _ = writeln!(
                    out,
                    "<p>Safer alternatives to ask the prescriber about: {}.</p>",
                    esc(&alts.join(", "))
                );
            }
            let _ = writeln!(out, "<p>{}</p>\n</article>", esc(s(f, "advice")));
        }
        out.push_str("</section>\n");
    }

    // What to ask the doctor.
    let workup = arr(doc, "workup");
    let questions = arr(doc, "questions");
    out.push_str("<section class=\"card ask\" aria-labelledby=\"ask-title\">\n<h2 id=\"ask-title\">What to ask your doctor</h2>\n");
    if workup.is_empty() {
        out.push_str(
            "<p>No further blood test is needed to judge the causes restless legs can have.</p>\n",
        );
    } else {
        out.push_str("<p>Ask whether you need these tests:</p>\n<ul class=\"checklist\">");
        for w in workup {
            let fors: Vec<String> = arr(w, "for")
                .iter()
                .filter_map(Value::as_str)
                .map(|id| {
                    findings
                        .iter()
                        .find(|f| s(f, "cause") == id)
                        .map_or(id, |f| s(f, "name"))
                        .to_owned()
                })
                .collect();
            let _ = write!(
                out,
                "<li><strong>{}</strong> <span class=\"src\">(for: {})</span></li>",
                esc(s(w, "test")),
                esc(&fors.join(", "))
            );
        }
        out.push_str("</ul>\n");
    }
    if !questions.is_empty() {
        let _ = write!(
            out,
            "<details><summary>{} open questions that would settle more</summary><ul>",
            questions.len()
        );
        for q in questions {
            let _ = write!(out, "<li>{}</li>", esc(s(q, "question")));
        }
        out.push_str("</ul></details>\n");
    }
    out.push_str("</section>\n");

    // Causes by status.
    out.push_str("<section class=\"card causes\" aria-labelledby=\"causes-title\">\n<h2 id=\"causes-title\">Causes and aggravators</h2>\n");
    for (status, title, intro, open) in GROUPS {
        let group: Vec<&Value> = findings.iter().filter(|f| s(f, "status") == *status).collect();
        let _ = writeln!(out, "<h3 id=\"g-{status}\">{title} ({})</h3>", group.len());
        if group.is_empty() {
            out.push_str("<p class=\"muted\">None.</p>\n");
            continue;
        }
        if *open {
            let _ = writeln!(out, "<p class=\"muted\">{intro}</p>");
            for f in group {
                finding(&mut out, doc, f);
            }
        } else {
            let _ = writeln!(
                out,
                "<details class=\"group\"><summary>{intro} Show {}</summary>",
                group.len()
            );
            for f in group {
                finding(&mut out, doc, f);
            }
            out.push_str("</details>\n");
        }
    }
    out.push_str("</section>\n");

    // Look-alikes.
    let mimics: Vec<&Value> = arr(dx, "mimics")
        .iter()
        .filter(|m| matches!(s(m, "status"), "present" | "possible"))
        .collect();
    if !mimics.is_empty() {
        out.push_str("<section class=\"card\" aria-labelledby=\"mimic-title\">\n<h2 id=\"mimic-title\">Could it be something else?</h2>\n");
        for m in mimics {
            let _ = writeln!(
                out,
                "<article class=\"finding\"><h3>{} <span class=\"badge {}\">{}</span></h3>",
                esc(s(m, "name")),
                esc(s(m, "status")),
                esc(s(m, "status"))
            );
            evidence_list(&mut out, arr(m, "evidence"));
            let _ = writeln!(out, "<p>{}</p></article>", esc(s(m, "advice")));
        }
        out.push_str("</section>\n");
    }

    // The criteria.
    out.push_str("<section class=\"card\" aria-labelledby=\"criteria-title\">\n<h2 id=\"criteria-title\">The five diagnostic questions</h2>\n<ul class=\"criteria\">");
    for c in arr(dx, "criteria") {
        let st = s(c, "status");
        let words = match st {
            "met" => "yes",
            "not-met" => "no",
            _ => "not answered",
        };
        let _ = write!(out, "<li>{}: <strong>{words}</strong></li>", esc(s(c, "name")));
    }
    out.push_str("</ul>\n</section>\n");

    let warnings = arr(doc, "warnings");
    if !warnings.is_empty() {
        out.push_str("<section class=\"card\" aria-labelledby=\"unused-title\">\n<h2 id=\"unused-title\">Parts of your data that were not used</h2>\n<ul>");
        for w in warnings {
            let _ = write!(
                out,
                "<li>{} <span class=\"src\">({})</span></li>",
                esc(s(w, "message")),
                esc(s(w, "source"))
            );
        }
        out.push_str("</ul>\n</section>\n");
    }

    // Was this useful? Only on the web page, which can send the answer.
    if controls.is_some() {
        useful(&mut out, findings);
    }

    let _ = writeln!(
        out,
        "<section class=\"disclaimer\" aria-label=\"Disclaimer\"><p><strong>Not medical advice.</strong> {}</p>\n<p class=\"muted\">restless {} \u{b7} knowledge base {} \u{b7} assessed as of {}</p></section>",
        esc(s(doc, "disclaimer")),
        esc(s(doc, "engine_version")),
        esc(s(doc, "kb_version")),
        esc(s(doc, "as_of"))
    );
    out
}

/// The "was this useful?" form, carrying the ids of the causes found.
fn useful(out: &mut String, findings: &[Value]) {
    out.push_str("<section class=\"card no-print useful\" aria-labelledby=\"useful-title\">\n<h2 id=\"useful-title\">Was this report useful?</h2>\n<form method=\"post\" action=\"/feedback/useful\" class=\"useful-form\">\n");
    for f in findings.iter().filter(|f| matches!(s(f, "status"), "present" | "possible")) {
        let _ = writeln!(
            out,
            "<input type=\"hidden\" name=\"cause\" value=\"{}\">",
            esc(s(f, "cause"))
        );
    }
    out.push_str(
        "<p class=\"hint\">Only your answer and the names of the causes found are sent; nothing about you.</p>\n\
<div class=\"buttons\"><button type=\"submit\" name=\"useful\" value=\"yes\" class=\"secondary\">Yes, it was useful</button>\n\
<button type=\"submit\" name=\"useful\" value=\"no\" class=\"secondary\">No, it was not</button></div>\n<p class=\"thanks\" role=\"status\"></p>\n</form>\n</section>\n",
    );
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn doc() -> Value {
        json!({
            "classification": {"kind": "secondary", "summary": "Points to <secondary> RLS"},
            "diagnosis": {"status": "criteria-met", "criteria": [], "mimics": []},
            "findings": [{
                "cause": "iron-deficiency", "name": "Iron deficiency", "kind": "secondary-cause",
                "status": "present", "strength": "strong", "advice": "Check ferritin.",
                "evidence": [{"source": "labs[0]", "value": "<b>20</b> ng/mL", "rule": "low"}],
                "references": []
            }],
            "workup": [], "questions": [], "warnings": [], "references": [],
            "disclaimer": "Supports, does not replace, a clinician.",
            "engine_version": "0.1.0", "kb_version": "2026.1.0", "as_of": "2026-11-27"
        })
    }

    #[test]
    fn the_standalone_report_loads_nothing_and_keeps_the_disclaimer() {
        let html = standalone(&doc());
        assert!(html.starts_with("<!doctype html>"));
        assert!(html.ends_with("</html>\n"));
        assert!(html.contains(&format!("<style>\n{}</style>", super::super::CSS)), "inline style");
        for loads in ["<script", "<link", "<img", "<iframe", " src=", "url("] {
            assert!(!html.contains(loads), "{loads}");
        }
        // No controls that lead back into the web page.
        for control in ["<form", "<button", "href=\"/\"", "/feedback/useful"] {
            assert!(!html.contains(control), "{control}");
        }
        assert!(html.contains("<h4>Iron deficiency</h4>"));
        assert!(html.contains("&lt;b&gt;20&lt;/b&gt; ng/mL"));
        assert!(html.contains("Points to &lt;secondary&gt; RLS"));
        assert!(html.contains(
            "<strong>Not medical advice.</strong> Supports, does not replace, a clinician."
        ));
    }

    #[test]
    fn the_inline_style_sheet_cannot_close_its_element() {
        assert!(!super::super::CSS.contains("</"));
    }

    #[test]
    fn the_web_page_keeps_its_controls() {
        let html = render(&doc(), "<form id=\"download\"></form>\n");
        assert!(
            html.contains("data-print hidden>Print this report</button>\n<form id=\"download\">")
        );
        assert!(html.contains("href=\"/\">Start again</a>"));
        assert!(html.contains("action=\"/feedback/useful\""));
        assert!(html.contains("<input type=\"hidden\" name=\"cause\" value=\"iron-deficiency\">"));
    }
}
