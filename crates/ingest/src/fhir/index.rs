//! Flattens the input into a list of resources and resolves references between them:
//! `Type/id`, absolute URLs ending in `Type/id`, `urn:uuid:` full URLs, and `#id` for
//! contained resources.

use std::collections::HashMap;

use restless_facts::Warning;
use serde_json::Value;

use super::{Found, warn};

#[derive(Default)]
pub(crate) struct Index<'a> {
    pub resources: Vec<Found<'a>>,
    by_ref: HashMap<String, usize>,
    /// (index of the containing resource, local id) -> contained resource
    contained: HashMap<(usize, String), usize>,
    /// For each resource, the index of the resource that contains it.
    pub parent: HashMap<usize, usize>,
}

fn type_of(v: &Value) -> Option<&str> {
    v.get("resourceType").and_then(Value::as_str)
}

impl<'a> Index<'a> {
    pub(crate) fn add_document(
        &mut self,
        doc: &'a Value,
        doc_no: usize,
        warnings: &mut Vec<Warning>,
    ) {
        self.add(doc, None, &format!("document {}", doc_no + 1), warnings);
    }

    fn add(
        &mut self,
        v: &'a Value,
        full_url: Option<&str>,
        place: &str,
        warnings: &mut Vec<Warning>,
    ) {
        let Some(kind) = type_of(v) else {
            warn(warnings, place, "entry without a resource type; skipped");
            return;
        };
        if kind == "Bundle" {
            let name = v
                .get("id")
                .and_then(Value::as_str)
                .map_or_else(|| format!("Bundle[{place}]"), |id| format!("Bundle/{id}"));
            if v.get("type").is_none() {
                warn(warnings, &name, "Bundle has no type; read as a collection");
            }
            match v.get("entry") {
                Some(Value::Array(entries)) => {
                    for (i, e) in entries.iter().enumerate() {
                        let place = format!("{name} entry {i}");
                        match e.get("resource") {
                            Some(r) if r.is_object() => self.add(
                                r,
                                e.get("fullUrl").and_then(Value::as_str),
                                &place,
                                warnings,
                            ),
                            // transaction-response entries may carry only a response
                            _ => {}
                        }
                    }
                }
                Some(_) => warn(warnings, &name, "Bundle.entry is not a list; ignored"),
                None => {}
            }
            return;
        }
        // A resource without an id is still `Type/id` when its full URL ends that way.
        let id = v.get("id").and_then(Value::as_str).or_else(|| {
            full_url.and_then(type_and_id).filter(|(k, _)| *k == kind).map(|(_, fid)| fid)
        });
        let name = match id {
            Some(id) => format!("{kind}/{id}"),
            None => format!("{kind}[{place}]"),
        };
        let at = self.resources.len();
        self.resources.push(Found { resource: v, name: name.clone() });
        if id.is_some() && self.by_ref.insert(name.clone(), at).is_some() {
            warn(
                warnings,
                &name,
                "the same resource id appears twice; references go to the last one",
            );
        }
        if let Some(url) = full_url {
            self.by_ref.insert(url.to_owned(), at);
        }
        if let Some(Value::Array(contained)) = v.get("contained") {
            for c in contained {
                let Some(cid) = c.get("id").and_then(Value::as_str) else {
                    warn(
                        warnings,
                        &name,
                        "contained resource without an id; it cannot be referenced",
                    );
                    continue;
                };
                let ckind = type_of(c).unwrap_or("Resource");
                let cat = self.resources.len();
                self.resources.push(Found { resource: c, name: format!("{name}#{cid} ({ckind})") });
                self.contained.insert((at, cid.trim_start_matches('#').to_owned()), cat);
                self.parent.insert(cat, at);
            }
        }
    }

    /// Resolves a reference made from the resource at `from`.
    pub(crate) fn resolve(&self, from: usize, reference: &str) -> Option<usize> {
        let reference = reference.trim();
        if let Some(local) = reference.strip_prefix('#') {
            let owner = self.parent.get(&from).copied().unwrap_or(from);
            return self.contained.get(&(owner, local.to_owned())).copied();
        }
        if let Some(&i) = self.by_ref.get(reference) {
            return Some(i);
        }
        // Absolute or versioned: keep the last `Type/id` pair.
        let (kind, id) = type_and_id(reference)?;
        self.by_ref.get(&format!("{kind}/{id}")).copied()
    }
}

/// The `Type/id` pair a relative, absolute or versioned reference ends in.
fn type_and_id(reference: &str) -> Option<(&str, &str)> {
    if reference.starts_with('#') || reference.starts_with("urn:") {
        return None;
    }
    let parts: Vec<&str> = reference.trim().split('/').collect();
    let pos = parts.iter().position(|p| *p == "_history").unwrap_or(parts.len());
    (pos >= 2 && !parts[pos - 1].is_empty()).then(|| (parts[pos - 2], parts[pos - 1]))
}

/// The resource type a reference names (`Patient` for `Patient/p1` or
/// `https://x/fhir/Patient/p1/_history/2`), when it names one.
pub(crate) fn reference_type(reference: &str) -> Option<&str> {
    type_and_id(reference).map(|(kind, _)| kind)
}
