//! Certificates: reading a PEM pair into what rustls serves, the SHA-256 fingerprint people
//! compare, and making the self-signed pair of `tls.mode = "self-signed"`.
//!
//! "Self-signed" is, precisely, a one-off local CA that signs one server certificate and is
//! then thrown away (its key is never written). Phones and browsers trust a CA, not a bare
//! server certificate (iOS lists only CAs under "Certificate Trust Settings", Android
//! installs only CA certificates, Firefox refuses a CA used as the server certificate), and
//! a CA whose key no longer exists cannot sign anything else: trusting it trusts this one
//! server certificate and nothing more.

use std::fmt;
use std::io;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;

/// Apple's limit for server certificates (days); ours stay a little under it.
pub const MAX_VALIDITY_DAYS: i64 = 825;
const VALIDITY_DAYS: i64 = 820;

/// File names in the data directory for `self-signed` mode.
pub const SELF_SIGNED_CERT: &str = "tls-cert.pem";
pub const SELF_SIGNED_KEY: &str = "tls-key.pem";
/// The certificate people install to trust the server (the one-off CA).
pub const SELF_SIGNED_TRUST: &str = "tls-ca.pem";

/// Why a certificate cannot be used; every message names the files.
#[derive(Debug)]
pub enum TlsError {
    Read {
        path: PathBuf,
        error: io::Error,
    },
    Write {
        path: PathBuf,
        error: io::Error,
    },
    Pem {
        path: PathBuf,
        what: &'static str,
    },
    Key {
        cert: PathBuf,
        key: PathBuf,
        error: String,
    },
    /// Some of the self-signed files exist and some do not.
    Incomplete {
        present: PathBuf,
        missing: PathBuf,
    },
    Generate(String),
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsError::Read { path, error } => write!(f, "cannot read {}: {error}", path.display()),
            TlsError::Write { path, error } => {
                write!(f, "cannot write {}: {error}", path.display())
            }
            TlsError::Pem { path, what } => {
                write!(f, "{} holds no usable PEM {what}", path.display())
            }
            TlsError::Key { cert, key, error } => write!(
                f,
                "the key {} does not go with the certificate {}: {error}",
                key.display(),
                cert.display()
            ),
            TlsError::Incomplete { present, missing } => write!(
                f,
                "{} exists but {} does not: restore it, or delete the tls-*.pem files in \
                 the data directory to make a new certificate (devices that trusted the old \
                 one must then trust the new one)",
                present.display(),
                missing.display()
            ),
            TlsError::Generate(e) => write!(f, "cannot make a self-signed certificate: {e}"),
        }
    }
}

impl std::error::Error for TlsError {}

/// A certificate chain and key ready to serve, plus what people are shown about it.
pub struct Loaded {
    pub key: Arc<CertifiedKey>,
    /// The certificate a device must trust (the top of the chain), PEM.
    pub trust_pem: String,
    /// SHA-256 of [`Loaded::trust_pem`]'s certificate, `AB:CD:…`.
    pub fingerprint: String,
}

/// `AB:CD:…` of the SHA-256 of a DER certificate, as browsers and phones display it.
pub fn fingerprint(der: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, der);
    let hex: Vec<String> = digest.as_ref().iter().map(|b| format!("{b:02X}")).collect();
    hex.join(":")
}

/// Reads a PEM certificate chain (leaf first) and its key, and checks they match. Blocking.
pub fn load_files(provider: &CryptoProvider, cert: &Path, key: &Path) -> Result<Loaded, TlsError> {
    let cert_pem = read(cert)?;
    let key_pem = read(key)?;
    from_pem(provider, &cert_pem, &key_pem, cert, key)
}

/// [`load_files`] on texts already read; the paths only name them in errors.
pub fn from_pem(
    provider: &CryptoProvider,
    cert_pem: &[u8],
    key_pem: &[u8],
    cert: &Path,
    key: &Path,
) -> Result<Loaded, TlsError> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|_| TlsError::Pem {
            path: cert.to_path_buf(),
            what: "certificate",
        })?;
    let Some(top) = chain.last() else {
        return Err(TlsError::Pem {
            path: cert.to_path_buf(),
            what: "certificate",
        });
    };
    let trust_pem = to_pem("CERTIFICATE", top);
    let fingerprint = fingerprint(top);
    let private = PrivateKeyDer::from_pem_slice(key_pem).map_err(|_| TlsError::Pem {
        path: key.to_path_buf(),
        what: "private key",
    })?;
    let mismatch = |error: String| TlsError::Key {
        cert: cert.to_path_buf(),
        key: key.to_path_buf(),
        error,
    };
    let signing = provider
        .key_provider
        .load_private_key(private)
        .map_err(|e| mismatch(e.to_string()))?;
    let certified = CertifiedKey::new(chain, signing);
    certified
        .keys_match()
        .map_err(|e| mismatch(e.to_string()))?;
    Ok(Loaded {
        key: Arc::new(certified),
        trust_pem,
        fingerprint,
    })
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|error| TlsError::Read {
        path: path.to_path_buf(),
        error,
    })
}

fn to_pem(label: &str, der: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// The three files of `self-signed` mode in `data_dir`.
pub struct SelfSignedFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub trust: PathBuf,
}

impl SelfSignedFiles {
    pub fn in_dir(data_dir: &Path) -> SelfSignedFiles {
        SelfSignedFiles {
            cert: data_dir.join(SELF_SIGNED_CERT),
            key: data_dir.join(SELF_SIGNED_KEY),
            trust: data_dir.join(SELF_SIGNED_TRUST),
        }
    }

    /// Whether none of them exists yet (first start).
    fn none_exist(&self) -> bool {
        [&self.cert, &self.key, &self.trust]
            .iter()
            .all(|p| !p.exists())
    }

    fn check_complete(&self) -> Result<(), TlsError> {
        let all = [&self.cert, &self.key, &self.trust];
        if let (Some(present), Some(missing)) = (
            all.iter().find(|p| p.exists()),
            all.iter().find(|p| !p.exists()),
        ) {
            return Err(TlsError::Incomplete {
                present: present.to_path_buf(),
                missing: missing.to_path_buf(),
            });
        }
        Ok(())
    }
}

/// Loads the self-signed pair, making it first if none exists. An existing pair is never
/// replaced: a broken one is an error naming the files. Blocking (keygen, disk).
/// Returns the pair and whether it was made just now.
pub fn self_signed(
    provider: &CryptoProvider,
    data_dir: &Path,
    names: &[String],
    ips: &[IpAddr],
) -> Result<(Loaded, bool), TlsError> {
    let files = SelfSignedFiles::in_dir(data_dir);
    let made = files.none_exist();
    if made {
        generate(&files, names, ips)?;
    } else {
        files.check_complete()?;
    }
    let mut loaded = load_files(provider, &files.cert, &files.key)?;
    let trust = read(&files.trust)?;
    let ca = CertificateDer::from_pem_slice(&trust).map_err(|_| TlsError::Pem {
        path: files.trust.clone(),
        what: "certificate",
    })?;
    loaded.trust_pem = to_pem("CERTIFICATE", &ca);
    loaded.fingerprint = fingerprint(&ca);
    Ok((loaded, made))
}

fn generate(files: &SelfSignedFiles, names: &[String], ips: &[IpAddr]) -> Result<(), TlsError> {
    use rcgen::{
        BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose,
        IsCa, KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, SanType,
    };
    let err = |e: rcgen::Error| TlsError::Generate(e.to_string());
    let now = time::OffsetDateTime::now_utc();
    // A day of slack for devices whose clock is a little behind.
    let not_before = now - time::Duration::days(1);
    let not_after = now + time::Duration::days(VALIDITY_DAYS - 1);
    let host = names.get(1).map_or("this machine", String::as_str);

    let ca_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(err)?;
    let mut ca = CertificateParams::default();
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca.distinguished_name = DistinguishedName::new();
    ca.distinguished_name.push(
        DnType::CommonName,
        format!("OriginChats server on {host} (local CA, key discarded)"),
    );
    ca.distinguished_name
        .push(DnType::OrganizationName, "OriginChats server");
    ca.not_before = not_before;
    ca.not_after = not_after;
    let ca_cert = ca.self_signed(&ca_key).map_err(err)?;
    let issuer = rcgen::Issuer::new(ca, ca_key);

    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(err)?;
    let mut leaf = CertificateParams::default();
    leaf.distinguished_name = DistinguishedName::new();
    leaf.distinguished_name
        .push(DnType::CommonName, format!("OriginChats server on {host}"));
    let mut sans = Vec::new();
    for name in names {
        match name.clone().try_into() {
            Ok(dns) => sans.push(SanType::DnsName(dns)),
            Err(_) => log::warn!("host name {name:?} cannot go in a certificate; left out"),
        }
    }
    sans.extend(ips.iter().map(|ip| SanType::IpAddress(*ip)));
    leaf.subject_alt_names = sans;
    leaf.is_ca = IsCa::ExplicitNoCa;
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf.use_authority_key_identifier_extension = true;
    leaf.not_before = not_before;
    leaf.not_after = not_after;
    let leaf_cert = leaf.signed_by(&key, &issuer).map_err(err)?;
    // The CA key goes out of scope here and is never written (see the module docs).
    drop(issuer);

    write_file(&files.key, key.serialize_pem().as_bytes(), true)?;
    write_file(
        &files.cert,
        format!("{}{}", leaf_cert.pem(), ca_cert.pem()).as_bytes(),
        false,
    )?;
    write_file(&files.trust, ca_cert.pem().as_bytes(), false)
}

/// Writes a new file; `secret` ones are readable by the owner only (0600).
fn write_file(path: &Path, bytes: &[u8], secret: bool) -> Result<(), TlsError> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(if secret { 0o600 } else { 0o644 });
    }
    let error = |error| TlsError::Write {
        path: path.to_path_buf(),
        error,
    };
    let mut file = options.open(path).map_err(error)?;
    file.write_all(bytes).map_err(error)?;
    file.sync_all().map_err(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provider() -> CryptoProvider {
        rustls::crypto::ring::default_provider()
    }

    #[test]
    fn makes_once_then_loads_the_same_pair() {
        let dir = tempfile::tempdir().unwrap();
        let names = vec!["localhost".to_string(), "pi".into(), "pi.local".into()];
        let ips = [IpAddr::from([127, 0, 0, 1])];
        let (first, made) = self_signed(&provider(), dir.path(), &names, &ips).unwrap();
        assert!(made);
        let (again, made) = self_signed(&provider(), dir.path(), &names, &ips).unwrap();
        assert!(!made);
        assert_eq!(first.fingerprint, again.fingerprint);
        assert_eq!(first.fingerprint.len(), 32 * 3 - 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(SELF_SIGNED_KEY))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // The leaf and the CA are both in the served chain.
        assert_eq!(first.key.cert.len(), 2);
    }

    #[test]
    fn a_broken_pair_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let names = vec!["localhost".to_string()];
        self_signed(&provider(), dir.path(), &names, &[]).unwrap();
        std::fs::write(dir.path().join(SELF_SIGNED_KEY), "garbage").unwrap();
        let e = self_signed(&provider(), dir.path(), &names, &[])
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains(SELF_SIGNED_KEY), "{e}");
        std::fs::remove_file(dir.path().join(SELF_SIGNED_KEY)).unwrap();
        let e = self_signed(&provider(), dir.path(), &names, &[])
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("does not"), "{e}");
        assert!(!dir.path().join(SELF_SIGNED_KEY).exists());
    }
}
