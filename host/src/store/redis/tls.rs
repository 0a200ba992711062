//! TLS for `rediss://` URLs, over rustls.
//!
//! Without a CA file the server's certificate must chain to one of the system's roots (read
//! by the `redis` crate through rustls-native-certs on every connection). With a CA file,
//! the certificates in it are trusted *instead*: the `redis` crate then builds its root store
//! from that file alone, which is what a private CA wants (no public CA can vouch for the
//! server).

use std::path::Path;

use redis::{ConnectionAddr, TlsCertificates};
use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use super::StoreFailure;

/// A client for `url`, trusting the certificates in `ca_file` when one is given.
pub(super) fn client(url: &str, ca_file: Option<&Path>) -> Result<redis::Client, StoreFailure> {
    install_crypto_provider();
    let client = redis::Client::open(url).map_err(super::unavailable)?;
    let Some(ca_file) = ca_file else {
        return Ok(client);
    };
    // A CA file next to a plaintext URL means the operator believes traffic is encrypted
    // when it is not: refuse rather than silently ignore it.
    if !matches!(
        client.get_connection_info().addr(),
        ConnectionAddr::TcpTls { .. }
    ) {
        return Err(StoreFailure::Unavailable(format!(
            "--redis-ca-file {} needs a rediss:// store URL",
            ca_file.display()
        )));
    }
    let root_cert = read_ca_file(ca_file)?;
    let certificates = TlsCertificates {
        client_tls: None,
        root_cert: Some(root_cert),
    };
    redis::Client::build_with_tls(url, certificates).map_err(super::unavailable)
}

/// Makes ring the process's rustls crypto provider.
///
/// The `redis` crate builds its rustls configuration from the process default; were a
/// second provider ever compiled in (feature unification), rustls could not pick one and
/// would panic on the first `rediss://` connection. Installing fails only when a provider is
/// already installed, which is just as good.
fn install_crypto_provider() {
    let _already_installed = rustls::crypto::ring::default_provider().install_default();
}

/// The PEM text of `path`, checked to hold at least one usable CA certificate.
///
/// The `redis` crate silently skips anything in the PEM that is not a certificate, so a
/// wrong file would otherwise surface as an unexplained certificate error at connect time.
fn read_ca_file(path: &Path) -> Result<Vec<u8>, StoreFailure> {
    let fail = |why: String| {
        StoreFailure::Unavailable(format!("--redis-ca-file {}: {why}", path.display()))
    };
    let pem = std::fs::read(path).map_err(|e| fail(format!("cannot read it: {e}")))?;
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|e| fail(format!("not valid PEM: {e}")))?;
        roots
            .add(cert)
            .map_err(|e| fail(format!("not a usable CA certificate: {e}")))?;
    }
    if roots.is_empty() {
        return Err(fail("no PEM certificate (BEGIN CERTIFICATE) in it".into()));
    }
    Ok(pem)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(contents: &[u8]) -> tempfile::NamedTempFile {
        let file = tempfile::NamedTempFile::new().expect("temp file");
        std::fs::write(file.path(), contents).expect("write");
        file
    }

    fn message(result: Result<redis::Client, StoreFailure>) -> String {
        match result {
            Ok(_) => panic!("expected an error"),
            Err(err) => err.to_string(),
        }
    }

    #[test]
    fn a_ca_file_without_tls_is_refused() {
        let file = written(b"");
        let err = message(client("redis://127.0.0.1:1/0", Some(file.path())));
        assert!(err.contains("needs a rediss://"), "{err}");
    }

    #[test]
    fn a_ca_file_without_certificates_is_refused_by_name() {
        let file = written(b"not a certificate\n");
        let err = message(client("rediss://127.0.0.1:1/0", Some(file.path())));
        assert!(err.contains(&file.path().display().to_string()), "{err}");
        assert!(err.contains("no PEM certificate"), "{err}");
    }

    #[test]
    fn a_missing_ca_file_is_refused_by_name() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("absent.pem");
        let err = message(client("rediss://127.0.0.1:1/0", Some(&path)));
        assert!(
            err.contains("absent.pem") && err.contains("cannot read"),
            "{err}"
        );
    }

    #[test]
    fn a_corrupt_certificate_is_refused() {
        let file = written(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
        let err = message(client("rediss://127.0.0.1:1/0", Some(file.path())));
        assert!(err.contains("--redis-ca-file"), "{err}");
    }

    #[test]
    fn without_a_ca_file_any_url_builds_a_client() {
        assert!(client("rediss://127.0.0.1:1/0", None).is_ok());
        assert!(client("redis://127.0.0.1:1/0", None).is_ok());
    }
}
