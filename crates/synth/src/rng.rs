//! A small seeded random number generator (xoshiro256**, seeded through SplitMix64).
//!
//! Written out here rather than taken from a crate so that the same seed gives the same bytes
//! whatever versions of other crates are in the lock file.

/// SplitMix64: expands one seed into well-mixed words.
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A deterministic generator.
#[derive(Clone, Debug)]
pub(crate) struct Rng {
    s: [u64; 4],
}

impl Rng {
    /// A generator for one stream of one seed: streams are independent of each other, so that
    /// a patient's content depends only on the seed and the patient's number.
    pub(crate) fn new(seed: u64, stream: u64) -> Rng {
        let mut st = seed ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03);
        // Two rounds so that neighbouring streams diverge at once.
        let _ = splitmix(&mut st);
        let s = [splitmix(&mut st), splitmix(&mut st), splitmix(&mut st), splitmix(&mut st)];
        Rng { s }
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// An index into a slice of length `n`.
    pub(crate) fn index(&mut self, n: usize) -> usize {
        self.below(n as u64) as usize
    }

    /// An integer in `lo..=hi`.
    pub(crate) fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        lo + self.below((hi - lo) as u64 + 1) as i64
    }

    /// A float in `[0, 1)`.
    pub(crate) fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// A float in `[lo, hi)`.
    pub(crate) fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.f64()
    }

    /// True with probability `p`.
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.f64() < p
    }

    /// Roughly normal (sum of four uniforms), clamped to `[lo, hi]`.
    pub(crate) fn normal(&mut self, mean: f64, sd: f64, lo: f64, hi: f64) -> f64 {
        let z = (self.f64() + self.f64() + self.f64() + self.f64() - 2.0) * 1.732;
        (mean + sd * z).clamp(lo, hi)
    }

    /// One element of a non-empty slice.
    pub(crate) fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.index(xs.len())]
    }

    /// A copy of one element of a non-empty slice.
    pub(crate) fn pick_copy<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.index(xs.len())]
    }

    /// A weighted choice: the index of the weight drawn.
    pub(crate) fn weighted(&mut self, weights: &[f64]) -> usize {
        let total: f64 = weights.iter().sum();
        let mut x = self.f64() * total;
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                return i;
            }
            x -= w;
        }
        weights.len().saturating_sub(1)
    }

    /// A random (version 4 layout) UUID.
    pub(crate) fn uuid(&mut self) -> Id {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let hi = self.next_u64();
        let lo = self.next_u64();
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&hi.to_be_bytes());
        bytes[8..].copy_from_slice(&lo.to_be_bytes());
        bytes[6] = (bytes[6] & 0x0f) | 0x40;
        bytes[8] = (bytes[8] & 0x3f) | 0x80;
        let mut out = [b'-'; 36];
        let mut o = 0;
        for (i, b) in bytes.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                o += 1;
            }
            out[o] = HEX[usize::from(b >> 4)];
            out[o + 1] = HEX[usize::from(b & 0x0f)];
            o += 2;
        }
        Id(out)
    }
}

/// A UUID as text.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Id([u8; 36]);

impl Id {
    pub(crate) fn as_str(&self) -> &str {
        // Only ASCII hex digits and dashes are ever stored.
        std::str::from_utf8(&self.0).unwrap_or("00000000-0000-4000-8000-000000000000")
    }
}

impl std::fmt::Debug for Id {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream() {
        let mut a = Rng::new(7, 3);
        let mut b = Rng::new(7, 3);
        for _ in 0..100 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
        assert_ne!(Rng::new(7, 3).next_u64(), Rng::new(7, 4).next_u64());
    }

    #[test]
    fn uuids_look_like_uuids() {
        let mut r = Rng::new(1, 1);
        let id = r.uuid();
        let s = id.as_str();
        assert_eq!(s.len(), 36);
        assert_eq!(&s[14..15], "4");
        assert!(s.chars().all(|c| c == '-' || c.is_ascii_hexdigit()));
        assert_eq!(s.matches('-').count(), 4);
    }

    #[test]
    fn ranges_hold() {
        let mut r = Rng::new(2, 0);
        for _ in 0..1000 {
            let x = r.range(3, 5);
            assert!((3..=5).contains(&x));
            let f = r.uniform(1.0, 2.0);
            assert!((1.0..2.0).contains(&f));
            assert!(r.below(10) < 10);
        }
        assert_eq!(r.weighted(&[0.0, 1.0, 0.0]), 1);
    }
}
