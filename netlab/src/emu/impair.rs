//! Pure decisions: what happens to one frame, from the rule's impairment, the seed, the
//! direction, the frame's flow and its index in that flow. Nothing here reads a clock or
//! a random source, so the same inputs give the same fate on every run.

use std::time::Duration;

use super::hash::{hash, unit};
use super::rules::{Dir, Distribution, Impairment};

/// What the emulator remembers of one flow in one direction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FlowState {
    /// The index the flow's next frame gets (its first frame has 0).
    pub next: u64,
    /// The Gilbert model's state: `true` while in a run of losses.
    pub bad: bool,
}

/// Why a frame was lost.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loss {
    /// Independently of its neighbours (`burst` = 1).
    Random,
    /// In a run of losses of the Gilbert model (`burst` > 1).
    Burst,
}

/// The fate of one frame.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Fate {
    /// Lost: nothing else applies.
    pub lost: Option<Loss>,
    /// Sent twice (both copies with the same delay).
    pub duplicate: bool,
    /// Which bit of its layer-4 payload to flip (taken modulo the payload's bits).
    pub corrupt: Option<u64>,
    /// Sent at once, overtaking delayed frames (netem's reorder).
    pub at_once: bool,
    /// How long it waits (zero when `at_once`).
    pub delay: Duration,
}

// One salt per question asked of the hash, so the answers are independent.
const LOSS: u64 = 1;
const DUPLICATE: u64 = 2;
const CORRUPT: u64 = 3;
const CORRUPT_BIT: u64 = 4;
const REORDER: u64 = 5;
const JITTER: u64 = 6;
const JITTER2: u64 = 7;

fn way_word(way: Dir) -> u64 {
    match way {
        Dir::AtoB => 1,
        Dir::BtoA => 2,
        Dir::Both => 3,
    }
}

/// Decides the fate of the flow's next frame and advances `state` (its index, and the
/// Gilbert state). `way` is the direction the frame travels (`AtoB` or `BtoA`); `flow`
/// its flow's id (`FlowKey::id`).
pub fn decide(imp: &Impairment, seed: u64, way: Dir, flow: u64, state: &mut FlowState) -> Fate {
    let index = state.next;
    state.next += 1;
    let draw = |salt: u64| unit(hash(&[seed, way_word(way), flow, index, salt]));
    let mut fate = Fate::default();
    if imp.loss > 0.0 {
        if imp.burst <= 1.0 {
            if draw(LOSS) < imp.loss {
                fate.lost = Some(Loss::Random);
            }
        } else {
            // Gilbert: leave the bad state with odds r = 1 / burst (so bad runs last
            // `burst` frames on average), enter it with p = loss r / (1 - loss) (so the
            // stationary share of bad frames, p / (p + r), is `loss`).
            let r = 1.0 / imp.burst;
            let p = if imp.loss >= 1.0 {
                1.0
            } else {
                imp.loss * r / (1.0 - imp.loss)
            };
            let u = draw(LOSS);
            state.bad = if state.bad { u >= r } else { u < p };
            if state.bad {
                fate.lost = Some(Loss::Burst);
            }
        }
    }
    if fate.lost.is_some() {
        return fate;
    }
    fate.duplicate = imp.duplicate > 0.0 && draw(DUPLICATE) < imp.duplicate;
    if imp.corrupt > 0.0 && draw(CORRUPT) < imp.corrupt {
        fate.corrupt = Some(hash(&[seed, way_word(way), flow, index, CORRUPT_BIT]));
    }
    if imp.reorder > 0.0 && draw(REORDER) < imp.reorder {
        fate.at_once = true;
        return fate;
    }
    fate.delay = jittered(imp, draw(JITTER), draw(JITTER2));
    fate
}

/// `delay` moved by the jitter that the uniform draws `u1`, `u2` in [0, 1) give.
fn jittered(imp: &Impairment, u1: f64, u2: f64) -> Duration {
    if imp.jitter.is_zero() {
        return imp.delay;
    }
    let j = imp.jitter.as_secs_f64();
    let offset = match imp.distribution {
        Distribution::Uniform => (2.0 * u1 - 1.0) * j,
        // Box-Muller; 1 - u1 is in (0, 1], so the logarithm is finite.
        Distribution::Normal => {
            (-2.0 * (1.0 - u1).ln()).sqrt() * (std::f64::consts::TAU * u2).cos() * j
        }
    };
    Duration::from_secs_f64((imp.delay.as_secs_f64() + offset).max(0.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(imp: &Impairment, seed: u64, flow: u64, n: u64) -> Vec<Fate> {
        let mut st = FlowState::default();
        (0..n)
            .map(|_| decide(imp, seed, Dir::AtoB, flow, &mut st))
            .collect()
    }

    fn lost_set(f: &[Fate]) -> Vec<usize> {
        (0..f.len()).filter(|i| f[*i].lost.is_some()).collect()
    }

    /// Whether `k` successes in `n` trials of odds `p` lie within the 99% interval of the
    /// binomial distribution (normal approximation, z = 2.576).
    fn within_99(k: usize, n: usize, p: f64) -> bool {
        let mean = n as f64 * p;
        let sd = (n as f64 * p * (1.0 - p)).sqrt();
        (k as f64 - mean).abs() <= 2.576 * sd + 0.5
    }

    #[test]
    fn same_seed_same_fates_other_seed_others() {
        let imp = Impairment {
            loss: 0.2,
            duplicate: 0.1,
            corrupt: 0.05,
            reorder: 0.1,
            delay: Duration::from_millis(10),
            jitter: Duration::from_millis(5),
            ..Impairment::default()
        };
        let a = run(&imp, 7, 99, 10_000);
        assert_eq!(a, run(&imp, 7, 99, 10_000), "same seed, same flow");
        assert_ne!(lost_set(&a), lost_set(&run(&imp, 8, 99, 10_000)), "seed 8");
        assert_ne!(
            lost_set(&a),
            lost_set(&run(&imp, 7, 98, 10_000)),
            "other flow"
        );
        // Another flow interleaved changes nothing: each flow has its own index.
        let (mut s1, mut s2) = (FlowState::default(), FlowState::default());
        let mut mixed = Vec::new();
        for _ in 0..10_000 {
            mixed.push(decide(&imp, 7, Dir::AtoB, 99, &mut s1));
            decide(&imp, 7, Dir::AtoB, 5, &mut s2);
        }
        assert_eq!(a, mixed);
        // The other direction decides independently.
        let mut st = FlowState::default();
        let back: Vec<Fate> = (0..10_000)
            .map(|_| decide(&imp, 7, Dir::BtoA, 99, &mut st))
            .collect();
        assert_ne!(lost_set(&a), lost_set(&back));
    }

    #[test]
    fn fractions_within_the_99_percent_interval() {
        let n = 10_000;
        for (seed, p) in [(1, 0.01), (2, 0.2), (3, 0.5), (4, 0.05)] {
            let imp = Impairment {
                loss: p,
                ..Impairment::default()
            };
            let lost = lost_set(&run(&imp, seed, 1, n as u64)).len();
            assert!(within_99(lost, n, p), "loss {p}: {lost} of {n}");
            let imp = Impairment {
                duplicate: p,
                ..Impairment::default()
            };
            let dup = run(&imp, seed, 1, n as u64)
                .iter()
                .filter(|f| f.duplicate)
                .count();
            assert!(within_99(dup, n, p), "duplicate {p}: {dup} of {n}");
            let imp = Impairment {
                corrupt: p,
                ..Impairment::default()
            };
            let bad = run(&imp, seed, 1, n as u64)
                .iter()
                .filter(|f| f.corrupt.is_some())
                .count();
            assert!(within_99(bad, n, p), "corrupt {p}: {bad} of {n}");
        }
        let all = Impairment {
            loss: 1.0,
            ..Impairment::default()
        };
        assert_eq!(lost_set(&run(&all, 1, 1, 100)).len(), 100);
        assert!(lost_set(&run(&Impairment::default(), 1, 1, 100)).is_empty());
    }

    #[test]
    fn bursts_have_the_mean_length_and_the_average_loss() {
        for (loss, burst) in [(0.2, 4.0), (0.05, 2.0), (0.3, 10.0)] {
            let imp = Impairment {
                loss,
                burst,
                ..Impairment::default()
            };
            let n = 200_000;
            let f = run(&imp, 11, 3, n);
            let lost: Vec<bool> = f.iter().map(|f| f.lost.is_some()).collect();
            assert!(f.iter().all(|f| f.lost != Some(Loss::Random)));
            let share = lost.iter().filter(|l| **l).count() as f64 / n as f64;
            let runs = lost.windows(2).filter(|w| w[1] && !w[0]).count() + usize::from(lost[0]);
            let mean_run = lost.iter().filter(|l| **l).count() as f64 / runs as f64;
            assert!((share - loss).abs() < 0.1 * loss, "loss {loss}: {share}");
            assert!(
                (mean_run - burst).abs() < 0.1 * burst,
                "burst {burst}: mean run {mean_run}"
            );
        }
    }

    #[test]
    fn jitter_stays_in_range_and_centres_on_the_delay() {
        let d = Duration::from_millis(50);
        let j = Duration::from_millis(5);
        for dist in [Distribution::Uniform, Distribution::Normal] {
            let imp = Impairment {
                delay: d,
                jitter: j,
                distribution: dist,
                ..Impairment::default()
            };
            let f = run(&imp, 5, 1, 20_000);
            let ms: Vec<f64> = f.iter().map(|f| f.delay.as_secs_f64() * 1e3).collect();
            let mean = ms.iter().sum::<f64>() / ms.len() as f64;
            assert!((mean - 50.0).abs() < 0.2, "{dist:?}: mean {mean}");
            let var = ms.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / ms.len() as f64;
            let want = match dist {
                Distribution::Uniform => 25.0 / 3.0,
                Distribution::Normal => 25.0,
            };
            assert!((var - want).abs() < 0.1 * want, "{dist:?}: variance {var}");
            if dist == Distribution::Uniform {
                assert!(ms.iter().all(|x| (45.0..=55.0).contains(x)));
            }
        }
        // Reordered frames go at once.
        let imp = Impairment {
            delay: d,
            reorder: 0.25,
            ..Impairment::default()
        };
        let f = run(&imp, 5, 1, 10_000);
        let at_once = f.iter().filter(|f| f.at_once).count();
        assert!(within_99(at_once, 10_000, 0.25), "{at_once}");
        assert!(f.iter().all(|f| f.at_once == f.delay.is_zero()));
    }
}
