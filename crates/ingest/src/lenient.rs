//! Reading a JSON member whose shape may be wrong without failing the whole document: the
//! member becomes [`Shape::Is`] when it has the expected shape, [`Shape::Absent`] when it is
//! missing or `null`, and [`Shape::Other`] for any other JSON value, which is skipped. The
//! caller notes `Other` by its JSON path. Works inside a streaming parse (no buffering), so
//! raw values inside the member can still be borrowed from the input.

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
