//! Minimal, self-contained HTML for people who open an API URL in a browser: the assessment
//! report (`POST /v1/assess` with `Accept: text/html`) and the knowledge-base pages that CDS
//! cards link to (`/v1/causes`, `/v1/causes/{id}`). Built from the JSON report v1 document
//! and the knowledge base, every text escaped; no scripts, no external resources. The web
//! page of issue 6 will replace the report page.

use std::fmt::Write as _;

use restless_kb::{Cause, Kb};
use serde_json::Value;

/// Escapes text for HTML element content and attribute values.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n\
<style>body{{font-family:system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;\
line-height:1.5;color:#222}}table{{border-collapse:collapse;width:100%}}td,th{{border:1px solid #ccc;\
padding:.3rem .5rem;text-align:left;vertical-align:top}}.present{{color:#a40000}}\
.possible{{color:#8a5a00}}small{{color:#555}}</style>\n</head>\n<body>\n{}\n</body>\n</html>\n",
        esc(title),
        body
    )
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}

fn arr<'a>(v: &'a Value, k: &str) -> &'a [Value] {
    v.get(k).and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

fn evidence_table(out: &mut String, items: &[Value]) {
    if items.is_empty() {
        return;
    }
    out.push_str(
        "<table><tr><th>source</th><th>fact</th><th>value</th><th>date</th><th>rule</th></tr>\n",
    );
    for e in items {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(s(e, "source")),
            esc(s(e, "fact")),
            esc(s(e, "value")),
            esc(s(e, "date")),
            esc(s(e, "rule"))
        );
    }
    out.push_str("</table>\n");
}

/// The report page from a JSON report v1 document.
pub(crate) fn report(doc: &Value, base_url: &str) -> String {
    let mut b = String::new();
    let cls = doc.get("classification").unwrap_or(&Value::Null);
    let _ = writeln!(
        b,
        "<h1>Restless legs: causes</h1>\n<p><strong>{}</strong>: {}</p>",
        esc(s(cls, "kind")),
        esc(s(cls, "summary"))
    );
    let dx = doc.get("diagnosis").unwrap_or(&Value::Null);
    let _ = writeln!(b, "<p>Diagnostic criteria: {}</p>", esc(s(dx, "status")));
    let shown: Vec<&Value> = arr(doc, "findings")
        .iter()
        .filter(|f| matches!(s(f, "status"), "present" | "possible"))
        .collect();
    b.push_str("<h2>Findings</h2>\n");
    if shown.is_empty() {
        b.push_str("<p>No cause or aggravator is present or possible in these data.</p>\n");
    }
    for f in shown {
        let status = s(f, "status");
        let _ = writeln!(
            b,
            "<h3 class=\"{}\">{} — {} <small>({}, evidence {})</small></h3>",
            esc(status),
            esc(s(f, "name")),
            esc(status),
            esc(s(f, "kind")),
            esc(s(f, "strength"))
        );
        evidence_table(&mut b, arr(f, "evidence"));
        let _ = writeln!(
            b,
            "<p>{}</p>\n<p><a href=\"{}/v1/causes/{}\">About this cause</a></p>",
            esc(s(f, "advice")),
            esc(base_url),
            esc(s(f, "cause"))
        );
    }
    let workup = arr(doc, "workup");
    if !workup.is_empty() {
        b.push_str("<h2>Tests that would settle open questions</h2>\n<ul>\n");
        for w in workup {
            let _ = writeln!(b, "<li>{}</li>", esc(s(w, "test")));
        }
        b.push_str("</ul>\n");
    }
    let questions = arr(doc, "questions");
    if !questions.is_empty() {
        b.push_str("<h2>Questions to ask</h2>\n<ul>\n");
        for q in questions {
            let _ = writeln!(b, "<li>{}</li>", esc(s(q, "question")));
        }
        b.push_str("</ul>\n");
    }
    let warnings = arr(doc, "warnings");
    if !warnings.is_empty() {
        b.push_str("<h2>Input not used</h2>\n<ul>\n");
        for w in warnings {
            let _ = writeln!(b, "<li>{}: {}</li>", esc(s(w, "source")), esc(s(w, "message")));
        }
        b.push_str("</ul>\n");
    }
    let _ = writeln!(
        b,
        "<p><small>restless {} · knowledge base {} · as of {}</small></p>\n<p><small>{}</small></p>",
        esc(s(doc, "engine_version")),
        esc(s(doc, "kb_version")),
        esc(s(doc, "as_of")),
        esc(s(doc, "disclaimer"))
    );
    page("restless report", &b)
}

/// The list of knowledge-base entries.
pub(crate) fn cause_list(kb: &Kb, base_url: &str) -> String {
    let mut b = String::new();
    let _ = writeln!(
        b,
        "<h1>What restless knows</h1>\n<p>Knowledge base {} (reviewed {}).</p>\n<table><tr><th>entry</th><th>kind</th><th>evidence</th></tr>",
        esc(kb.version()),
        kb.reviewed()
    );
    for c in kb.causes() {
        let _ = writeln!(
            b,
            "<tr><td><a href=\"{}/v1/causes/{}\">{}</a></td><td>{}</td><td>{}</td></tr>",
            esc(base_url),
            esc(&c.id),
            esc(&c.name),
            c.kind.name(),
            c.strength.name()
        );
    }
    b.push_str("</table>\n");
    page("restless knowledge base", &b)
}

/// One knowledge-base entry in full.
pub(crate) fn cause(kb: &Kb, c: &Cause, base_url: &str) -> String {
    let mut b = String::new();
    let _ = writeln!(
        b,
        "<h1>{}</h1>\n<p><small>{} · strength of evidence: {} · reviewed {}</small></p>\n<p>{}</p>\n<h2>Evidence</h2>\n<p>{}</p>",
        esc(&c.name),
        c.kind.name(),
        c.strength.name(),
        c.reviewed,
        esc(&c.summary),
        esc(&c.evidence)
    );
    if let Some(q) = &c.qualifies_seed {
        let _ = writeln!(b, "<p>{}</p>", esc(q));
    }
    b.push_str("<h2>How restless detects it</h2>\n<ul>\n");
    for (when, words) in restless_report::kb_page::rule_in_words(c) {
        let _ = writeln!(b, "<li>{}: {}</li>", esc(when), esc(&words));
    }
    let _ = writeln!(b, "</ul>\n<h2>What to do</h2>\n<p>{}</p>", esc(&c.advice));
    b.push_str("<h2>Sources</h2>\n<ol>\n");
    for id in &c.references {
        match kb.reference(id) {
            Some(r) => {
                let link = r
                    .url
                    .as_deref()
                    .map(|u| format!(" <a href=\"{}\">link</a>", esc(u)))
                    .unwrap_or_default();
                let _ = writeln!(b, "<li>{}{link}</li>", esc(&r.citation));
            }
            None => {
                let _ = writeln!(b, "<li>{}</li>", esc(id));
            }
        }
    }
    let _ = writeln!(
        b,
        "</ol>\n<p><a href=\"{}/v1/causes\">Every entry</a></p>\n<p><small>{}</small></p>",
        esc(base_url),
        esc(kb.disclaimer())
    );
    page(&c.name, &b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(esc("<script>\"x\" & 'y'"), "&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39;");
    }
}
