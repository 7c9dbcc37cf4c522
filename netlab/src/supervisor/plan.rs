//! Validate, then apply: the one mechanism by which the supervisor changes the kernel.
//!
//! An operation (a container's wiring, a pipework interface, published ports) is first
//! validated completely; then it becomes a [`Plan`]: a list of steps, each with the step
//! that takes it back. [`Plan::run`] applies them in order; if step k fails, the undo of
//! every step before it runs, newest first, so a failed operation leaves nothing behind.
//! Steps act on a context `K` handed to `run` (netlink sockets, the lab's address
//! manager), so the same plan runs against the kernel or, in unit tests, a recording fake.
//!
//! A step without an undo is one whose effect goes with an earlier step's undo: an
//! address on an interface that the undo of the interface's step deletes, say.

use crate::error::{Error, Result};

type Action<'a, K> = Box<dyn FnOnce(&mut K) -> Result<()> + 'a>;

struct Step<'a, K> {
    what: String,
    apply: Action<'a, K>,
    undo: Option<Action<'a, K>>,
}

/// Steps to apply in order, each with its own undo.
pub struct Plan<'a, K> {
    steps: Vec<Step<'a, K>>,
}

impl<K> Default for Plan<'_, K> {
    fn default() -> Self {
        Plan { steps: Vec::new() }
    }
}

impl<'a, K> Plan<'a, K> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a step and what takes it back.
    pub fn step(
        &mut self,
        what: impl Into<String>,
        apply: impl FnOnce(&mut K) -> Result<()> + 'a,
        undo: impl FnOnce(&mut K) -> Result<()> + 'a,
    ) -> &mut Self {
        self.steps.push(Step {
            what: what.into(),
            apply: Box::new(apply),
            undo: Some(Box::new(undo)),
        });
        self
    }

    /// Adds a step whose effect an earlier step's undo takes back with its own.
    pub fn covered_step(
        &mut self,
        what: impl Into<String>,
        apply: impl FnOnce(&mut K) -> Result<()> + 'a,
    ) -> &mut Self {
        self.steps.push(Step {
            what: what.into(),
            apply: Box::new(apply),
            undo: None,
        });
        self
    }

    /// Applies every step; on the first failure, undoes the steps applied so far, newest
    /// first, and returns that failure. An undo that fails too is reported with it (every
    /// one of them), since something may then be left behind.
    pub fn run(self, ctx: &mut K) -> Result<()> {
        let mut done: Vec<(String, Option<Action<'a, K>>)> = Vec::with_capacity(self.steps.len());
        for step in self.steps {
            tracing::trace!(step = %step.what, "apply");
            if let Err(e) = (step.apply)(ctx) {
                tracing::debug!(step = %step.what, "failed: {e}; undoing {} steps", done.len());
                let mut undo_failures = Vec::new();
                for (what, undo) in done.into_iter().rev() {
                    if let Some(undo) = undo
                        && let Err(u) = undo(ctx)
                    {
                        undo_failures.push(format!("undoing {what}: {u}"));
                    }
                }
                if undo_failures.is_empty() {
                    return Err(e);
                }
                for u in &undo_failures {
                    tracing::error!("{u}");
                }
                return Err(Error::Supervisor {
                    lab: String::new(),
                    problem: format!(
                        "{e}; then taking back the steps before it failed too, so something may be left until the lab ends: {}",
                        undo_failures.join("; ")
                    ),
                });
            }
            done.push((step.what, step.undo));
        }
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A fake context: what is applied now, every call in order, and the step at which
    /// applying (or undoing) fails.
    #[derive(Debug, Default)]
    pub struct Recorder {
        pub applied: Vec<String>,
        pub calls: Vec<String>,
        pub fail_apply: Option<String>,
        pub fail_undo: Option<String>,
    }

    impl Recorder {
        pub fn apply(&mut self, what: &str) -> Result<()> {
            self.calls.push(format!("+{what}"));
            if self.fail_apply.as_deref() == Some(what) {
                return Err(Error::Io {
                    op: what.into(),
                    message: "injected failure".into(),
                });
            }
            self.applied.push(what.into());
            Ok(())
        }

        pub fn undo(&mut self, what: &str) -> Result<()> {
            self.calls.push(format!("-{what}"));
            if self.fail_undo.as_deref() == Some(what) {
                return Err(Error::Io {
                    op: format!("undo {what}"),
                    message: "injected failure".into(),
                });
            }
            self.applied.retain(|a| a != what);
            Ok(())
        }
    }

    fn plan(n: usize) -> Plan<'static, Recorder> {
        let mut p = Plan::new();
        for i in 0..n {
            let name = format!("s{i}");
            let undo_name = name.clone();
            p.step(
                name.clone(),
                move |r: &mut Recorder| r.apply(&name),
                move |r: &mut Recorder| r.undo(&undo_name),
            );
        }
        p
    }

    #[test]
    fn all_steps_apply_in_order() {
        let mut r = Recorder::default();
        plan(4).run(&mut r).unwrap();
        assert_eq!(r.applied, ["s0", "s1", "s2", "s3"]);
    }

    /// For every length n and every failing step k: nothing stays applied, and the undos
    /// ran newest first, exactly for the steps that had been applied.
    #[test]
    fn a_failure_at_any_step_leaves_nothing_applied() {
        for n in 1..=7 {
            for k in 0..n {
                let mut r = Recorder {
                    fail_apply: Some(format!("s{k}")),
                    ..Default::default()
                };
                let err = plan(n).run(&mut r).unwrap_err();
                assert!(err.to_string().contains(&format!("s{k}")), "{err}");
                assert!(r.applied.is_empty(), "n={n} k={k}: {:?}", r.applied);
                let mut want: Vec<String> = (0..=k).map(|i| format!("+s{i}")).collect();
                want.extend((0..k).rev().map(|i| format!("-s{i}")));
                assert_eq!(r.calls, want, "n={n} k={k}");
            }
        }
    }

    #[test]
    fn covered_steps_have_no_undo_of_their_own() {
        let mut r = Recorder {
            fail_apply: Some("route".into()),
            ..Default::default()
        };
        let mut p: Plan<'_, Recorder> = Plan::new();
        p.step("link", |r| r.apply("link"), |r| r.undo("link"))
            .covered_step("addr", |r| r.apply("addr"))
            .covered_step("route", |r| r.apply("route"));
        p.run(&mut r).unwrap_err();
        assert_eq!(r.calls, ["+link", "+addr", "+route", "-link"]);
    }

    #[test]
    fn a_failing_undo_is_reported_and_the_other_undos_still_run() {
        let mut r = Recorder {
            fail_apply: Some("s3".into()),
            fail_undo: Some("s1".into()),
            ..Default::default()
        };
        let err = plan(5).run(&mut r).unwrap_err().to_string();
        assert!(err.contains("s3") && err.contains("undoing s1"), "{err}");
        assert_eq!(r.applied, ["s1"], "only the step whose undo failed is left");
        assert!(
            r.calls
                .ends_with(&["-s2".into(), "-s1".into(), "-s0".into()])
        );
    }
}
