//! [`LifecycleState`]: where a docked system is, and the transitions allowed.

use serde::Serialize;

use crate::protocol::LifecycleCommand;

/// A docked system's lifecycle state. Only the kernel changes it, along the listed
/// transitions; governance requests are served only in [`Running`](Self::Running).
///
/// | command | from | to |
/// |---|---|---|
/// | pause | running | paused |
/// | resume | paused, revoked | running |
/// | revoke | running, paused | revoked |
/// | drain | running, paused, revoked | draining → drained (or drain_failed at the timeout) |
/// | undock | any | stopped |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[repr(u8)]
pub enum LifecycleState {
    /// Being docked: wired, not yet started.
    Docked,
    /// Running and served.
    Running,
    /// Handed no messages or ticks; they wait.
    Paused,
    /// Finishing what it holds before it stops.
    Draining,
    /// Drained and stopped; still docked until undocked.
    Drained,
    /// A drain ran out of time; stopped, still docked.
    DrainFailed,
    /// Its capabilities were revoked; served nothing until resumed.
    Revoked,
    /// Undocked, or its actor stopped.
    Stopped,
}

impl LifecycleState {
    pub(crate) fn from_u8(v: u8) -> LifecycleState {
        match v {
            0 => LifecycleState::Docked,
            1 => LifecycleState::Running,
            2 => LifecycleState::Paused,
            3 => LifecycleState::Draining,
            4 => LifecycleState::Drained,
            5 => LifecycleState::DrainFailed,
            6 => LifecycleState::Revoked,
            _ => LifecycleState::Stopped,
        }
    }

    /// The lowercase name, as on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            LifecycleState::Docked => "docked",
            LifecycleState::Running => "running",
            LifecycleState::Paused => "paused",
            LifecycleState::Draining => "draining",
            LifecycleState::Drained => "drained",
            LifecycleState::DrainFailed => "drain_failed",
            LifecycleState::Revoked => "revoked",
            LifecycleState::Stopped => "stopped",
        }
    }

    /// The state `command` leads to from this one, if the transition is allowed.
    pub fn after(self, command: LifecycleCommand) -> Option<LifecycleState> {
        use LifecycleCommand as C;
        use LifecycleState as S;
        match (command, self) {
            (C::Pause, S::Running) => Some(S::Paused),
            (C::Resume, S::Paused | S::Revoked) => Some(S::Running),
            (C::Revoke, S::Running | S::Paused) => Some(S::Revoked),
            (C::Drain, S::Running | S::Paused | S::Revoked) => Some(S::Draining),
            _ => None,
        }
    }
}

impl std::fmt::Display for LifecycleState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_listed_transitions_are_allowed() {
        use LifecycleCommand as C;
        use LifecycleState as S;
        let all = [
            S::Docked,
            S::Running,
            S::Paused,
            S::Draining,
            S::Drained,
            S::DrainFailed,
            S::Revoked,
            S::Stopped,
        ];
        let commands = [C::Pause, C::Resume, C::Revoke, C::Drain];
        let mut allowed = Vec::new();
        for from in all {
            for command in commands {
                if let Some(to) = from.after(command) {
                    allowed.push((command, from, to));
                }
            }
            assert_eq!(LifecycleState::from_u8(from as u8), from);
        }
        assert_eq!(
            allowed,
            vec![
                (C::Pause, S::Running, S::Paused),
                (C::Revoke, S::Running, S::Revoked),
                (C::Drain, S::Running, S::Draining),
                (C::Resume, S::Paused, S::Running),
                (C::Revoke, S::Paused, S::Revoked),
                (C::Drain, S::Paused, S::Draining),
                (C::Resume, S::Revoked, S::Running),
                (C::Drain, S::Revoked, S::Draining),
            ]
        );
    }
}
