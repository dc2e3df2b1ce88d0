//! Reading a JSON member whose shape may be wrong without failing the whole document: the
//! member becomes [`Shape::Is`] when it has the expected shape, [`Shape::Absent`] when it is
//! missing or `null`, and [`Shape::Other`] for any other JSON value, which is skipped. The
//! caller notes `Other` by its JSON path. Works inside a streaming parse (no buffering), so
//! raw values inside the member can still be borrowed from the input.

use std::borrow::Cow;
use std::marker::PhantomData;

use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// A member read leniently.
#[derive(Debug, Default)]
pub enum Shape<T> {
    /// Missing, or `null`.
    #[default]
    Absent,
    /// Some other kind of JSON value (skipped).
    Other,
    /// The expected shape.
    Is(T),
}

/// A type that a JSON object or list may hold leniently. Each method reads the whole value;
/// `None` means "not this shape" (the default for both: the value is skipped).
pub trait Lenient<'de>: Sized {
    /// From a JSON object.
    ///
    /// # Errors
    /// Malformed JSON.
    fn from_map<A: MapAccess<'de>>(mut map: A) -> Result<Option<Self>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(None)
    }

    /// From a JSON list.
    ///
    /// # Errors
    /// Malformed JSON.
    fn from_seq<A: SeqAccess<'de>>(mut seq: A) -> Result<Option<Self>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }
}

impl<'de, T: Lenient<'de>> Deserialize<'de> for Shape<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ShapeVisitor(PhantomData))
    }
}

struct ShapeVisitor<T>(PhantomData<T>);

impl<'de, T: Lenient<'de>> Visitor<'de> for ShapeVisitor<T> {
    type Value = Shape<T>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        Ok(T::from_map(map)?.map_or(Shape::Other, Shape::Is))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        Ok(T::from_seq(seq)?.map_or(Shape::Other, Shape::Is))
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Shape::Absent)
    }

    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(Shape::Absent)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Shape::Other)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Shape::Other)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Shape::Other)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Shape::Other)
    }

    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(Shape::Other)
    }
}

/// A JSON string — a map key or a value — borrowed from the input when it is written without
/// escapes. (serde's own `Cow<str>` copies every string into a new `String`, and so does a
/// derived `Option<Cow<str>>` field even with `#[serde(borrow)]`; see [`borrowed_str`].)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Str<'de>(pub Cow<'de, str>);

/// For `#[serde(borrow, default, deserialize_with = "borrowed_str")]` on an
/// `Option<Cow<'a, str>>` field: the string borrowed from the input unless it has escapes.
///
/// # Errors
/// The value is neither a string nor `null`.
pub fn borrowed_str<'de: 'a, 'a, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Cow<'a, str>>, D::Error> {
    Ok(Option::<Str<'de>>::deserialize(d)?.map(|s| s.0))
}

impl std::ops::Deref for Str<'_> {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Str<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(StrVisitor)
    }
}

struct StrVisitor;

impl<'de> Visitor<'de> for StrVisitor {
    type Value = Str<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Str<'de>, E> {
        Ok(Str(Cow::Borrowed(s)))
    }

    fn visit_str<E>(self, s: &str) -> Result<Str<'de>, E> {
        Ok(Str(Cow::Owned(s.to_owned())))
    }

    fn visit_string<E>(self, s: String) -> Result<Str<'de>, E> {
        Ok(Str(Cow::Owned(s)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A list of numbers, for the tests.
    #[derive(Debug, PartialEq)]
    struct Numbers(Vec<f64>);

    impl<'de> Lenient<'de> for Numbers {
        fn from_seq<A: SeqAccess<'de>>(mut seq: A) -> Result<Option<Self>, A::Error> {
            let mut v = Vec::new();
            while let Some(n) = seq.next_element::<f64>()? {
                v.push(n);
            }
            Ok(Some(Numbers(v)))
        }
    }

    #[derive(serde::Deserialize)]
    struct Doc {
        #[serde(default)]
        n: Shape<Numbers>,
        after: u8,
    }

    #[test]
    fn strings_are_borrowed_unless_escaped() {
        let keys: Vec<Str<'_>> = serde_json::from_str(r#"["plain", "esc\u0061ped"]"#).unwrap();
        assert!(matches!(&keys[0].0, Cow::Borrowed("plain")));
        assert!(matches!(&keys[1].0, Cow::Owned(k) if k == "escaped"));
        assert_eq!(&*keys[1], "escaped");
        #[derive(serde::Deserialize)]
        struct Field<'a> {
            #[serde(borrow, default, deserialize_with = "borrowed_str")]
            a: Option<Cow<'a, str>>,
            #[serde(borrow, default, deserialize_with = "borrowed_str")]
            b: Option<Cow<'a, str>>,
            #[serde(borrow, default, deserialize_with = "borrowed_str")]
            c: Option<Cow<'a, str>>,
        }
        let f: Field<'_> = serde_json::from_str(r#"{"a": "x", "b": null}"#).unwrap();
        assert!(matches!(f.a, Some(Cow::Borrowed("x"))));
        assert!(f.b.is_none() && f.c.is_none());
        assert!(serde_json::from_str::<Field<'_>>(r#"{"a": 1}"#).is_err());
    }

    #[test]
    fn every_kind_of_value_is_read_or_skipped_and_the_rest_still_parsed() {
        let read = |s: &str| serde_json::from_str::<Doc>(s).unwrap();
        assert!(
            matches!(read(r#"{"n": [1, 2], "after": 7}"#).n, Shape::Is(Numbers(v)) if v == [1.0, 2.0])
        );
        for other in [r#""x""#, "true", "-3", "4", "1.5", r#"{"a": [1, {"b": null}]}"#] {
            let d = read(&format!(r#"{{"n": {other}, "after": 7}}"#));
            assert!(matches!(d.n, Shape::Other), "{other}");
            assert_eq!(d.after, 7);
        }
        assert!(matches!(read(r#"{"n": null, "after": 7}"#).n, Shape::Absent));
        assert!(matches!(read(r#"{"after": 7}"#).n, Shape::Absent));
        assert!(serde_json::from_str::<Doc>(r#"{"n": {"a": ], "after": 7}"#).is_err());
    }
}
