//! Estimates with confidence intervals from batch means.
//!
//! A simulation's observations are correlated (a long queue makes the next
//! few contacts wait too), so the textbook standard error would be too
//! small. The measured period is cut into equal batches in time; each batch
//! gives one estimate, batches far longer than the correlation time are
//! nearly independent, and the spread of the batch estimates gives an honest
//! confidence interval (Student's t with `batches - 1` degrees of freedom).

use serde::Serialize;

/// A simulated figure and the half-width of its 95% confidence interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Estimate {
    /// The estimate over the whole measured period.
    pub value: f64,
    /// Half-width of the 95% confidence interval from batch means; `None`
    /// with fewer than two batches that have data.
    pub ci95: Option<f64>,
    /// The standard error of `value` from batch means (`ci95` is this times
    /// Student's t quantile).
    #[serde(skip)]
    pub std_error: Option<f64>,
}

/// One ratio per batch, numerator and denominator.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Ratio {
    /// Numerator, e.g. contacts answered within the threshold.
    pub num: f64,
    /// Denominator, e.g. contacts offered.
    pub den: f64,
}

/// The pooled ratio `sum num / sum den` with a 95% interval from the spread of
/// the per-batch ratios. `None` when no batch has a positive denominator.
pub fn ratio_estimate(batches: &[Ratio]) -> Option<Estimate> {
    let (num, den) = batches
        .iter()
        .fold((0.0, 0.0), |(n, d), b| (n + b.num, d + b.den));
    if den <= 0.0 {
        return None;
    }
    let values: Vec<f64> = batches
        .iter()
        .filter(|b| b.den > 0.0)
        .map(|b| b.num / b.den)
        .collect();
    let spread = standard_error(&values);
    Some(Estimate {
        value: num / den,
        ci95: spread.map(|(se, df)| se * student_t_975(df)),
        std_error: spread.map(|(se, _)| se),
    })
}

/// The standard error `s / sqrt(k)` of the mean of `k` batch values, and its
/// degrees of freedom `k - 1`.
fn standard_error(values: &[f64]) -> Option<(f64, u32)> {
    let k = values.len();
    if k < 2 {
        return None;
    }
    let kf = k as f64;
    let mean = values.iter().sum::<f64>() / kf;
    let var = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (kf - 1.0);
    let df = u32::try_from(k - 1).unwrap_or(u32::MAX);
    Some(((var / kf).sqrt(), df))
}

/// The 97.5% quantile of Student's t with `df` degrees of freedom (for a
/// two-sided 95% interval), from the Cornish-Fisher expansion around the
/// normal quantile (error below 1e-5 from 10 degrees of freedom); table
/// values below that.
pub fn student_t_975(df: u32) -> f64 {
    match df {
        0 => f64::INFINITY,
        1 => 12.706_204_736_174_7,
        2 => 4.302_652_729_749_46,
        3 => 3.182_446_305_284_26,
        4 => 2.776_445_105_197_794,
        5 => 2.570_581_835_636_315,
        6 => 2.446_911_851_144_97,
        7 => 2.364_624_251_592_785,
        8 => 2.306_004_135_204_167,
        9 => 2.262_157_162_798_206,
        _ => {
            let z: f64 = 1.959_963_984_540_054;
            let v = f64::from(df);
            let (z3, z5, z7, z9) = (z.powi(3), z.powi(5), z.powi(7), z.powi(9));
            z + (z3 + z) / (4.0 * v)
                + (5.0 * z5 + 16.0 * z3 + 3.0 * z) / (96.0 * v * v)
                + (3.0 * z7 + 19.0 * z5 + 17.0 * z3 - 15.0 * z) / (384.0 * v.powi(3))
                + (79.0 * z9 + 776.0 * z7 + 1482.0 * z5 - 1920.0 * z3 - 945.0 * z)
                    / (92_160.0 * v.powi(4))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_quantiles_match_tables() {
        // Two-sided 95% values from standard t tables.
        for (df, want) in [
            (4, 2.7764),
            (5, 2.5706),
            (9, 2.2622),
            (19, 2.0930),
            (29, 2.0452),
            (99, 1.9842),
        ] {
            let got = student_t_975(df);
            assert!((got - want).abs() < 2e-4, "t({df}) = {got}, table {want}");
        }
    }

    #[test]
    fn ratio_pools_batches_and_measures_their_spread() {
        let batches = [
            Ratio {
                num: 4.0,
                den: 10.0,
            },
            Ratio {
                num: 6.0,
                den: 10.0,
            },
            Ratio { num: 0.0, den: 0.0 },
        ];
        let e = ratio_estimate(&batches).expect("data");
        assert!((e.value - 0.5).abs() < 1e-15);
        // Batch ratios 0.4 and 0.6 (the empty batch is skipped): s = 0.1414,
        // standard error 0.1, t(1) = 12.706.
        let se = e.std_error.expect("two batches");
        assert!((se - 0.1).abs() < 1e-12);
        assert!((e.ci95.expect("two batches") - 1.270_620_473_617_47).abs() < 1e-9);
        assert!(ratio_estimate(&[Ratio::default()]).is_none());
        let one = ratio_estimate(&[Ratio { num: 1.0, den: 2.0 }]).expect("data");
        assert_eq!(one.ci95, None);
    }
}
