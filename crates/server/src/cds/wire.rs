//! CDS Hooks 2.0 wire types: the hook request as read (leniently — real clients send odd
//! shapes; every oddity is noted by JSON path, never by value, and logged), and the response
//! types as written (strictly: required fields always, optional fields only when non-empty).

use std::collections::BTreeMap;

use restless_ingest::fhir::{Piece, PlainPiece};
use restless_ingest::lenient::{Lenient, Shape};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

// ---------------------------------------------------------------------------------------------
// Responses.

/// A discovery response.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Discovery {
    /// The services.
    pub services: Vec<Service>,
}

/// One CDS service.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Service {
    /// The hook it answers.
    pub hook: String,
    /// Human-friendly name.
    pub title: String,
    /// What it does.
    pub description: String,
    /// Its id: the last segment of its URL.
    pub id: String,
    /// FHIR queries the client should run ahead of time.
    #[schema(value_type = Object)]
    pub prefetch: serde_json::Map<String, Value>,
    /// Notes for people integrating it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage_requirements: Option<String>,
}

/// The answer to a hook call.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct CdsResponse {
    /// Cards to show; empty when there is nothing useful to say.
    pub cards: Vec<Card>,
}

/// A card.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Card {
    /// Unique id, for feedback.
    pub uuid: String,
    /// One sentence, under 140 characters.
    pub summary: String,
    /// Markdown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// info | warning | critical
    pub indicator: Indicator,
    /// Who says so.
    pub source: Source,
    /// Proposed actions.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub suggestions: Vec<Suggestion>,
    /// at-most-one | any; present exactly when there are suggestions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selection_behavior: Option<SelectionBehavior>,
    /// Reasons a clinician may give for not following the card.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub override_reasons: Vec<Coding>,
    /// Where to read more.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<Link>,
}

/// Card urgency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Indicator {
    /// For information.
    Info,
    /// Worth acting on.
    Warning,
    /// Act now (restless never uses it: restless legs are not an emergency).
    Critical,
}

impl Indicator {
    /// The wire spelling.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Indicator::Info => "info",
            Indicator::Warning => "warning",
            Indicator::Critical => "critical",
        }
    }
}

/// How many suggestions may be chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SelectionBehavior {
    /// One at most.
    AtMostOne,
    /// Any number.
    Any,
}

/// The source of a card.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Source {
    /// Name shown to the user.
    pub label: String,
    /// Where to learn about the source.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// What the card is about, for analytics of feedback.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic: Option<Coding>,
}

/// A FHIR Coding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Coding {
    /// Code system.
    pub system: String,
    /// Code.
    pub code: String,
    /// Text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
}

/// A link on a card.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Link {
    /// Text.
    pub label: String,
    /// Absolute URL.
    pub url: String,
    /// absolute | smart
    #[serde(rename = "type")]
    pub kind: String,
}

/// A suggestion.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Suggestion {
    /// Text of the button.
    pub label: String,
    /// Unique id, for feedback.
    pub uuid: String,
    /// Whether restless recommends it above the others (never set: a clinical choice).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_recommended: Option<bool>,
    /// What it does.
    pub actions: Vec<Action>,
}

/// An action of a suggestion.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Action {
    /// create | update | delete
    #[serde(rename = "type")]
    pub kind: ActionType,
    /// What it does, for people.
    pub description: String,
    /// The resource to create or the updated resource.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub resource: Option<Value>,
    /// The resource to delete, `Type/id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_id: Option<String>,
}

/// Kinds of action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ActionType {
    /// Create a resource.
    Create,
    /// Replace a resource.
    Update,
    /// Remove a resource.
    Delete,
}

// ---------------------------------------------------------------------------------------------
// Requests, read leniently.

/// `fhirAuthorization`.
#[derive(Debug, Clone, Default)]
pub struct FhirAuthorization {
    /// The bearer token for the FHIR server.
    pub access_token: String,
    /// Token type (`Bearer`).
    pub token_type: String,
}

/// A hook request as far as restless uses it. The prefetch is split into resources in the same
/// pass, their text borrowed from the body: they are read later without building a tree of
/// what restless does not use.
#[derive(Debug, Default)]
pub struct HookRequest<'a> {
    /// `hook`.
    pub hook: Option<String>,
    /// `hookInstance`.
    pub hook_instance: Option<String>,
    /// `fhirServer`.
    pub fhir_server: Option<String>,
    /// `fhirAuthorization`.
    pub fhir_authorization: Option<FhirAuthorization>,
    /// `context.patientId`.
    pub patient_id: Option<String>,
    /// `context.selections` (`Type/id`).
    pub selections: Vec<String>,
    /// Whether `context.selections` was given.
    pub has_selections: bool,
    /// Resources of `context.draftOrders`.
    pub draft_orders: Vec<Value>,
    /// Whether `context.draftOrders` was given.
    pub has_draft_orders: bool,
    /// `prefetch`, key by key; `null` values kept (they mean "could not prefetch").
    pub prefetch: BTreeMap<String, Piece<'a>>,
    /// The body's text, which the prefetch pieces borrow from (empty when the body is not
    /// UTF-8: its pieces then borrow nothing).
    pub source: &'a str,
}

/// The top level of a hook request: the small members parsed, the prefetch split into
/// resources (`P`: [`Piece`] or [`PlainPiece`]).
#[derive(Deserialize)]
#[serde(bound(deserialize = "P: Deserialize<'de>"))]
struct Top<P> {
    #[serde(default)]
    hook: Option<Value>,
    #[serde(rename = "hookInstance", default)]
    hook_instance: Option<Value>,
    #[serde(rename = "fhirServer", default)]
    fhir_server: Option<Value>,
    #[serde(rename = "fhirAuthorization", default)]
    fhir_authorization: Option<Value>,
    #[serde(default)]
    context: Option<Value>,
    #[serde(default)]
    prefetch: Shape<Members<P>>,
}

impl<'a> Top<PlainPiece<'a>> {
    fn into_pieces(self) -> Top<Piece<'a>> {
        let prefetch = match self.prefetch {
            Shape::Absent => Shape::Absent,
            Shape::Other => Shape::Other,
            Shape::Is(Members(map)) => {
                Shape::Is(Members(map.into_iter().map(|(k, PlainPiece(p))| (k, p)).collect()))
            }
        };
        Top {
            hook: self.hook,
            hook_instance: self.hook_instance,
            fhir_server: self.fhir_server,
            fhir_authorization: self.fhir_authorization,
            context: self.context,
            prefetch,
        }
    }
}

/// The `prefetch` member's values, key by key (read in the same pass as the rest of the body).
struct Members<P>(BTreeMap<String, P>);

impl<'de, P: Deserialize<'de>> Lenient<'de> for Members<P> {
    fn from_map<A: serde::de::MapAccess<'de>>(mut map: A) -> Result<Option<Self>, A::Error> {
        let mut members = BTreeMap::new();
        while let Some((k, v)) = map.next_entry::<String, P>()? {
            members.insert(k, v);
        }
        Ok(Some(Members(members)))
    }
}

/// Why a body is not a hook request at all.
#[derive(Debug)]
pub enum ReadError {
    /// Not JSON.
    Syntax(serde_json::Error),
    /// JSON, but not an object.
    NotObject,
}

fn str_at(
    obj: &Map<String, Value>,
    key: &str,
    path: &str,
    notes: &mut Vec<String>,
) -> Option<String> {
    match obj.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => {
            notes.push(format!("{path}/{key}: a number where a string was expected; read as text"));
            Some(n.to_string())
        }
        Some(_) => {
            notes.push(format!("{path}/{key}: not a string; ignored"));
            None
        }
    }
}

/// Resources of a Bundle (its `entry[].resource`), or the value itself when it is a resource;
/// an array of resources is accepted too.
pub fn resources_of(v: &Value, path: &str, notes: &mut Vec<String>) -> Vec<Value> {
    match v {
        Value::Object(o) => match o.get("resourceType").and_then(Value::as_str) {
            Some("Bundle") => match o.get("entry") {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Array(entries)) => entries
                    .iter()
                    .enumerate()
                    .filter_map(|(i, e)| match e.get("resource") {
                        Some(r @ Value::Object(_)) => Some(r.clone()),
                        _ => {
                            notes.push(format!("{path}/entry/{i}: no resource object; skipped"));
                            None
                        }
                    })
                    .collect(),
                Some(_) => {
                    notes.push(format!("{path}/entry: not an array; ignored"));
                    Vec::new()
                }
            },
            Some(_) => vec![v.clone()],
            None => {
                notes.push(format!("{path}: an object without resourceType; ignored"));
                Vec::new()
            }
        },
        Value::Array(items) => {
            notes.push(format!("{path}: an array where a Bundle was expected; read as resources"));
            items
                .iter()
                .enumerate()
                .flat_map(|(i, item)| resources_of(item, &format!("{path}/{i}"), notes))
                .collect()
        }
        Value::Null => Vec::new(),
        _ => {
            notes.push(format!("{path}: neither a resource nor a Bundle; ignored"));
            Vec::new()
        }
    }
}

impl<'a> HookRequest<'a> {
    /// Reads a hook request from its body, tolerating what can be tolerated. `notes` receives
    /// one line per oddity, naming its JSON path only. The whole body is checked to be JSON.
    ///
    /// # Errors
    /// The body is not JSON, or not a JSON object: there is nothing to read.
    pub fn read(body: &'a [u8], notes: &mut Vec<String>) -> Result<HookRequest<'a>, ReadError> {
        let starts_object = body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
        if !starts_object {
            serde_json::from_slice::<serde::de::IgnoredAny>(body).map_err(ReadError::Syntax)?;
            return Err(ReadError::NotObject);
        }
        // Text checked to be UTF-8 once is read without checking each string again, and the
        // prefetch's typed resources are parsed in the same pass (`Piece`). When a resource has
        // a shape its typed path does not take, the body is read again the plain way
        // (`PlainPiece`), where every member is read as any JSON, so that only syntax (or a
        // repeated member) fails; a syntax error is the same either way and is not read twice.
        // A body that is not UTF-8 is read as bytes, for an error that says where.
        let plain = |top: Top<PlainPiece<'a>>| top.into_pieces();
        let (top, source) = match std::str::from_utf8(body) {
            Ok(text) => match serde_json::from_str::<Top<Piece<'a>>>(text) {
                Ok(top) => (top, text),
                Err(e) if !e.is_data() => return Err(ReadError::Syntax(e)),
                Err(_) => (serde_json::from_str(text).map(plain).map_err(ReadError::Syntax)?, text),
            },
            Err(_) => (serde_json::from_slice(body).map(plain).map_err(ReadError::Syntax)?, ""),
        };
        let mut obj = Map::new();
        for (k, v) in [
            ("hook", top.hook),
            ("hookInstance", top.hook_instance),
            ("fhirServer", top.fhir_server),
            ("fhirAuthorization", top.fhir_authorization),
            ("context", top.context),
        ] {
            if let Some(v) = v {
                obj.insert(k.to_owned(), v);
            }
        }
        let mut r = Self::read_members(&obj, notes);
        r.source = source;
        match top.prefetch {
            Shape::Absent => {}
            Shape::Is(Members(map)) => r.prefetch = map,
            Shape::Other => notes.push("/prefetch: not an object; ignored".to_owned()),
        }
        Ok(r)
    }

    fn read_members(obj: &Map<String, Value>, notes: &mut Vec<String>) -> HookRequest<'a> {
        let mut r = HookRequest {
            hook: str_at(obj, "hook", "", notes),
            hook_instance: str_at(obj, "hookInstance", "", notes),
            fhir_server: str_at(obj, "fhirServer", "", notes),
            ..HookRequest::default()
        };
        if r.hook_instance.is_none() {
            notes.push("/hookInstance: missing".to_owned());
        }
        match obj.get("fhirAuthorization") {
            None | Some(Value::Null) => {}
            Some(Value::Object(a)) => {
                let path = "/fhirAuthorization";
                match str_at(a, "access_token", path, notes) {
                    Some(token) => {
                        r.fhir_authorization = Some(FhirAuthorization {
                            access_token: token,
                            token_type: str_at(a, "token_type", path, notes)
                                .unwrap_or_else(|| "Bearer".to_owned()),
                        });
                    }
                    None => notes.push(format!("{path}/access_token: missing; not used")),
                }
            }
            Some(_) => notes.push("/fhirAuthorization: not an object; ignored".to_owned()),
        }
        match obj.get("context") {
            Some(Value::Object(c)) => {
                r.patient_id = str_at(c, "patientId", "/context", notes);
                match c.get("selections") {
                    None | Some(Value::Null) => {}
                    Some(Value::Array(items)) => {
                        r.has_selections = true;
                        for (i, s) in items.iter().enumerate() {
                            match s.as_str() {
                                Some(s) => r.selections.push(s.trim().to_owned()),
                                None => notes.push(format!(
                                    "/context/selections/{i}: not a string; ignored"
                                )),
                            }
                        }
                    }
                    Some(Value::String(s)) => {
                        notes.push(
                            "/context/selections: a string where an array was expected".to_owned(),
                        );
                        r.has_selections = true;
                        r.selections.push(s.trim().to_owned());
                    }
                    Some(_) => notes.push("/context/selections: not an array; ignored".to_owned()),
                }
                if let Some(d) = c.get("draftOrders").filter(|d| !d.is_null()) {
                    r.has_draft_orders = true;
                    r.draft_orders = resources_of(d, "/context/draftOrders", notes);
                }
            }
            None | Some(Value::Null) => notes.push("/context: missing".to_owned()),
            Some(_) => notes.push("/context: not an object; ignored".to_owned()),
        }
        r
    }
}

/// Cuts a summary to fewer than 140 characters at a word boundary, with an ellipsis.
#[must_use]
pub fn summary(s: &str) -> String {
    const MAX: usize = 139;
    if s.chars().count() <= MAX {
        return s.to_owned();
    }
    let cut: String = s.chars().take(MAX - 1).collect();
    let cut = match cut.rfind(' ') {
        Some(i) if i > MAX / 2 => &cut[..i],
        _ => cut.as_str(),
    };
    format!("{}…", cut.trim_end_matches([' ', ',', ';', ':']))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn summaries_stay_under_140_characters() {
        let long = "word ".repeat(60);
        let s = summary(&long);
        assert!(s.chars().count() < 140, "{}", s.chars().count());
        assert!(s.ends_with('…'));
        assert_eq!(summary("short"), "short");
        let unicode = "é".repeat(200);
        assert!(summary(&unicode).chars().count() < 140);
    }

    #[test]
    fn odd_requests_are_read_with_notes_by_path() {
        let v = json!({
            "hook": "order-select",
            "context": {"patientId": 123, "selections": "MedicationRequest/1",
                        "draftOrders": [{"resourceType": "MedicationRequest", "id": "1"}]},
            "prefetch": {"patient": null},
            "fhirAuthorization": {"token_type": "Bearer"}
        });
        let mut notes = Vec::new();
        let body = serde_json::to_vec(&v).unwrap();
        let r = HookRequest::read(&body, &mut notes).unwrap();
        assert_eq!(r.patient_id.as_deref(), Some("123"));
        assert_eq!(r.selections, ["MedicationRequest/1"]);
        assert_eq!(r.draft_orders.len(), 1);
        assert!(r.fhir_authorization.is_none());
        assert!(r.prefetch.contains_key("patient"));
        assert!(notes.iter().any(|n| n.starts_with("/hookInstance")));
        assert!(notes.iter().all(|n| !n.contains("123")), "{notes:?}");
        assert!(matches!(HookRequest::read(b"[1]", &mut notes), Err(ReadError::NotObject)));
        assert!(matches!(HookRequest::read(b"{\"hook\": ", &mut notes), Err(ReadError::Syntax(_))));
        // Bytes that are not UTF-8 inside a prefetched resource: a syntax error that says where.
        let bad =
            b"{\"context\": {},\n \"prefetch\": {\"p\": {\"resourceType\": \"Pa\xfftient\"}}}";
        match HookRequest::read(bad, &mut notes) {
            Err(ReadError::Syntax(e)) => assert_eq!((e.line(), e.column()), (2, 40)),
            other => panic!("{other:?}"),
        }
        // Prefetch values stay text; a prefetch that is not an object is noted.
        let r =
            HookRequest::read(br#"{"prefetch": {"p": {"resourceType": "Patient"}}}"#, &mut notes)
                .unwrap();
        assert_eq!(r.prefetch["p"].object_text(), Some(r#"{"resourceType":"Patient"}"#));
        let mut notes = Vec::new();
        let r = HookRequest::read(br#"{"prefetch": [1], "context": {}}"#, &mut notes).unwrap();
        assert!(r.prefetch.is_empty());
        assert!(notes.iter().any(|n| n == "/prefetch: not an object; ignored"), "{notes:?}");
    }

    /// A prefetched resource of a shape the body's single pass does not take (here a
    /// `subject` written as a string) does not make the request unreadable: the body is read
    /// again the plain way, and its prefetch gives what its text gives.
    #[test]
    fn a_prefetch_the_single_pass_cannot_take_is_read_plainly() {
        use restless_ingest::fhir::{Collector, LoincFilter};
        let kb = restless_kb::Kb::embedded().unwrap();
        let filter = LoincFilter::new(&kb);
        let as_of = "2026-11-27".parse().unwrap();
        for subject in [r#"{"reference": "Patient/p1"}"#, r#""Patient/p1""#] {
            let bundle = format!(
                r#"{{"resourceType": "Bundle", "type": "searchset", "entry": [{{"resource":
                {{"resourceType": "Observation", "id": "o1", "status": "final",
                  "code": {{"coding": [{{"system": "http://loinc.org", "code": "2276-4"}}]}},
                  "subject": {subject}, "effectiveDateTime": "2026-10-01",
                  "valueQuantity": {{"value": 12, "unit": "ng/mL",
                    "system": "http://unitsofmeasure.org", "code": "ng/mL"}}}}}}]}}"#
            );
            let body = format!(r#"{{"hook": "patient-view", "prefetch": {{"labs": {bundle}}}}}"#);
            let mut notes = Vec::new();
            let r = HookRequest::read(body.as_bytes(), &mut notes).unwrap();
            let mut a = Collector::new(&filter).typed(&kb, as_of);
            let mut b = Collector::new(&filter).typed(&kb, as_of);
            a.add(&bundle, "/prefetch/labs").unwrap();
            b.add_piece(&r.prefetch["labs"], r.source, "/prefetch/labs").unwrap();
            let seen = |c: &Collector<'_>| {
                let labs: Vec<_> = c.labs.iter().map(|l| (&l.lab, l.text.get())).collect();
                format!("{labs:?} {:?} {:?}", c.resources, c.stats)
            };
            assert_eq!(seen(&a), seen(&b), "subject {subject}");
            assert_eq!(a.labs.len() + a.resources.len(), 1, "subject {subject}");
            // A syntax error after the resource is reported where it is, either way.
            let broken = format!("{}\n  ]", &body[..body.len() - 1]);
            match HookRequest::read(broken.as_bytes(), &mut notes) {
                Err(ReadError::Syntax(e)) => {
                    assert_eq!((e.line(), e.column()), (7, 3), "subject {subject}: {e}");
                }
                other => panic!("{other:?}"),
            }
        }
    }
}
