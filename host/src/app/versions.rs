//! `GET /versions`: the model versions Label Studio's model-version picker offers.
//!
//! Label Studio asks without naming a project (its GET carries no body), so the answer is
//! every version of the model this host knows, newest first: each project's current
//! version (most trained first), the versions its kept job history names (earlier
//! trainings, of this build or earlier ones), newest job first, and last the current
//! build's untrained version (what a new project's `/setup` reports). `?project=<id>`
//! narrows the list to one project.

use std::collections::HashSet;

use serde_json::json;

use super::{App, Reply};
use crate::error::ApiError;

/// Jobs whose versions are listed: the host keeps no more history than this per model.
const JOBS_READ: usize = 1000;

impl App {
    /// `GET /models/<name>/versions[?project=<id>]`.
    pub(super) async fn versions(
        &self,
        name: &str,
        query: Option<&str>,
    ) -> Result<Reply, ApiError> {
        let model = self.ready(name)?;
        let project = project_filter(query);
        let mut generations = self.projects.generations(name).await?;
        generations.retain(|(p, _)| project.as_deref().is_none_or(|wanted| wanted == p));
        // Most trained first; equal counts give equal versions, listed once below.
        generations.sort_by_key(|(_, generation)| std::cmp::Reverse(*generation));
        let mut versions = Vec::new();
        let mut seen = HashSet::new();
        let mut add = |version: String| {
            if seen.insert(version.clone()) {
                versions.push(version);
            }
        };
        for (_, generation) in &generations {
            add(model.version(*generation));
        }
        for job in self.jobs.list(name, JOBS_READ).await {
            let wanted = project.as_deref().is_none_or(|p| p == job.project);
            if let (true, true, Some(version)) = (wanted, job.trained, job.model_version) {
                add(version);
            }
        }
        add(model.version(0));
        Ok(Reply::ok(json!({ "versions": versions })))
    }
}

/// The project id a `?project=` query names (`<id>` or Label Studio's `<id>.<created-ts>`).
fn project_filter(query: Option<&str>) -> Option<String> {
    url::form_urlencoded::parse(query?.as_bytes())
        .find(|(key, _)| key == "project")
        .and_then(|(_, value)| {
            let id = value
                .split('.')
                .next()
                .unwrap_or_default()
                .trim()
                .to_owned();
            (!id.is_empty()).then_some(id)
        })
}

#[cfg(test)]
mod tests {
    use super::project_filter;

    #[test]
    fn project_filter_reads_ids_in_both_forms() {
        assert_eq!(
            project_filter(Some("project=7.1700000000")).as_deref(),
            Some("7")
        );
        assert_eq!(
            project_filter(Some("a=b&project=12")).as_deref(),
            Some("12")
        );
        assert_eq!(project_filter(Some("project=")), None);
        assert_eq!(project_filter(Some("other=1")), None);
        assert_eq!(project_filter(None), None);
    }
}
