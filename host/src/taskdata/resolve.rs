//! What a reference in task data stands for, resolved the way Label Studio's SDK
//! (`get_local_path`) does: uploads through the storage proxy with a fallback, local files
//! from the document root or Label Studio, cloud URIs through the per-task presign endpoint,
//! anything else as a URL.

use std::path::{Component, Path, PathBuf};

use base64::Engine as _;
use url::Url;

use super::FetchFailure;

/// Where the bytes of one reference come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A file under the host's local files root (a relative path already checked to stay in).
    LocalFile(PathBuf),
    /// Paths (with query) on the project's Label Studio, tried in order: the next one after
    /// an HTTP error from the previous.
    LabelStudio(Vec<String>),
    /// Label Studio's presign endpoint for a cloud URI: it redirects to a presigned URL (any
    /// origin; never sent the token) or proxies the bytes.
    Presign(String),
    /// An absolute URL, fetched directly (the policy decides whether it may be).
    Url(Url),
}

/// The cloud storage schemes Label Studio presigns.
const CLOUD_SCHEMES: [&str; 3] = ["s3://", "gs://", "azure-blob://"];

/// Resolves `reference` as it appears in a task. `local_root` is whether the host reads
/// local files itself (then a path leaving the root is refused here).
pub fn resolve(
    reference: &str,
    task_id: Option<u64>,
    local_root: Option<&Path>,
) -> Result<Source, FetchFailure> {
    let reference = reference.trim();
    if reference.is_empty() {
        return Err(FetchFailure::InvalidUrl("the task's URL is empty".into()));
    }
    if CLOUD_SCHEMES.iter().any(|s| reference.starts_with(s)) {
        let task = task_id.ok_or_else(|| {
            FetchFailure::InvalidUrl(format!(
                "{reference}: a cloud storage URI needs the task id (pass the task's `id`)"
            ))
        })?;
        let encoded = base64::engine::general_purpose::URL_SAFE.encode(reference);
        return Ok(Source::Presign(format!(
            "/tasks/{task}/presign/?fileuri={encoded}"
        )));
    }
    if let Some(upload) = upload_path(reference) {
        return Ok(Source::LabelStudio(vec![
            format!("/storage-data/uploaded/?filepath={}", query_escape(&upload)),
            format!("/data/{upload}"),
        ]));
    }
    if let Some(query) = reference.strip_prefix("/data/local-files/?") {
        let relative = url::form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == "d")
            .map(|(_, v)| v.into_owned())
            .ok_or_else(|| {
                FetchFailure::InvalidUrl(format!("{reference}: a local file needs `?d=<path>`"))
            })?;
        return match local_root {
            Some(root) => Ok(Source::LocalFile(inside_root(root, &relative)?)),
            None => Ok(Source::LabelStudio(vec![format!(
                "/data/local-files/?d={}",
                query_escape(&relative)
            )])),
        };
    }
    if reference.starts_with('/') {
        // Another path on Label Studio, such as `/storage-data/uploaded/?filepath=...`.
        return Ok(Source::LabelStudio(vec![reference.to_owned()]));
    }
    let url = Url::parse(reference)
        .map_err(|e| FetchFailure::InvalidUrl(format!("{reference}: not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(FetchFailure::InvalidUrl(format!(
            "{reference}: only http(s) URLs, Label Studio paths and s3/gs/azure-blob URIs"
        )));
    }
    Ok(Source::Url(url))
}

/// `upload/<project>/<file>` for an uploaded file's reference (`/data/upload/...`, and the
/// older `upload/...` and `/upload/...`).
fn upload_path(reference: &str) -> Option<String> {
    let rest = reference
        .strip_prefix("/data/upload/")
        .or_else(|| reference.strip_prefix("/upload/"))
        .or_else(|| reference.strip_prefix("upload/"))?;
    Some(format!("upload/{rest}"))
}

/// `text` escaped for a query value.
fn query_escape(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// `relative` under `root`, refusing absolute paths, `..`, and symlinks that lead out.
fn inside_root(root: &Path, relative: &str) -> Result<PathBuf, FetchFailure> {
    let refuse = || {
        FetchFailure::NotAllowed(format!(
            "/data/local-files/?d={relative}: the path leaves the local files root"
        ))
    };
    let path = Path::new(relative);
    if !path
        .components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return Err(refuse());
    }
    let joined = root.join(path);
    let real = match joined.canonicalize() {
        Ok(real) => real,
        Err(_) => {
            return Err(FetchFailure::NotFound(format!(
                "/data/local-files/?d={relative}: no such file under the local files root"
            )));
        }
    };
    let real_root = root.canonicalize().map_err(|_| refuse())?;
    if !real.starts_with(&real_root) {
        return Err(refuse());
    }
    Ok(real)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uploads_go_through_the_storage_proxy_then_the_media_path() {
        for reference in [
            "/data/upload/3/4f2a-cat.jpg",
            "upload/3/4f2a-cat.jpg",
            "/upload/3/4f2a-cat.jpg",
        ] {
            assert_eq!(
                resolve(reference, None, None).expect("resolves"),
                Source::LabelStudio(vec![
                    "/storage-data/uploaded/?filepath=upload%2F3%2F4f2a-cat.jpg".into(),
                    "/data/upload/3/4f2a-cat.jpg".into(),
                ]),
                "{reference}"
            );
        }
    }

    #[test]
    fn cloud_uris_need_a_task_and_are_presigned_in_base64url() {
        assert!(matches!(
            resolve("s3://bucket/call.wav", None, None),
            Err(FetchFailure::InvalidUrl(_))
        ));
        let Source::Presign(path) = resolve("s3://bucket/a b?.wav", Some(7), None).expect("ok")
        else {
            panic!("not presigned");
        };
        let encoded = path
            .strip_prefix("/tasks/7/presign/?fileuri=")
            .expect("prefix");
        let decoded = base64::engine::general_purpose::URL_SAFE
            .decode(encoded)
            .expect("base64url");
        assert_eq!(decoded, b"s3://bucket/a b?.wav");
        assert!(!encoded.contains('+') && !encoded.contains('/'));
    }

    #[test]
    fn local_files_stay_in_their_root() {
        let dir = tempfile::tempdir().expect("dir");
        let root = dir.path().join("root");
        std::fs::create_dir_all(root.join("docs")).expect("mkdir");
        std::fs::write(root.join("docs/a.txt"), b"a").expect("write");
        std::fs::write(dir.path().join("secret.txt"), b"s").expect("write");
        #[cfg(unix)]
        std::os::unix::fs::symlink(dir.path().join("secret.txt"), root.join("out.txt"))
            .expect("symlink");
        let ok = resolve("/data/local-files/?d=docs%2Fa.txt", None, Some(&root)).expect("ok");
        assert!(matches!(ok, Source::LocalFile(p) if p.ends_with("docs/a.txt")));
        for escape in [
            "/data/local-files/?d=../secret.txt",
            "/data/local-files/?d=docs/../../secret.txt",
            "/data/local-files/?d=/etc/passwd",
            "/data/local-files/?d=out.txt",
        ] {
            assert!(
                matches!(
                    resolve(escape, None, Some(&root)),
                    Err(FetchFailure::NotAllowed(_))
                ),
                "{escape}"
            );
        }
        // Without a root, Label Studio serves them.
        assert_eq!(
            resolve("/data/local-files/?d=docs/a.txt", None, None).expect("ok"),
            Source::LabelStudio(vec!["/data/local-files/?d=docs%2Fa.txt".into()])
        );
    }

    #[test]
    fn urls_and_bad_references() {
        assert!(matches!(
            resolve("https://x.example/a.png", None, None),
            Ok(Source::Url(_))
        ));
        for bad in [
            "",
            "file:///etc/passwd",
            "ftp://x/y",
            "not a url",
            "data:,x",
        ] {
            assert!(
                matches!(resolve(bad, None, None), Err(FetchFailure::InvalidUrl(_))),
                "{bad:?}"
            );
        }
    }
}
