//! [`Machine`]: what a run was measured on.

use serde::Serialize;

/// The machine a run was measured on, printed with every report: figures from
/// different machines do not compare.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Machine {
    /// Cores the process may use.
    pub cores: usize,
    /// The CPU's model name, or "unknown".
    pub cpu: String,
    /// The operating system.
    pub os: &'static str,
    /// The CPU architecture.
    pub arch: &'static str,
}

impl Machine {
    /// This machine. The CPU model comes from `/proc/cpuinfo` where there is one.
    pub fn this() -> Machine {
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|info| cpu_model(&info))
            .unwrap_or_else(|| "unknown".to_owned());
        Machine {
            cores: std::thread::available_parallelism().map_or(1, usize::from),
            cpu,
            os: std::env::consts::OS,
            arch: std::env::consts::ARCH,
        }
    }
}

/// The first model name in a `/proc/cpuinfo`: `model name` on x86, `Model` or
/// `CPU part` elsewhere.
fn cpu_model(cpuinfo: &str) -> Option<String> {
    ["model name", "Model", "Processor", "cpu model"]
        .iter()
        .find_map(|key| {
            cpuinfo.lines().find_map(|line| {
                let (name, value) = line.split_once(':')?;
                (name.trim() == *key && !value.trim().is_empty()).then(|| value.trim().to_owned())
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_model_name_is_read_from_cpuinfo() {
        let info = "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13\n\
                    processor\t: 1\nmodel name\t: AMD EPYC 7B13\n";
        assert_eq!(cpu_model(info).as_deref(), Some("AMD EPYC 7B13"));
        assert_eq!(cpu_model("processor : 0\n"), None);
        assert!(Machine::this().cores >= 1);
    }
}
