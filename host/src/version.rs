//! Model versions as Label Studio sees them.
//!
//! Label Studio de-duplicates predictions by model version, so a version must be stable
//! while nothing changes, equal in `/setup` and in predictions, and new when the code or the
//! trained state changes. It is derived, never stored by hand:
//! `<author version>+<component hash prefix>[.<training generation>]`.

/// Hex digits of the component's SHA-256 kept in the version: enough to tell builds apart.
const HASH_DIGITS: usize = 10;

/// The version of a model whose author version is `author`, whose component file hashes to
/// `component_hash`, after `generation` committed trainings in this project.
pub fn model_version(author: &str, component_hash: &str, generation: u64) -> String {
    let author = if author.is_empty() { "0.0.0" } else { author };
    let hash = component_hash.get(..HASH_DIGITS).unwrap_or(component_hash);
    if generation == 0 {
        format!("{author}+{hash}")
    } else {
        format!("{author}+{hash}.{generation}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_changes_with_code_and_training_only() {
        let hash = "0123456789abcdef";
        assert_eq!(model_version("1.0.0", hash, 0), "1.0.0+0123456789");
        assert_eq!(
            model_version("1.0.0", hash, 0),
            model_version("1.0.0", hash, 0)
        );
        assert_ne!(
            model_version("1.0.0", hash, 0),
            model_version("1.0.0", "ffff", 0)
        );
        assert_eq!(model_version("1.0.0", hash, 3), "1.0.0+0123456789.3");
        assert_eq!(model_version("", "ab", 0), "0.0.0+ab");
    }
}
