//! Duration distributions for handle times and customer patience.

use serde::Serialize;

use crate::rng::Rng;

/// A distribution of positive durations, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "distribution", rename_all = "lowercase")]
pub enum Distribution {
    /// Exponential with this mean.
    Exponential {
        /// Mean, seconds.
        mean_secs: f64,
    },
    /// Lognormal with this mean and standard deviation (of the duration
    /// itself, not of its logarithm).
    Lognormal {
        /// Mean, seconds.
        mean_secs: f64,
        /// Standard deviation, seconds.
        sd_secs: f64,
    },
}

impl Distribution {
    /// The mean, seconds.
    pub fn mean_secs(&self) -> f64 {
        match *self {
            Distribution::Exponential { mean_secs } | Distribution::Lognormal { mean_secs, .. } => {
                mean_secs
            }
        }
    }

    /// A sampler for this distribution, with its parameters precomputed.
    pub(crate) fn sampler(&self) -> Sampler {
        match *self {
            Distribution::Exponential { mean_secs } => Sampler::Exponential {
                mean_ms: mean_secs * 1000.0,
            },
            Distribution::Lognormal { mean_secs, sd_secs } => {
                // If ln X ~ N(mu, sigma^2): E[X] = exp(mu + sigma^2 / 2) and
                // Var[X] = (exp(sigma^2) - 1) E[X]^2.
                let cv2 = (sd_secs / mean_secs).powi(2);
                let sigma2 = cv2.ln_1p();
                Sampler::Lognormal {
                    mu: (mean_secs * 1000.0).ln() - sigma2 / 2.0,
                    sigma: sigma2.sqrt(),
                }
            }
        }
    }
}

/// Draws durations in milliseconds.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Sampler {
    Exponential { mean_ms: f64 },
    Lognormal { mu: f64, sigma: f64 },
}

impl Sampler {
    /// One duration, in milliseconds (not rounded).
    pub(crate) fn sample_ms(&self, rng: &mut Rng) -> f64 {
        match *self {
            Sampler::Exponential { mean_ms } => rng.exponential(mean_ms),
            Sampler::Lognormal { mu, sigma } => (mu + sigma * rng.standard_normal()).exp(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn moments(dist: Distribution, n: usize) -> (f64, f64) {
        let sampler = dist.sampler();
        let mut rng = Rng::new(9);
        let xs: Vec<f64> = (0..n)
            .map(|_| sampler.sample_ms(&mut rng) / 1000.0)
            .collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1) as f64;
        (mean, var.sqrt())
    }

    #[test]
    fn lognormal_has_the_requested_mean_and_sd() {
        let (mean, sd) = moments(
            Distribution::Lognormal {
                mean_secs: 300.0,
                sd_secs: 150.0,
            },
            400_000,
        );
        // Standard error of the mean: 150 / sqrt(n) = 0.24 s; allow 4.
        assert!((mean - 300.0).abs() < 1.0, "mean {mean}");
        // The sd estimate of a lognormal with cv 0.5 has a standard error
        // near 0.4 s here; allow about 4.
        assert!((sd - 150.0).abs() < 1.6, "sd {sd}");
    }

    #[test]
    fn exponential_has_the_requested_mean() {
        let (mean, sd) = moments(Distribution::Exponential { mean_secs: 180.0 }, 400_000);
        assert!((mean - 180.0).abs() < 1.2, "mean {mean}");
        assert!((sd - 180.0).abs() < 2.0, "sd {sd}");
    }
}
