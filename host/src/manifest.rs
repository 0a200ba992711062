//! The optional per-model manifest, `<name>.toml` next to `<name>.wasm`: limits that differ
//! from the host's defaults, and the capabilities granted to the model (none by default).
//!
//! ```toml
//! strict_predictions = true   # a prediction that does not fit the label config fails
//!                             # the request (default: logged, counted, answered)
//!
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
//! [instances]
//! reuse = true                # a warm instance serves the project's next call (default)
//! max_calls = 10_000          # calls one instance serves before a fresh one
//! idle_secs = 30              # an unused warm instance is dropped after this
//! max_memory_mib = 64         # an instance that grew past this is not kept warm
//!
//! [capabilities]
//! # A folder (relative to the models folder) the model may read, e.g. its weights.
//! read_only_dir = { host = "weights/ner", guest = "/weights" }
//! # Origins task data may come from besides the project's Label Studio.
//! fetch = ["https://images.example.com", "https://*.s3.amazonaws.com"]
//!
//! [nn]
//! threads = 2                 # intra-op threads per inference (default 1)
//! device = "cpu"              # or "cuda" (ONNX Runtime's GPU build and a GPU)
//! sessions = 1                # inferences of one graph running at once
//! memory_mib = 512            # tensors one call may hold, in and out
//! allow_graph_bytes = false   # let the guest load graph bytes itself (`graph.load`)
//!
//! [nn.graphs]                 # the graphs the guest opens with `load-by-name`
//! det = "weights/ocr/det.onnx"    # relative to the models folder
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
    /// Its neural-network graphs (`wasi:nn`).
    #[serde(default)]
    pub nn: NnSection,
    /// Whether warm instances serve further calls.
    #[serde(default)]
    pub instances: InstancesSection,
    /// Fail requests whose predictions do not fit the project's label config.
    #[serde(default)]
    pub strict_predictions: Option<bool>,
}

/// `[instances]`: instance reuse; each unset key keeps the host's default.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstancesSection {
    /// False: a fresh instance for every call.
    pub reuse: Option<bool>,
    /// Calls one instance serves before it is replaced.
    pub max_calls: Option<u32>,
    /// Seconds an unused warm instance is kept.
    pub idle_secs: Option<f64>,
    /// Linear memory past which an instance is dropped after its call, in MiB.
    pub max_memory_mib: Option<u64>,
}

/// `[nn]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NnSection {
    /// Graph name -> ONNX file, relative to the models folder (or absolute).
    #[serde(default)]
    pub graphs: std::collections::BTreeMap<String, PathBuf>,
    /// Intra-op threads per inference.
    pub threads: Option<u32>,
    /// Where inferences run.
    pub device: Option<crate::nn::Device>,
    /// ONNX Runtime sessions per graph.
    pub sessions: Option<u32>,
    /// Tensors one call may hold, in MiB.
    pub memory_mib: Option<u64>,
    /// Whether the guest may load graph bytes itself.
    #[serde(default)]
    pub allow_graph_bytes: bool,
}

/// Most intra-op threads or sessions a manifest may ask for.
const MAX_NN_THREADS: u32 = 256;
/// Most tensor memory a manifest may give one call.
const MAX_NN_MEMORY_MIB: u64 = 64 * 1024;

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
        if let Some(strict) = self.strict_predictions {
            limits.strict_predictions = strict;
        }
        let i = &self.instances;
        if let Some(reuse) = i.reuse {
            limits.reuse.enabled = reuse;
        }
        if let Some(calls) = i.max_calls {
            anyhow::ensure!(calls >= 1, "[instances] max_calls must be at least 1");
            limits.reuse.max_calls = calls;
        }
        if let Some(secs) = i.idle_secs {
            limits.reuse.idle = seconds("idle_secs", secs)?;
        }
        if let Some(mib) = i.max_memory_mib {
            anyhow::ensure!(
                (1..=MAX_MEMORY_MIB).contains(&mib),
                "[instances] max_memory_mib must be 1..={MAX_MEMORY_MIB}"
            );
            limits.reuse.max_memory_bytes = usize::try_from(mib << 20)?;
        }
        Ok(limits)
    }

    /// The capabilities, resolved: a granted folder must exist and be a directory.
    pub fn grants(&self, models_dir: &Path) -> anyhow::Result<Grants> {
        let egress = std::sync::Arc::new(
            crate::taskdata::EgressPolicy::new(&self.capabilities.fetch)
                .map_err(anyhow::Error::msg)?,
        );
        let nn = self.nn.plan(models_dir)?;
        let Some(grant) = &self.capabilities.read_only_dir else {
            return Ok(Grants {
                read_only_dir: None,
                egress,
                nn,
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
            nn,
        })
    }
}

impl NnSection {
    /// The plan: each graph file found (and fingerprinted, without reading it), the
    /// settings checked.
    fn plan(&self, models_dir: &Path) -> anyhow::Result<crate::nn::NnPlan> {
        let mut plan = crate::nn::NnPlan::default();
        for (name, file) in &self.graphs {
            anyhow::ensure!(
                !name.is_empty() && name.len() <= 128,
                "[nn.graphs]: a graph name must be 1 to 128 characters"
            );
            let path = models_dir.join(file);
            let meta = std::fs::metadata(&path)
                .map_err(|e| anyhow::anyhow!("[nn.graphs] {name} = {}: {e}", path.display()))?;
            anyhow::ensure!(
                meta.is_file(),
                "[nn.graphs] {name} = {} is not a file",
                path.display()
            );
            plan.graphs.push(crate::nn::GraphFile {
                name: name.clone(),
                path,
                fingerprint: (meta.len(), meta.modified().ok()),
            });
        }
        for (key, value, target) in [
            ("threads", self.threads, &mut plan.threads),
            ("sessions", self.sessions, &mut plan.sessions),
        ] {
            if let Some(n) = value {
                anyhow::ensure!(
                    (1..=MAX_NN_THREADS).contains(&n),
                    "[nn] {key} must be 1..={MAX_NN_THREADS}"
                );
                *target = n as usize;
            }
        }
        if let Some(device) = self.device {
            plan.device = device;
        }
        if let Some(mib) = self.memory_mib {
            anyhow::ensure!(
                (1..=MAX_NN_MEMORY_MIB).contains(&mib),
                "[nn] memory_mib must be 1..={MAX_NN_MEMORY_MIB}"
            );
            plan.tensor_bytes = mib << 20;
        }
        plan.allow_graph_bytes = self.allow_graph_bytes;
        Ok(plan)
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
    fn nn_graphs_must_exist_and_settings_are_checked() {
        let dir = tempfile::tempdir().expect("dir");
        std::fs::create_dir(dir.path().join("weights")).expect("mkdir");
        std::fs::write(dir.path().join("weights/det.onnx"), b"graph").expect("write");
        let ok = parse(
            "[nn]\nthreads = 2\ndevice = \"cuda\"\nmemory_mib = 8\n[nn.graphs]\ndet = \"weights/det.onnx\"\n",
        )
        .expect("valid");
        let plan = ok.grants(dir.path()).expect("exists").nn;
        assert_eq!(plan.graphs.len(), 1);
        assert_eq!(plan.graphs[0].name, "det");
        assert_eq!(plan.graphs[0].fingerprint.0, 5);
        assert_eq!(
            (plan.threads, plan.device, plan.tensor_bytes),
            (2, crate::nn::Device::Cuda, 8 << 20)
        );
        let missing = parse("[nn.graphs]\nrec = \"weights/rec.onnx\"\n").expect("valid");
        let err = missing.grants(dir.path()).expect_err("missing graph");
        assert!(err.to_string().contains("rec"), "{err}");
        for bad in [
            "[nn]\nthreads = 0\n",
            "[nn]\ndevice = \"tpu\"\n",
            "[nn]\nmemory_mib = 0\n",
            "[nn]\ngpu = true\n",
        ] {
            let rejected = parse(bad).and_then(|m| m.grants(dir.path()));
            assert!(rejected.is_err(), "{bad}");
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
