//! Closed-form queueing models for one queue served by one pool of identical
//! agents: Erlang B, Erlang C (M/M/n) and Erlang A (Palm's M/M/n+M, with
//! exponential patience, after Garnett, Mandelbaum and Reiman).
//!
//! Definitions, shared with the simulator's report:
//! - `p_wait`: the share of contacts that find every agent busy on arrival.
//! - `asa_secs`: average speed of answer, the mean wait of answered contacts
//!   (zero waits included).
//! - `service_level`: the share of *offered* contacts answered within `T`;
//!   abandoned contacts count against it.
//! - `abandon_rate`: the share of offered contacts that abandon.
//! - `mean_wait_secs`: the mean time in queue over all offered contacts,
//!   until answer or abandonment.
//! - `occupancy`: the share of agent time spent handling contacts.
//!
//! # Erlang A
//!
//! With `n` agents, arrival rate `λ`, service rate `μ` and abandonment rate
//! `θ`, write `x = nμ/θ` and `y = λ/θ`. The stationary probability of `n + j`
//! contacts in the system is `π_n w_j` with `w_j = y^j / ((x + 1) ... (x + j))`.
//! A contact that arrives behind `j` waiting ones reaches an agent after
//! `D_j`, a sum of exponentials with rates `nμ + kθ`, `k = 0..=j`; it is
//! answered if its own patience (rate `θ`) outlasts `D_j`, with probability
//! `x / (x + j + 1)`. Summing over `j`:
//! - `P(wait) = π_n sum_j w_j`;
//! - `P(abandon) = π_n sum_j w_j (j + 1) / (x + j + 1)`;
//! - `E[wait; answered] = π_n sum_j w_j x / (θ (x + j + 1)) sum_{k=1}^{j+1} 1 / (x + k)`.
//!
//! These series have positive terms only and are summed with a running
//! scale, so overloaded queues (`λ > nμ`) stay finite. The distribution of
//! `D_j` mixed over `j` is `P(V > t) = π_n x e^y y^-x γ(x, y e^-θt)` (from the
//! order statistics of exponentials), which gives the service level
//! `SL(T) = 1 - P(wait) + π_n x e^y y^-(x+1) (γ(x + 1, y) - γ(x + 1, y e^-θT))`.

use serde::Serialize;

use crate::special::{ln_gamma_pq, ln_lower_scaled, ln_upper_scaled};

/// Which model a [`Prediction`] comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Model {
    /// M/M/n, no abandonment.
    ErlangC,
    /// M/M/n+M, exponential patience.
    ErlangA,
}

impl Model {
    /// `Erlang C` or `Erlang A`.
    pub fn label(self) -> &'static str {
        match self {
            Model::ErlangC => "Erlang C",
            Model::ErlangA => "Erlang A",
        }
    }
}

/// What a model predicts for one queue; see the module docs for the
/// definitions.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Prediction {
    /// The model.
    pub model: Model,
    /// Share of contacts that wait.
    pub p_wait: f64,
    /// Mean wait of answered contacts, seconds.
    pub asa_secs: f64,
    /// Share of offered contacts answered within the threshold.
    pub service_level: f64,
    /// Share of offered contacts that abandon.
    pub abandon_rate: f64,
    /// Mean wait of all offered contacts, seconds.
    pub mean_wait_secs: f64,
    /// Share of agent time spent handling contacts.
    pub occupancy: f64,
}

/// Erlang B: the probability that all `agents` are busy in a loss system
/// offered `load` Erlangs. Computed with the stable recursion
/// `B(k) = a B(k-1) / (k + a B(k-1))`.
pub fn erlang_b(agents: u32, load: f64) -> f64 {
    let mut b = 1.0;
    for k in 1..=agents {
        b = load * b / (f64::from(k) + load * b);
    }
    b
}

/// `ln(1 / B(agents, load))`, finite even where `B` underflows:
/// `1/B(k) = 1 + (k / a) / B(k-1)`, as a softplus in logarithms.
fn ln_inverse_erlang_b(agents: u32, load: f64) -> f64 {
    let mut ln_inv = 0.0f64;
    for k in 1..=agents {
        let v = (f64::from(k) / load).ln() + ln_inv;
        ln_inv = v.max(0.0) + (-v.abs()).exp().ln_1p();
    }
    ln_inv
}

/// `ln(e^a + e^b)`.
fn ln_add_exp(a: f64, b: f64) -> f64 {
    let (hi, lo) = if a >= b { (a, b) } else { (b, a) };
    if lo == f64::NEG_INFINITY {
        return hi;
    }
    hi + (lo - hi).exp().ln_1p()
}

/// Erlang C: `agents` identical agents, Poisson arrivals, exponential handle
/// times, infinitely patient customers served in arrival order.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ErlangC {
    /// Number of agents, each handling one contact at a time.
    pub agents: u32,
    /// Arrival rate, contacts per second.
    pub arrivals_per_sec: f64,
    /// Mean handle time, seconds.
    pub mean_handle_secs: f64,
}

impl ErlangC {
    /// Offered load in Erlangs: arrival rate times mean handle time.
    pub fn load(&self) -> f64 {
        self.arrivals_per_sec * self.mean_handle_secs
    }

    /// Whether the queue is stable (load below the number of agents); the
    /// model predicts nothing otherwise.
    pub fn is_stable(&self) -> bool {
        self.agents > 0 && self.load() < f64::from(self.agents)
    }

    /// The probability of waiting, `C(n, a) = n B / (n - a (1 - B))`.
    pub fn p_wait(&self) -> Option<f64> {
        if !self.is_stable() {
            return None;
        }
        let (n, a) = (f64::from(self.agents), self.load());
        let b = erlang_b(self.agents, a);
        Some(n * b / (n - a * (1.0 - b)))
    }

    /// Average speed of answer, seconds: `C / (nμ - λ)`.
    pub fn asa_secs(&self) -> Option<f64> {
        Some(self.p_wait()? / self.drain_rate())
    }

    /// Share answered within `threshold_secs`: `1 - C e^-(nμ - λ)T`.
    pub fn service_level(&self, threshold_secs: f64) -> Option<f64> {
        Some(1.0 - self.p_wait()? * (-self.drain_rate() * threshold_secs).exp())
    }

    /// Every figure, with the service level at `threshold_secs`.
    pub fn predict(&self, threshold_secs: f64) -> Option<Prediction> {
        let asa = self.asa_secs()?;
        Some(Prediction {
            model: Model::ErlangC,
            p_wait: self.p_wait()?,
            asa_secs: asa,
            service_level: self.service_level(threshold_secs)?,
            abandon_rate: 0.0,
            mean_wait_secs: asa,
            occupancy: self.load() / f64::from(self.agents),
        })
    }

    /// `nμ - λ`, the rate at which the queue drains while all agents work.
    fn drain_rate(&self) -> f64 {
        f64::from(self.agents) / self.mean_handle_secs - self.arrivals_per_sec
    }
}

/// Erlang A: like [`ErlangC`], but each waiting customer abandons after an
/// exponential patience. Any load is stable.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ErlangA {
    /// Number of agents, each handling one contact at a time.
    pub agents: u32,
    /// Arrival rate, contacts per second.
    pub arrivals_per_sec: f64,
    /// Mean handle time, seconds.
    pub mean_handle_secs: f64,
    /// Mean patience, seconds.
    pub mean_patience_secs: f64,
}

/// Series over the waiting states, each scaled by `exp(-scale)`.
struct QueueSums {
    scale: f64,
    /// `sum_j w_j`.
    waiting: f64,
    /// `sum_j w_j (j + 1) / (x + j + 1)`.
    abandoning: f64,
    /// `sum_j w_j x / (x + j + 1) sum_{k=1}^{j+1} 1 / (x + k)`.
    answered_wait: f64,
}

impl ErlangA {
    /// Offered load in Erlangs.
    pub fn load(&self) -> f64 {
        self.arrivals_per_sec * self.mean_handle_secs
    }

    /// Every figure, with the service level at `threshold_secs`. `None` when
    /// a parameter is not positive and finite.
    pub fn predict(&self, threshold_secs: f64) -> Option<Prediction> {
        let positive = |v: f64| v.is_finite() && v > 0.0;
        let valid = self.agents > 0
            && positive(self.arrivals_per_sec)
            && positive(self.mean_handle_secs)
            && positive(self.mean_patience_secs)
            && threshold_secs.is_finite()
            && threshold_secs >= 0.0;
        if !valid {
            return None;
        }
        let n = f64::from(self.agents);
        let mu = 1.0 / self.mean_handle_secs;
        let theta = 1.0 / self.mean_patience_secs;
        let (x, y) = (n * mu / theta, self.arrivals_per_sec / theta);
        let a = self.load();

        // Unnormalized masses relative to state n (which has mass 1): the
        // states below n sum to 1/B - 1, the waiting states to sum_j w_j.
        let ln_inv_b = ln_inverse_erlang_b(self.agents, a);
        let ln_below = ln_inv_b + (-(-ln_inv_b).exp()).ln_1p();
        let sums = Self::queue_sums(x, y);
        let ln_z = ln_add_exp(ln_below, sums.scale + sums.waiting.ln());
        let share = |sum: f64| (sums.scale + sum.ln() - ln_z).exp();

        let p_wait = share(sums.waiting);
        let abandon_rate = share(sums.abandoning);
        let answered = 1.0 - abandon_rate;
        let answered_wait = share(sums.answered_wait) / theta;

        // Service level: the answered-in-time part of the waiting contacts.
        let z = y * (-theta * threshold_secs).exp();
        let a1 = x + 1.0;
        // ln(e^y y^-a1 γ(a1, z) / (e^z z^-a1 ... )) bookkeeping: the scaled
        // forms leave out z^a1 e^-z, and e^y y^-a1 z^a1 e^-z = e^(y - z - a1 θ T).
        let shift = (y - z) - a1 * theta * threshold_secs;
        let ln_common = -ln_z + x.ln();
        let in_time = if z >= a1 + 1.0 {
            // γ(a1, y) - γ(a1, z) = Γ(a1, z) - Γ(a1, y), both from the
            // continued fraction.
            (ln_common + shift + ln_upper_scaled(a1, z)).exp()
                - (ln_common + ln_upper_scaled(a1, y)).exp()
        } else if y < a1 + 1.0 {
            // Both from the power series.
            (ln_common + ln_lower_scaled(a1, y)).exp()
                - (ln_common + shift + ln_lower_scaled(a1, z)).exp()
        } else {
            // Mixed: through the regularized functions.
            let ln_front = ln_common + y - a1 * y.ln() + crate::special::ln_gamma(a1);
            let (ln_py, _) = ln_gamma_pq(a1, y);
            let (ln_pz, _) = ln_gamma_pq(a1, z);
            (ln_front + ln_py).exp() - (ln_front + ln_pz).exp()
        };
        let service_level = (1.0 - p_wait + in_time.max(0.0)).clamp(0.0, 1.0);

        Some(Prediction {
            model: Model::ErlangA,
            p_wait,
            asa_secs: if answered > 0.0 {
                answered_wait / answered
            } else {
                0.0
            },
            service_level,
            abandon_rate,
            mean_wait_secs: abandon_rate / theta,
            occupancy: a * answered / n,
        })
    }

    /// The series over waiting states `j = 0, 1, ...`, until the terms are
    /// negligible. Terms rise while `y > x + j` and then fall faster than
    /// geometrically.
    fn queue_sums(x: f64, y: f64) -> QueueSums {
        // Terms below e^-45 of the largest do not change a double.
        const NEGLIGIBLE: f64 = -45.0;
        let ln_y = y.ln();
        let mut sums = QueueSums {
            scale: 0.0,
            waiting: 0.0,
            abandoning: 0.0,
            answered_wait: 0.0,
        };
        let mut ln_w = 0.0f64;
        let mut harmonic = 0.0f64;
        let mut j = 0.0f64;
        loop {
            if ln_w > sums.scale {
                let rescale = (sums.scale - ln_w).exp();
                sums.waiting *= rescale;
                sums.abandoning *= rescale;
                sums.answered_wait *= rescale;
                sums.scale = ln_w;
            }
            let w = (ln_w - sums.scale).exp();
            let reach = x / (x + j + 1.0);
            harmonic += 1.0 / (x + j + 1.0);
            sums.waiting += w;
            sums.abandoning += w * (1.0 - reach);
            sums.answered_wait += w * reach * harmonic;
            j += 1.0;
            ln_w += ln_y - (x + j).ln();
            if x + j > y && ln_w - sums.scale < NEGLIGIBLE {
                return sums;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(got: f64, want: f64, tolerance: f64) -> bool {
        (got - want).abs() <= tolerance
    }

    #[test]
    fn erlang_b_matches_published_values() {
        // Published loss-table entry B(10, 5 E) = 0.01838, to 14 digits; and
        // small cases by hand.
        assert!(close(erlang_b(10, 5.0), 0.018_384_570_336_648, 1e-14));
        assert!(close(erlang_b(1, 1.0), 0.5, 1e-15));
        assert!(close(erlang_b(2, 1.0), 0.2, 1e-15));
    }

    #[test]
    fn erlang_c_ten_agents_eight_erlangs() {
        // 10 agents, 8 Erlangs: P(wait) = 0.4092 in published Erlang C tables;
        // the digits beyond are from a 30-digit evaluation (mpmath).
        // Handle time 180 s: ASA = C / (nμ - λ) = 0.4092 * 90 s, and the
        // service level at 20 s is 1 - C e^-(2/180 * 20).
        let model = ErlangC {
            agents: 10,
            arrivals_per_sec: 8.0 / 180.0,
            mean_handle_secs: 180.0,
        };
        let p = model.predict(20.0).expect("stable");
        assert!(
            close(p.p_wait, 0.409_180_150_796_443_5, 1e-14),
            "{}",
            p.p_wait
        );
        assert!(
            close(p.asa_secs, 36.826_213_571_679_92, 1e-11),
            "{}",
            p.asa_secs
        );
        assert!(
            close(p.service_level, 0.672_354_148_726_147_9, 1e-14),
            "{}",
            p.service_level
        );
        assert!(close(p.occupancy, 0.8, 1e-15));
    }

    #[test]
    fn erlang_c_is_undefined_at_or_above_full_load() {
        let model = ErlangC {
            agents: 4,
            arrivals_per_sec: 1.0,
            mean_handle_secs: 4.0,
        };
        assert!(model.predict(20.0).is_none());
    }

    #[test]
    fn erlang_c_stays_finite_for_large_pools() {
        let model = ErlangC {
            agents: 2_000,
            arrivals_per_sec: 1_950.0 / 300.0,
            mean_handle_secs: 300.0,
        };
        let p = model.predict(20.0).expect("stable");
        assert!(p.p_wait > 0.0 && p.p_wait < 1.0, "{}", p.p_wait);
    }

    #[test]
    fn erlang_a_with_patience_equal_to_handle_time_is_an_infinite_server_queue() {
        // θ = μ makes the number in system Poisson(a): P(wait) is the Poisson
        // tail P(N >= n), and abandonments are θ E[(N - n)^+] / λ.
        let (n, a) = (10u32, 9.0f64);
        let model = ErlangA {
            agents: n,
            arrivals_per_sec: a / 100.0,
            mean_handle_secs: 100.0,
            mean_patience_secs: 100.0,
        };
        let p = model.predict(20.0).expect("valid");
        let mut pk = (-a).exp();
        let (mut tail, mut excess) = (0.0, 0.0);
        for k in 0..400u32 {
            if k > 0 {
                pk *= a / f64::from(k);
            }
            if k >= n {
                tail += pk;
                excess += f64::from(k - n) * pk;
            }
        }
        assert!(close(p.p_wait, tail, 1e-12), "{} vs {tail}", p.p_wait);
        assert!(close(p.abandon_rate, excess / a, 1e-12));
        assert!(close(p.mean_wait_secs, excess / a * 100.0, 1e-9));
    }

    #[test]
    fn erlang_a_approaches_erlang_c_as_patience_grows() {
        let c = ErlangC {
            agents: 10,
            arrivals_per_sec: 8.0 / 180.0,
            mean_handle_secs: 180.0,
        }
        .predict(20.0)
        .expect("stable");
        let a = ErlangA {
            agents: 10,
            arrivals_per_sec: 8.0 / 180.0,
            mean_handle_secs: 180.0,
            mean_patience_secs: 180.0e6,
        }
        .predict(20.0)
        .expect("valid");
        assert!(
            close(a.p_wait, c.p_wait, 1e-5),
            "{} vs {}",
            a.p_wait,
            c.p_wait
        );
        assert!(
            close(a.asa_secs, c.asa_secs, 1e-3),
            "{} vs {}",
            a.asa_secs,
            c.asa_secs
        );
        assert!(close(a.service_level, c.service_level, 1e-5));
        assert!(a.abandon_rate < 1e-6);
    }

    #[test]
    fn erlang_a_matches_an_independent_computation() {
        // Reference values from a separate high-precision computation
        // (mpmath, 40 digits): the birth-death chain truncated far in the
        // tail, and SL(T) from the hypoexponential waiting time of every
        // queue position, integrated numerically.
        let model = ErlangA {
            agents: 10,
            arrivals_per_sec: 10.0 / 180.0,
            mean_handle_secs: 180.0,
            mean_patience_secs: 120.0,
        };
        let p = model.predict(20.0).expect("valid");
        assert_matches(&p, REF_A);

        // Overloaded: 30% more work than agents, short patience.
        let model = ErlangA {
            agents: 50,
            arrivals_per_sec: 65.0 / 300.0,
            mean_handle_secs: 300.0,
            mean_patience_secs: 60.0,
        };
        let p = model.predict(30.0).expect("valid");
        assert_matches(&p, REF_B);
    }

    /// Checks a prediction against reference (P(wait), P(abandon), ASA, SL).
    fn assert_matches(p: &Prediction, reference: (f64, f64, f64, f64)) {
        assert!(close(p.p_wait, reference.0, 1e-10), "p_wait {}", p.p_wait);
        assert!(
            close(p.abandon_rate, reference.1, 1e-10),
            "abandon {}",
            p.abandon_rate
        );
        assert!(close(p.asa_secs, reference.2, 1e-8), "asa {}", p.asa_secs);
        assert!(
            close(p.service_level, reference.3, 1e-10),
            "sl {}",
            p.service_level
        );
    }

    /// (P(wait), P(abandon), ASA, SL(20 s)) for 10 agents, 10 Erlangs, 120 s patience.
    const REF_A: (f64, f64, f64, f64) = (
        0.496_852_747_630_142_2,
        0.137_463_826_276_449_8,
        14.554_229_655_382_32,
        0.639_941_307_035_988,
    );
    /// (P(wait), P(abandon), ASA, SL(30 s)) for 50 agents, 65 Erlangs, 60 s patience.
    const REF_B: (f64, f64, f64, f64) = (
        0.779_962_291_026_111_1,
        0.241_751_467_120_068_8,
        14.467_434_372_395_95,
        0.633_925_923_396_277_2,
    );
}

#[cfg(test)]
mod overload_tests {
    use super::*;

    #[test]
    fn erlang_a_handles_overload_in_every_numerical_branch() {
        // 5,000 agents offered 10,000 Erlangs: the series terms reach e^3000
        // before scaling. Fluid limit: agents serve nμ, the rest abandons,
        // so P(abandon) is close to 1 - nμ/λ = 0.5 and nearly everyone waits.
        let p = ErlangA {
            agents: 5_000,
            arrivals_per_sec: 10_000.0 / 300.0,
            mean_handle_secs: 300.0,
            mean_patience_secs: 600.0,
        }
        .predict(20.0)
        .expect("valid");
        assert!((p.abandon_rate - 0.5).abs() < 0.01, "{p:?}");
        assert!(p.p_wait > 0.999, "{p:?}");
        assert!(p.service_level >= 0.0 && p.service_level < 0.05, "{p:?}");
        assert!(p.asa_secs.is_finite() && p.asa_secs > 0.0, "{p:?}");
        assert!((p.occupancy - 1.0).abs() < 0.01, "{p:?}");

        // Slightly overloaded, with a threshold whose service level needs
        // both the series and the continued fraction. Reference values from
        // the same independent 40-digit computation as above.
        let p = ErlangA {
            agents: 100,
            arrivals_per_sec: 110.0 / 300.0,
            mean_handle_secs: 300.0,
            mean_patience_secs: 120.0,
        }
        .predict(60.0)
        .expect("valid");
        assert!((p.p_wait - 0.692_816_287_126_472_3).abs() < 1e-10, "{p:?}");
        assert!(
            (p.abandon_rate - 0.106_983_530_128_816_5).abs() < 1e-10,
            "{p:?}"
        );
        assert!((p.asa_secs - 12.671_822_565_025_34).abs() < 1e-8, "{p:?}");
        assert!(
            (p.service_level - 0.887_957_100_925_750_2).abs() < 1e-10,
            "{p:?}"
        );

        // Twice the work the agents can do: the service level comes from the
        // continued fraction alone.
        let p = ErlangA {
            agents: 10,
            arrivals_per_sec: 20.0 / 180.0,
            mean_handle_secs: 180.0,
            mean_patience_secs: 300.0,
        }
        .predict(20.0)
        .expect("valid");
        assert!((p.p_wait - 0.999_498_032_633_628_8).abs() < 1e-10, "{p:?}");
        assert!(
            (p.abandon_rate - 0.500_041_244_053_468_5).abs() < 1e-10,
            "{p:?}"
        );
        assert!((p.asa_secs - 199.073_373_839_416_9).abs() < 1e-7, "{p:?}");
        assert!(
            (p.service_level - 0.001_612_789_749_489_541).abs() < 1e-12,
            "{p:?}"
        );
    }
}
