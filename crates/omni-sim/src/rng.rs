//! Deterministic pseudo-random numbers: xoshiro256++ seeded through
//! SplitMix64, with the continuous samples the simulator needs.
//!
//! The simulator draws each kind of randomness (arrivals, handle times,
//! patience) of each queue from its own stream, so changing the agents of a
//! scenario leaves the customers it generates exactly as they were: two
//! staffing plans run with one seed see the same contacts.

/// One step of SplitMix64: advances `state` and returns a well-mixed value.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A xoshiro256++ generator.
#[derive(Debug, Clone)]
pub struct Rng {
    s: [u64; 4],
}

impl Rng {
    /// A generator whose state is filled from `seed` by SplitMix64 (never the
    /// all-zero state).
    pub fn new(seed: u64) -> Self {
        let mut state = seed;
        Self {
            s: [
                splitmix64(&mut state),
                splitmix64(&mut state),
                splitmix64(&mut state),
                splitmix64(&mut state),
            ],
        }
    }

    /// Stream number `stream` of `seed`: generators for different streams of
    /// one seed are unrelated.
    pub fn stream(seed: u64, stream: u64) -> Self {
        let mut mix = stream;
        let salt = splitmix64(&mut mix);
        let mut state = seed ^ salt;
        Self::new(splitmix64(&mut state))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Uniform on the open interval (0, 1): never exactly 0 or 1, so its
    /// logarithm is always finite.
    pub fn open_unit(&mut self) -> f64 {
        // 53 random bits, centred in their cell of width 2^-53.
        ((self.next_u64() >> 11) as f64 + 0.5) * (1.0 / (1u64 << 53) as f64)
    }

    /// Exponential with the given mean.
    pub fn exponential(&mut self, mean: f64) -> f64 {
        -mean * self.open_unit().ln()
    }

    /// Standard normal (Box-Muller; the second value is not kept, which keeps
    /// the stream position independent of earlier calls).
    pub fn standard_normal(&mut self) -> f64 {
        let radius = (-2.0 * self.open_unit().ln()).sqrt();
        let angle = std::f64::consts::TAU * self.open_unit();
        radius * angle.cos()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix64_matches_the_reference_sequence() {
        // Reference outputs of SplitMix64 from seed 0.
        let mut state = 0;
        assert_eq!(splitmix64(&mut state), 0xe220_a839_7b1d_cdaf);
        assert_eq!(splitmix64(&mut state), 0x6e78_9e6a_a1b9_65f4);
        assert_eq!(splitmix64(&mut state), 0x06c4_5d18_8009_454f);
    }

    #[test]
    fn xoshiro256pp_matches_the_reference_sequence() {
        // Reference outputs of xoshiro256++ from the state [1, 2, 3, 4].
        let mut rng = Rng { s: [1, 2, 3, 4] };
        let got: Vec<u64> = (0..4).map(|_| rng.next_u64()).collect();
        assert_eq!(
            got,
            [
                41_943_041,
                58_720_359,
                3_588_806_011_781_223,
                3_591_011_842_654_386
            ]
        );
    }

    #[test]
    fn streams_of_one_seed_differ_and_repeat() {
        let a: Vec<u64> = {
            let mut r = Rng::stream(7, 0);
            (0..3).map(|_| r.next_u64()).collect()
        };
        let b: Vec<u64> = {
            let mut r = Rng::stream(7, 1);
            (0..3).map(|_| r.next_u64()).collect()
        };
        let again: Vec<u64> = {
            let mut r = Rng::stream(7, 0);
            (0..3).map(|_| r.next_u64()).collect()
        };
        assert_ne!(a, b);
        assert_eq!(a, again);
    }

    #[test]
    fn exponential_and_normal_have_the_right_moments() {
        let mut rng = Rng::new(42);
        let n = 200_000;
        let xs: Vec<f64> = (0..n).map(|_| rng.exponential(3.0)).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        // Standard error of the mean is 3 / sqrt(n) = 0.0067; allow 4.
        assert!((mean - 3.0).abs() < 0.027, "exponential mean {mean}");
        let zs: Vec<f64> = (0..n).map(|_| rng.standard_normal()).collect();
        let m = zs.iter().sum::<f64>() / n as f64;
        let var = zs.iter().map(|z| (z - m) * (z - m)).sum::<f64>() / (n - 1) as f64;
        assert!(m.abs() < 0.009, "normal mean {m}");
        // Standard error of the variance is sqrt(2 / n) = 0.0032; allow 4.
        assert!((var - 1.0).abs() < 0.013, "normal variance {var}");
        let u = rng.open_unit();
        assert!(u > 0.0 && u < 1.0);
    }
}
