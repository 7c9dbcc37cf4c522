//! The emulator's only source of chance: a fixed mixing function (SplitMix64's finaliser),
//! so that a decision depends on nothing but its inputs, on every machine and Rust
//! version (unlike `std`'s hashers, whose output may change between releases).

/// SplitMix64's finaliser: a bijection of `u64` whose every output bit depends on every
/// input bit.
pub fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Hashes a sequence of words, in order.
pub fn hash(words: &[u64]) -> u64 {
    words
        .iter()
        .fold(0x6A09_E667_F3BC_C908, |h, w| mix(h ^ mix(*w)))
}

/// A hash mapped to `[0, 1)` with 53 bits of precision.
pub fn unit(h: u64) -> f64 {
    (h >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_values_and_spread() {
        // Pinned so that a change of the function (and of every seeded run) is noticed.
        assert_eq!(mix(0), 0xE220_A839_7B1D_CDAF);
        assert_ne!(hash(&[1, 2]), hash(&[2, 1]));
        let n = 100_000;
        let mean = (0..n).map(|i| unit(hash(&[42, i]))).sum::<f64>() / n as f64;
        assert!((mean - 0.5).abs() < 0.005, "mean {mean}");
    }
}
