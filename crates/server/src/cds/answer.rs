//! A hook's answer written as JSON bytes: the same text `serde_json` makes of a
//! [`CdsResponse`] (the tests compare the two on random answers), written directly.
//!
//! Why not `serde_json`: an answer is about 10 KB of card text, and `serde_json` looks at each
//! byte of every string for characters to escape, one at a time, writing through a growing
//! buffer; that was about a sixteenth of a patient-view call. Here strings are checked eight
//! bytes at a time (card text has almost nothing to escape) into a buffer sized once.

use serde_json::Value;

use super::wire::{
    Action, ActionType, Card, CdsResponse, Coding, Link, SelectionBehavior, Source, Suggestion,
};

impl CdsResponse {
    /// The answer as compact JSON, byte for byte what `serde_json::to_vec` gives.
    ///
    /// # Errors
    /// A suggested resource that `serde_json` cannot write (a [`Value`] always can).
    pub fn to_json(&self) -> Result<Vec<u8>, serde_json::Error> {
        let mut out =
            Out(Vec::with_capacity(16 + self.cards.iter().map(Card::size_hint).sum::<usize>()));
        out.raw(b"{\"cards\":[");
        for (i, card) in self.cards.iter().enumerate() {
            if i > 0 {
                out.raw(b",");
            }
            card.write(&mut out)?;
        }
        out.raw(b"]}");
        Ok(out.0)
    }
}

/// The buffer an answer is written to.
struct Out(Vec<u8>);

impl Out {
    fn raw(&mut self, bytes: &[u8]) {
        self.0.extend_from_slice(bytes);
    }

    /// `,"key":` (or without the comma for the first member), then the string `value`.
    fn member(&mut self, key: &[u8], value: &str) {
        self.raw(key);
        self.string(value);
    }

    /// A JSON string, escaped as `serde_json` escapes it: `"` and `\`, the control characters
    /// (`\b \f \n \r \t` by name, the others as `\u00XX`), nothing else.
    fn string(&mut self, s: &str) {
        let bytes = s.as_bytes();
        self.0.push(b'"');
        // Start of the bytes not yet copied.
        let mut run = 0;
        let mut i = 0;
        while i < bytes.len() {
            // Eight bytes at once while none needs escaping.
            if let Some(word) = bytes.get(i..).and_then(<[u8]>::first_chunk::<8>)
                && !needs_escape(u64::from_ne_bytes(*word))
            {
                i += 8;
                continue;
            }
            let b = bytes[i];
            if let Some(escape) = escape(b) {
                self.0.extend_from_slice(&bytes[run..i]);
                match escape {
                    Escape::Short(c) => self.0.extend_from_slice(&[b'\\', c]),
                    Escape::Unicode => {
                        const HEX: &[u8; 16] = b"0123456789abcdef";
                        self.0.extend_from_slice(b"\\u00");
                        self.0.push(HEX[usize::from(b >> 4)]);
                        self.0.push(HEX[usize::from(b & 0xf)]);
                    }
                }
                run = i + 1;
            }
            i += 1;
        }
        self.0.extend_from_slice(&bytes[run..]);
        self.0.push(b'"');
    }

    fn coding(&mut self, c: &Coding) {
        self.member(b"{\"system\":", &c.system);
        self.member(b",\"code\":", &c.code);
        if let Some(display) = &c.display {
            self.member(b",\"display\":", display);
        }
        self.raw(b"}");
    }

    /// `[item,item...]`.
    fn list<T>(
        &mut self,
        items: &[T],
        mut write: impl FnMut(&mut Self, &T) -> Result<(), serde_json::Error>,
    ) -> Result<(), serde_json::Error> {
        self.raw(b"[");
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                self.raw(b",");
            }
            write(self, item)?;
        }
        self.raw(b"]");
        Ok(())
    }
}

/// What a byte needs written in its place inside a JSON string.
enum Escape {
    /// `\` and this character.
    Short(u8),
    /// `\u00XX`.
    Unicode,
}

fn escape(b: u8) -> Option<Escape> {
    Some(match b {
        b'"' => Escape::Short(b'"'),
        b'\\' => Escape::Short(b'\\'),
        b'\n' => Escape::Short(b'n'),
        b'\r' => Escape::Short(b'r'),
        b'\t' => Escape::Short(b't'),
        0x08 => Escape::Short(b'b'),
        0x0c => Escape::Short(b'f'),
        0..0x20 => Escape::Unicode,
        _ => return None,
    })
}

/// Whether any of the eight bytes of `w` is `"`, `\` or below 0x20 (exact, no false answers
/// either way: the classic "has a zero byte" test on `w` compared with each).
fn needs_escape(w: u64) -> bool {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    let has_zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH != 0;
    // Bytes below 0x20: subtracting 0x20 from each borrows into the high bit, for bytes that had
    // it clear.
    let below_space = w.wrapping_sub(ONES * 0x20) & !w & HIGH != 0;
    below_space || has_zero(w ^ (ONES * u64::from(b'"'))) || has_zero(w ^ (ONES * u64::from(b'\\')))
}

impl Card {
    /// Room for the card's text with its keys and a little escaping.
    fn size_hint(&self) -> usize {
        let coding = |c: &Coding| {
            c.system.len() + c.code.len() + c.display.as_ref().map_or(0, String::len) + 48
        };
        let source = &self.source;
        256 + self.uuid.len()
            + self.summary.len()
            + self.detail.as_ref().map_or(0, String::len)
            + source.label.len()
            + source.url.as_ref().map_or(0, String::len)
            + source.topic.as_ref().map_or(0, coding)
            + self.override_reasons.iter().map(coding).sum::<usize>()
            + self
                .links
                .iter()
                .map(|l| l.label.len() + l.url.len() + l.kind.len() + 40)
                .sum::<usize>()
            + self.suggestions.iter().map(|s| s.label.len() + 256).sum::<usize>()
    }

    fn write(&self, out: &mut Out) -> Result<(), serde_json::Error> {
        out.member(b"{\"uuid\":", &self.uuid);
        out.member(b",\"summary\":", &self.summary);
        if let Some(detail) = &self.detail {
            out.member(b",\"detail\":", detail);
        }
        out.raw(b",\"indicator\":\"");
        out.raw(self.indicator.name().as_bytes());
        out.raw(b"\",\"source\":");
        write_source(out, &self.source);
        if !self.suggestions.is_empty() {
            out.raw(b",\"suggestions\":");
            out.list(&self.suggestions, write_suggestion)?;
        }
        if let Some(behavior) = self.selection_behavior {
            out.raw(match behavior {
                SelectionBehavior::AtMostOne => b",\"selectionBehavior\":\"at-most-one\"",
                SelectionBehavior::Any => b",\"selectionBehavior\":\"any\"",
            });
        }
        if !self.override_reasons.is_empty() {
            out.raw(b",\"overrideReasons\":");
            out.list(&self.override_reasons, |o, c| {
                o.coding(c);
                Ok(())
            })?;
        }
        if !self.links.is_empty() {
            out.raw(b",\"links\":");
            out.list(&self.links, |o, l| {
                write_link(o, l);
                Ok(())
            })?;
        }
        out.raw(b"}");
        Ok(())
    }
}

fn write_source(out: &mut Out, s: &Source) {
    out.member(b"{\"label\":", &s.label);
    if let Some(url) = &s.url {
        out.member(b",\"url\":", url);
    }
    if let Some(topic) = &s.topic {
        out.raw(b",\"topic\":");
        out.coding(topic);
    }
    out.raw(b"}");
}

fn write_link(out: &mut Out, l: &Link) {
    out.member(b"{\"label\":", &l.label);
    out.member(b",\"url\":", &l.url);
    out.member(b",\"type\":", &l.kind);
    out.raw(b"}");
}

fn write_suggestion(out: &mut Out, s: &Suggestion) -> Result<(), serde_json::Error> {
    out.member(b"{\"label\":", &s.label);
    out.member(b",\"uuid\":", &s.uuid);
    if let Some(recommended) = s.is_recommended {
        out.raw(if recommended { b",\"isRecommended\":true" } else { b",\"isRecommended\":false" });
    }
    out.raw(b",\"actions\":");
    out.list(&s.actions, write_action)?;
    out.raw(b"}");
    Ok(())
}

fn write_action(out: &mut Out, a: &Action) -> Result<(), serde_json::Error> {
    out.raw(b"{\"type\":");
    out.raw(match a.kind {
        ActionType::Create => b"\"create\"",
        ActionType::Update => b"\"update\"",
        ActionType::Delete => b"\"delete\"",
    });
    out.member(b",\"description\":", &a.description);
    if let Some(resource) = &a.resource {
        out.raw(b",\"resource\":");
        write_value(out, resource)?;
    }
    if let Some(id) = &a.resource_id {
        out.member(b",\"resourceId\":", id);
    }
    out.raw(b"}");
    Ok(())
}

/// A suggested resource: small and rare, left to `serde_json`.
fn write_value(out: &mut Out, v: &Value) -> Result<(), serde_json::Error> {
    serde_json::to_writer(&mut out.0, v)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;
    use crate::cds::wire::Indicator;

    fn text() -> impl Strategy<Value = String> {
        // Mostly card-like text, with every kind of character that needs escaping.
        prop_oneof!["[ -~]{0,40}", "[a-z\"\\\\\u{0}-\u{1f}\u{7f}é—🙂 ]{0,24}", any::<String>(),]
    }

    fn coding() -> impl Strategy<Value = Coding> {
        (text(), text(), proptest::option::of(text())).prop_map(|(system, code, display)| Coding {
            system,
            code,
            display,
        })
    }

    fn action() -> impl Strategy<Value = Action> {
        (
            prop_oneof![
                Just(ActionType::Create),
                Just(ActionType::Update),
                Just(ActionType::Delete)
            ],
            text(),
            proptest::option::of(text().prop_map(
                |t| json!({"resourceType": "MedicationRequest", "note": [{"text": t}], "n": 1.5}),
            )),
            proptest::option::of(text()),
        )
            .prop_map(|(kind, description, resource, resource_id)| Action {
                kind,
                description,
                resource,
                resource_id,
            })
    }

    fn suggestion() -> impl Strategy<Value = Suggestion> {
        (
            text(),
            text(),
            proptest::option::of(any::<bool>()),
            proptest::collection::vec(action(), 0..3),
        )
            .prop_map(|(label, uuid, is_recommended, actions)| Suggestion {
                label,
                uuid,
                is_recommended,
                actions,
            })
    }

    fn card() -> impl Strategy<Value = Card> {
        let source = (text(), proptest::option::of(text()), proptest::option::of(coding()))
            .prop_map(|(label, url, topic)| Source { label, url, topic });
        let link =
            (text(), text(), text()).prop_map(|(label, url, kind)| Link { label, url, kind });
        (
            (text(), text(), proptest::option::of(text())),
            prop_oneof![Just(Indicator::Info), Just(Indicator::Warning), Just(Indicator::Critical)],
            source,
            proptest::collection::vec(suggestion(), 0..3),
            proptest::option::of(prop_oneof![
                Just(SelectionBehavior::AtMostOne),
                Just(SelectionBehavior::Any)
            ]),
            proptest::collection::vec(coding(), 0..3),
            proptest::collection::vec(link, 0..3),
        )
            .prop_map(
                |(
                    (uuid, summary, detail),
                    indicator,
                    source,
                    suggestions,
                    selection_behavior,
                    override_reasons,
                    links,
                )| Card {
                    uuid,
                    summary,
                    detail,
                    indicator,
                    source,
                    suggestions,
                    selection_behavior,
                    override_reasons,
                    links,
                },
            )
    }

    proptest! {
        #[test]
        fn strings_are_escaped_as_serde_json_escapes_them(s in text()) {
            let mut out = Out(Vec::new());
            out.string(&s);
            prop_assert_eq!(String::from_utf8(out.0).unwrap(), serde_json::to_string(&s).unwrap());
        }

        #[test]
        fn answers_are_written_as_serde_json_writes_them(cards in proptest::collection::vec(card(), 0..4)) {
            let response = CdsResponse { cards };
            let ours = response.to_json().unwrap();
            let theirs = serde_json::to_vec(&response).unwrap();
            prop_assert_eq!(String::from_utf8(ours).unwrap(), String::from_utf8(theirs).unwrap());
        }
    }

    #[test]
    fn every_byte_is_escaped_or_kept_as_serde_json_does() {
        // Each byte value at each place of an eight-byte word, and across word boundaries.
        for b in 0u8..0x80 {
            for at in 0..17 {
                let mut s = "x".repeat(17);
                s.replace_range(at..=at, &char::from(b).to_string());
                let mut out = Out(Vec::new());
                out.string(&s);
                assert_eq!(
                    String::from_utf8(out.0).unwrap(),
                    serde_json::to_string(&s).unwrap(),
                    "byte {b:#x} at {at}"
                );
            }
        }
    }

    #[test]
    fn the_word_test_flags_exactly_the_bytes_to_escape() {
        for b in 0u8..=255 {
            for at in 0..8 {
                let mut word = [b'a'; 8];
                word[at] = b;
                assert_eq!(
                    needs_escape(u64::from_ne_bytes(word)),
                    escape(b).is_some(),
                    "byte {b:#x} at {at}"
                );
            }
        }
    }
}
