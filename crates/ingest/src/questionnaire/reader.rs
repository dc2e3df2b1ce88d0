//! A small checked walk over a JSON document: typed getters that record a problem (with the
//! JSON pointer) instead of failing, and remember which keys were read so the rest can be
//! reported as unknown fields.

use restless_facts::Date;
use serde_json::{Map, Value};

use crate::{IngestError, Ingested, Problem, Warning};

#[derive(Default)]
pub(crate) struct Reader {
    problems: Vec<Problem>,
    warnings: Vec<Warning>,
}

/// One JSON object being read, with the keys taken so far.
pub(crate) struct Obj<'a> {
    path: String,
    map: &'a Map<String, Value>,
    used: Vec<&'static str>,
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "true/false",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// Escapes a key for a JSON pointer (RFC 6901).
fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

impl Reader {
    pub(crate) fn problem(&mut self, path: &str, expected: impl Into<String>) {
        self.problems.push(Problem::new(path, expected));
    }

    pub(crate) fn warn(&mut self, path: &str, message: impl Into<String>) {
        self.warnings.push(super::warnings_into(path, message.into()));
    }

    pub(crate) fn root<'a>(&mut self, v: &'a Value) -> Option<Obj<'a>> {
        self.object_at(v, "")
    }

    pub(crate) fn object_at<'a>(&mut self, v: &'a Value, path: &str) -> Option<Obj<'a>> {
        match v {
            Value::Object(map) => Some(Obj { path: path.to_owned(), map, used: Vec::new() }),
            other => {
                self.problem(path, format!("an object, found {}", type_name(other)));
                None
            }
        }
    }

    pub(crate) fn into_problems(self) -> Vec<Problem> {
        self.problems
    }

    pub(crate) fn finish(
        mut self,
        record: restless_facts::PatientRecord,
    ) -> Result<Ingested, IngestError> {
        if self.problems.is_empty() {
            self.warnings.sort();
            self.warnings.dedup();
            Ok(Ingested { record, warnings: self.warnings, tally: None })
        } else {
            Err(IngestError::Invalid(self.problems))
        }
    }
}

impl<'a> Obj<'a> {
    pub(crate) fn child_path(&self, key: &str) -> String {
        format!("{}/{}", self.path, escape(key))
    }

    /// The raw value of a key (null counts as absent), marking it read.
    pub(crate) fn raw(&mut self, key: &'static str) -> Option<&'a Value> {
        self.used.push(key);
        self.map.get(key).filter(|v| !v.is_null())
    }

    pub(crate) fn boolean(&mut self, r: &mut Reader, key: &'static str) -> Option<bool> {
        let v = self.raw(key)?;
        match v {
            Value::Bool(b) => Some(*b),
            other => {
                r.problem(
                    &self.child_path(key),
                    format!("true or false, found {}", type_name(other)),
                );
                None
            }
        }
    }

    pub(crate) fn number(
        &mut self,
        r: &mut Reader,
        key: &'static str,
        min: f64,
        max: f64,
    ) -> Option<f64> {
        let v = self.raw(key)?;
        match v.as_f64() {
            Some(n) if n.is_finite() && n >= min && n <= max => Some(n),
            Some(n) => {
                r.problem(
                    &self.child_path(key),
                    format!("a number from {min} to {max}, found {n}"),
                );
                None
            }
            None => {
                r.problem(&self.child_path(key), format!("a number, found {}", type_name(v)));
                None
            }
        }
    }

    pub(crate) fn string(&mut self, r: &mut Reader, key: &'static str) -> Option<&'a str> {
        let v = self.raw(key)?;
        match v {
            Value::String(s) => Some(s.as_str()),
            other => {
                r.problem(&self.child_path(key), format!("text, found {}", type_name(other)));
                None
            }
        }
    }

    pub(crate) fn choice(
        &mut self,
        r: &mut Reader,
        key: &'static str,
        allowed: &[&'static str],
    ) -> Option<&'static str> {
        let s = self.string(r, key)?;
        match allowed.iter().find(|a| **a == s) {
            Some(a) => Some(a),
            None => {
                r.problem(
                    &self.child_path(key),
                    format!(
                        "one of {}",
                        allowed.iter().map(|a| format!("\"{a}\"")).collect::<Vec<_>>().join(", ")
                    ),
                );
                None
            }
        }
    }

    pub(crate) fn date(&mut self, r: &mut Reader, key: &'static str) -> Option<Date> {
        let s = self.string(r, key)?;
        match Date::parse_from_str(s, "%Y-%m-%d") {
            Ok(d) => Some(d),
            Err(_) => {
                r.problem(&self.child_path(key), "a date as YYYY-MM-DD");
                None
            }
        }
    }

    pub(crate) fn object(&mut self, r: &mut Reader, key: &'static str) -> Option<Obj<'a>> {
        let v = self.raw(key)?;
        let path = self.child_path(key);
        r.object_at(v, &path)
    }

    pub(crate) fn array(&mut self, r: &mut Reader, key: &'static str) -> Option<&'a Vec<Value>> {
        let v = self.raw(key)?;
        match v {
            Value::Array(items) => Some(items),
            other => {
                r.problem(&self.child_path(key), format!("a list, found {}", type_name(other)));
                None
            }
        }
    }

    /// Reports keys that were never read as unknown fields (warnings, not errors).
    pub(crate) fn finish(self, r: &mut Reader) {
        for key in self.map.keys() {
            if !self.used.iter().any(|u| u == key) {
                r.warn(&format!("{}/{}", self.path, escape(key)), "unknown field; ignored");
            }
        }
    }
}
