//! The optional per-model manifest, `<name>.toml` next to `<name>.wasm`: limits that differ
//! from the host's defaults, and the capabilities granted to the model (none by default).
//!
//! ```toml
//! [limits]
//! memory_mib = 256            # linear memory, total across the component's memories
//! predict_timeout_secs = 30   # wall clock per predict
//! fit_timeout_secs = 1200     # wall clock per fit
//! max_instances = 4           # calls running at once; more wait briefly, then 503
//! output_kib = 64             # stdout, stderr and `log` kept per stream per call
//! predict_fuel = 5_000_000_000  # optional compute budget per predict (~instructions)
//! fit_fuel = 500_000_000_000    # optional compute budget per fit
//!
//! fetch_mib = 256             # task data one call may fetch
//! fetch_timeout_secs = 30     # per fetch, within the call's own budget
//!
//! [capabilities]
//! # A folder (relative to the models folder) the model may read, e.g. its weights.
//! read_only_dir = { host = "weights/ner", guest = "/weights" }
//! # Origins task data may come from besides the project's Label Studio.
//! fetch = ["https://images.example.com", "https://*.s3.amazonaws.com"]
//! ```

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::limits::{CallLimits, Grants};

/// Most memory a manifest may give one model, so a typo cannot ask for terabytes.
const MAX_MEMORY_MIB: u64 = 16 * 1024;
/// Most task data a manifest may let one call fetch.
const MAX_FETCH_MIB: u64 = 16 * 1024;
/// Most concurrent instances a manifest may allow.
const MAX_INSTANCES: u32 = 1024;

/// A parsed manifest. Unknown keys are errors: a misspelt limit must not silently not apply.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Overrides of the host's limits.
    #[serde(default)]
    pub limits: LimitOverrides,
    /// What the model may reach beyond its own memory.
    #[serde(default)]
    pub capabilities: Capabilities,
}

/// `[limits]`: each unset one keeps the host's default.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitOverrides {
    /// Linear memory in MiB.
    pub memory_mib: Option<u64>,
    /// Seconds per `predict`.
    pub predict_timeout_secs: Option<f64>,
    /// Seconds per `fit`.
    pub fit_timeout_secs: Option<f64>,
    /// Calls running at once.
    pub max_instances: Option<u32>,
    /// Captured output per stream per call, in KiB.
    pub output_kib: Option<u64>,
    /// Fuel per `predict`; setting either fuel budget runs the model on the metered engine.
    pub predict_fuel: Option<u64>,
    /// Fuel per `fit`.
    pub fit_fuel: Option<u64>,
    /// Task data one call may fetch, in MiB.
    pub fetch_mib: Option<u64>,
    /// Seconds one fetch may take.
    pub fetch_timeout_secs: Option<f64>,
}

/// `[capabilities]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Capabilities {
    /// One folder the model may read.
    pub read_only_dir: Option<DirGrant>,
    /// Origins (`https://host[:port]`, `https://*.domain`) the model may fetch task data
    /// from, besides its project's Label Studio.
    #[serde(default)]
    pub fetch: Vec<String>,
}

/// A host folder visible to the guest, read-only.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirGrant {
    /// The folder on the host, relative to the models folder (or absolute).
    pub host: PathBuf,
    /// Where the guest sees it, e.g. `/weights`.
    pub guest: String,
}

impl Manifest {
    /// The manifest of model `name` in `models_dir`; `None` when there is none.
    pub fn load(models_dir: &Path, name: &str) -> anyhow::Result<Option<Self>> {
        let path = models_dir.join(format!("{name}.toml"));
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(err) => anyhow::bail!("cannot read {}: {err}", path.display()),
        };
        let manifest: Self = toml::from_str(&text)
            .map_err(|e| anyhow::anyhow!("invalid manifest {}: {e}", path.display()))?;
        Ok(Some(manifest))
    }

    /// `defaults` with this manifest's overrides, checked.
    pub fn limits(&self, defaults: &CallLimits) -> anyhow::Result<CallLimits> {
        let o = &self.limits;
        let mut limits = defaults.clone();
        if let Some(mib) = o.memory_mib {
            anyhow::ensure!(
                (1..=MAX_MEMORY_MIB).contains(&mib),
                "memory_mib must be 1..={MAX_MEMORY_MIB}"
            );
            limits.memory_bytes = usize::try_from(mib << 20)?;
        }
        if let Some(secs) = o.predict_timeout_secs {
            limits.predict_timeout = seconds("predict_timeout_secs", secs)?;
        }
        if let Some(secs) = o.fit_timeout_secs {
            limits.fit_timeout = seconds("fit_timeout_secs", secs)?;
        }
        if let Some(n) = o.max_instances {
            anyhow::ensure!(
                (1..=MAX_INSTANCES).contains(&n),
                "max_instances must be 1..={MAX_INSTANCES}"
            );
            limits.max_instances = n as usize;
        }
        if let Some(kib) = o.output_kib {
            limits.output_bytes = usize::try_from(kib.min(64 << 10) << 10)?;
        }
        for (name, fuel, limit) in [
            ("predict_fuel", o.predict_fuel, &mut limits.predict_fuel),
            ("fit_fuel", o.fit_fuel, &mut limits.fit_fuel),
        ] {
            if let Some(fuel) = fuel {
                anyhow::ensure!(fuel > 0, "{name} must be at least 1");
                *limit = Some(fuel);
            }
        }
        if let Some(mib) = o.fetch_mib {
            anyhow::ensure!(
                (1..=MAX_FETCH_MIB).contains(&mib),
                "fetch_mib must be 1..={MAX_FETCH_MIB}"
            );
            limits.fetch_bytes = mib << 20;
        }
        if let Some(secs) = o.fetch_timeout_secs {
            limits.fetch_timeout = seconds("fetch_timeout_secs", secs)?;
        }
        Ok(limits)
    }

    /// The capabilities, resolved: a granted folder must exist and be a directory.
    pub fn grants(&self, models_dir: &Path) -> anyhow::Result<Grants> {
        let egress = std::sync::Arc::new(
            crate::taskdata::EgressPolicy::new(&self.capabilities.fetch)
                .map_err(anyhow::Error::msg)?,
        );
        let Some(grant) = &self.capabilities.read_only_dir else {
            return Ok(Grants {
                read_only_dir: None,
                egress,
            });
        };
        anyhow::ensure!(
            grant.guest.starts_with('/') && !grant.guest.contains(".."),
            "read_only_dir.guest must be an absolute path without `..`"
        );
        let host = models_dir.join(&grant.host);
        let host = host
            .canonicalize()
            .map_err(|e| anyhow::anyhow!("read_only_dir {}: {e}", host.display()))?;
        anyhow::ensure!(
            host.is_dir(),
            "read_only_dir {} is not a folder",
            host.display()
        );
        Ok(Grants {
            read_only_dir: Some((host, grant.guest.clone())),
            egress,
        })
    }
}

fn seconds(name: &str, secs: f64) -> anyhow::Result<Duration> {
    anyhow::ensure!(
        secs.is_finite() && secs > 0.0 && secs <= 86_400.0,
        "{name} must be between 0 and 86400 seconds"
    );
    Ok(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> anyhow::Result<Manifest> {
        Ok(toml::from_str(text)?)
    }

    #[test]
    fn overrides_apply_and_the_rest_keep_defaults() {
        let manifest =
            parse("[limits]\nmemory_mib = 64\npredict_timeout_secs = 0.5\n").expect("valid");
        let limits = manifest.limits(&CallLimits::default()).expect("valid");
        assert_eq!(limits.memory_bytes, 64 << 20);
        assert_eq!(limits.predict_timeout, Duration::from_millis(500));
        assert_eq!(limits.fit_timeout, CallLimits::default().fit_timeout);
        assert!(!limits.metered());
        let fueled = parse("[limits]\nfit_fuel = 1_000\n").expect("valid");
        let limits = fueled.limits(&CallLimits::default()).expect("valid");
        assert_eq!((limits.predict_fuel, limits.fit_fuel), (None, Some(1000)));
        assert!(limits.metered());
    }

    #[test]
    fn typos_and_absurd_values_are_errors() {
        assert!(parse("[limits]\nmemory_mb = 64\n").is_err(), "unknown key");
        assert!(
            parse("[capabilities]\nnetwork = true\n").is_err(),
            "not grantable"
        );
        for bad in [
            "[limits]\nmemory_mib = 0\n",
            "[limits]\nmemory_mib = 99999999\n",
            "[limits]\npredict_timeout_secs = -1\n",
            "[limits]\nmax_instances = 0\n",
            "[limits]\npredict_fuel = 0\n",
        ] {
            let manifest = parse(bad).expect("parses");
            assert!(manifest.limits(&CallLimits::default()).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_granted_folder_must_exist() {
        let dir = tempfile::tempdir().expect("dir");
        std::fs::create_dir(dir.path().join("weights")).expect("mkdir");
        let ok = parse("[capabilities]\nread_only_dir = { host = \"weights\", guest = \"/w\" }\n")
            .expect("valid");
        let grants = ok.grants(dir.path()).expect("exists");
        assert_eq!(grants.read_only_dir.map(|(_, g)| g).as_deref(), Some("/w"));
        let missing =
            parse("[capabilities]\nread_only_dir = { host = \"nope\", guest = \"/w\" }\n")
                .expect("valid");
        assert!(missing.grants(dir.path()).is_err());
        let relative =
            parse("[capabilities]\nread_only_dir = { host = \"weights\", guest = \"w\" }\n")
                .expect("valid");
        assert!(relative.grants(dir.path()).is_err());
    }
}
