//! The rustls client configuration for `mqtts://`: the *ring* provider passed explicitly (no
//! process-wide default is installed, so nothing else in the process is affected), the roots
//! from `mqtt.ca` or else the system's, and an optional client certificate with its key.
//! Every problem names the file and what is wrong with it; key material never appears in an
//! error.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, RootCertStore};

use super::LinkError;
use crate::config::TlsFiles;

/// The client configuration for these files.
pub(super) fn client_config(files: &TlsFiles) -> Result<Arc<ClientConfig>, LinkError> {
    let roots = match &files.ca {
        Some(ca) => file_roots(ca)?,
        None => system_roots()?,
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| LinkError::TlsSetup(e.to_string()))?
        .with_root_certificates(roots);
    let config = match (&files.client_cert, &files.client_key) {
        (Some(cert), Some(key)) => {
            let chain = certificates(cert, "mqtt.client_cert")?;
            let private = private_key(key)?;
            builder
                .with_client_auth_cert(chain, private)
                .map_err(|e| LinkError::TlsFile {
                    key: "mqtt.client_key",
                    path: key.clone(),
                    problem: format!(
                        "cannot be used with the certificate in {}: {e}",
                        cert.display()
                    ),
                })?
        }
        (Some(cert), None) => {
            return Err(LinkError::TlsFile {
                key: "mqtt.client_cert",
                path: cert.clone(),
                problem: "has no private key: set mqtt.client_key too".into(),
            });
        }
        (None, Some(key)) => {
            return Err(LinkError::TlsFile {
                key: "mqtt.client_key",
                path: key.clone(),
                problem: "has no certificate: set mqtt.client_cert too".into(),
            });
        }
        (None, None) => builder.with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

/// The CA certificates of `mqtt.ca`.
fn file_roots(path: &Path) -> Result<RootCertStore, LinkError> {
    let mut roots = RootCertStore::empty();
    for (n, cert) in certificates(path, "mqtt.ca")?.into_iter().enumerate() {
        roots.add(cert).map_err(|e| LinkError::TlsFile {
            key: "mqtt.ca",
            path: path.to_owned(),
            problem: format!("certificate {} is not a usable CA certificate: {e}", n + 1),
        })?;
    }
    Ok(roots)
}

/// The system's trusted roots (what `rustls-native-certs` finds: `SSL_CERT_FILE`,
/// `SSL_CERT_DIR`, else the distribution's bundle).
fn system_roots() -> Result<RootCertStore, LinkError> {
    let found = rustls_native_certs::load_native_certs();
    for e in &found.errors {
        tracing::debug!("tls: while loading the system's root certificates: {e}");
    }
    let mut roots = RootCertStore::empty();
    let (added, _ignored) = roots.add_parsable_certificates(found.certs);
    if added == 0 {
        let problem = match found.errors.first() {
            Some(e) => format!("none could be loaded ({e})"),
            None => "the system has none (is the ca-certificates package installed?)".to_owned(),
        };
        return Err(LinkError::NoSystemRoots { problem });
    }
    tracing::debug!("tls: {added} system root certificates");
    Ok(roots)
}

/// Every certificate in a PEM file; at least one.
fn certificates(path: &Path, key: &'static str) -> Result<Vec<CertificateDer<'static>>, LinkError> {
    let bytes = read(path, key)?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| LinkError::TlsFile {
            key,
            path: path.to_owned(),
            problem: pem_problem(&e),
        })?;
    if certs.is_empty() {
        return Err(LinkError::TlsFile {
            key,
            path: path.to_owned(),
            problem: "contains no certificate (expected a PEM block -----BEGIN CERTIFICATE-----)"
                .into(),
        });
    }
    Ok(certs)
}

/// The private key of `mqtt.client_key` (PKCS#8, PKCS#1 or SEC1, PEM).
fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>, LinkError> {
    let bytes = read(path, "mqtt.client_key")?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| LinkError::TlsFile {
        key: "mqtt.client_key",
        path: path.to_owned(),
        problem: match e {
            pem::Error::NoItemsFound => "contains no private key (expected a PEM block -----BEGIN PRIVATE KEY-----, -----BEGIN RSA PRIVATE KEY----- or -----BEGIN EC PRIVATE KEY-----)".into(),
            e => pem_problem(&e),
        },
    })
}

fn read(path: &Path, key: &'static str) -> Result<Vec<u8>, LinkError> {
    std::fs::read(path).map_err(|e| LinkError::TlsFile {
        key,
        path: path.to_owned(),
        problem: format!("cannot read it: {e}"),
    })
}

/// A PEM error in words, without the file's content.
fn pem_problem(e: &pem::Error) -> String {
    match e {
        pem::Error::MissingSectionEnd { .. } => "is not valid PEM: a block has no END line".into(),
        pem::Error::IllegalSectionStart { .. } => {
            "is not valid PEM: a BEGIN line is malformed".into()
        }
        pem::Error::Base64Decode(_) => "is not valid PEM: a block is not valid base64".into(),
        pem::Error::NoItemsFound => "contains no PEM block".into(),
        _ => "is not valid PEM".into(),
    }
}
