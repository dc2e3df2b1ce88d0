//! Random bytes for the ids the server makes (card and suggestion UUIDs, request ids): drawn
//! from the operating system's generator 4 KB at a time per thread, instead of one system
//! call per id (a typical CDS call makes eight ids).

use std::cell::RefCell;

const POOL: usize = 4096;
const ID: usize = 16;

thread_local! {
    /// Random bytes and how many of them are used.
    static BYTES: RefCell<([u8; POOL], usize)> = const { RefCell::new(([0; POOL], POOL)) };
}

/// 16 random bytes. Each byte is handed out once and cleared.
pub(crate) fn bytes16() -> [u8; ID] {
    BYTES.with_borrow_mut(|(pool, used)| {
        if *used + ID > POOL {
            if getrandom::fill(pool).is_err() {
                // As before the pool: `uuid` draws its own bytes (and fails loudly).
                return uuid::Uuid::new_v4().into_bytes();
            }
            *used = 0;
        }
        let mut out = [0; ID];
        let taken = &mut pool[*used..*used + ID];
        out.copy_from_slice(taken);
        taken.fill(0);
        *used += ID;
        out
    })
}

/// A random UUID (version 4).
pub(crate) fn uuid_v4() -> uuid::Uuid {
    uuid::Builder::from_random_bytes(bytes16()).into_uuid()
}

/// A request id (`x-request-id` when the client sent none or one not kept): a random UUID.
pub(crate) fn request_id() -> axum::http::HeaderValue {
    let mut text = [0; uuid::fmt::Hyphenated::LENGTH];
    let id = uuid_v4().hyphenated().encode_lower(&mut text);
    // A hyphenated UUID is always a valid header value.
    axum::http::HeaderValue::from_str(id).unwrap_or(axum::http::HeaderValue::from_static("-"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ids are version 4 UUIDs and never repeat, across many refills of the pool and across
    /// threads.
    #[test]
    fn ids_are_random_uuids_that_do_not_repeat() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..10_000 {
            let u = uuid_v4();
            assert_eq!(u.get_version_num(), 4);
            assert_eq!(u.get_variant(), uuid::Variant::RFC4122);
            assert!(seen.insert(u), "{u} repeated");
        }
        let other = std::thread::spawn(|| (0..1000).map(|_| uuid_v4()).collect::<Vec<_>>());
        for u in other.join().unwrap() {
            assert!(seen.insert(u), "{u} repeated on another thread");
        }
        // Bytes are not all alike (a pool left unfilled would give zeros).
        let b = bytes16();
        assert!(b.iter().any(|x| *x != b[0]), "{b:?}");
    }
}
