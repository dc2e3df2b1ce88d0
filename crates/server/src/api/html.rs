//! Minimal, self-contained HTML for people who open an API URL in a browser: the
//! knowledge-base pages that CDS cards link to (`/v1/causes`, `/v1/causes/{id}`), built from the
//! knowledge base, every text escaped; no scripts, no external resources. Also home of [`esc`],
//! the one HTML escaper of the server, which `web/` uses too. The assessment report as HTML
//! (`POST /v1/assess` with `Accept: text/html`) is the web page's report, `web::report`.

use std::fmt::Write as _;

use restless_kb::{Cause, Kb};

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
padding:.3rem .5rem;text-align:left;vertical-align:top}}small{{color:#555}}</style>\n</head>\n<body>\n{}\n</body>\n</html>\n",
        esc(title),
        body
    )
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
