//! Native TLS on the WebSocket port: `wss://` and `https://` next to `ws://` and `http://`.
//!
//! The transport peeks at each connection's first byte (see `server::transport`); a TLS
//! ClientHello is handed to [`Tls::accept`] and the same HTTP/WebSocket code then runs over
//! the TLS stream. The certificate comes from [`certificate`] (made once and kept in the
//! data directory, or read from `tls.cert`/`tls.key`), is served through a resolver that
//! can swap it while connections are open ([`watch_files`]), and is explained to people by
//! the `/tls` page (`server::tls_page`) and `admin tls-info` ([`info_text`]).

pub mod certificate;
pub mod ciphers;

pub mod names;

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use futures_rustls::TlsAcceptor;
use futures_rustls::server::TlsStream;
use rustls::ServerConfig;
use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use smol::Timer;
use smol::net::TcpStream;

pub use crate::config::{TlsConfig, TlsMode};
use certificate::{Loaded, SelfSignedFiles, TlsError};

/// What rustls may buffer per connection (encrypted records not yet written, plus
/// plaintext before the handshake ends). Small, so that a slow reader's backlog piles up
/// in the outbox, where `connections.send_queue_*` counts it, not here. One full record
/// fits, so a large frame still goes out in few writes.
pub const BUFFER_LIMIT: usize = 16 * 1024 + 512;

/// How often `files` mode looks at the certificate files' metadata.
const FILES_CHECK_INTERVAL: Duration = Duration::from_secs(2);

/// The running TLS side: the acceptor and what is shown about its certificate.
pub struct Tls {
    acceptor: TlsAcceptor,
    resolver: Arc<Resolver>,
    shown: RefCell<Shown>,
    provider: Arc<CryptoProvider>,
    /// `files` mode: the paths to watch.
    files: Option<(PathBuf, PathBuf)>,
    /// Where the served certificate lives, for the start log line.
    pub describe: String,
    pub mode: TlsMode,
}

/// What people are shown about the served certificate.
#[derive(Debug, Clone)]
struct Shown {
    fingerprint: String,
    trust_pem: String,
}

/// Hands rustls the current certificate; [`watch_files`] swaps it.
#[derive(Debug)]
struct Resolver(RwLock<Arc<CertifiedKey>>);

impl ResolvesServerCert for Resolver {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        // A poisoned lock still holds a valid certificate.
        Some(match self.0.read() {
            Ok(key) => key.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        })
    }
}

impl Tls {
    /// Sets TLS up as configured (`None` for `off`). Blocking: it may make a key pair and
    /// reads files, so it runs before the executor starts.
    pub fn start(config: &TlsConfig, data_dir: &Path) -> Result<Option<Rc<Tls>>, String> {
        if config.mode == TlsMode::Off {
            return Ok(None);
        }
        let mut provider = rustls::crypto::ring::default_provider();
        let prefer_chacha20 = !ciphers::machine_has_aes();
        if prefer_chacha20 {
            ciphers::prefer_chacha20(&mut provider);
            log::info!("TLS: this CPU has no AES instructions: ChaCha20-Poly1305 is preferred");
        }
        let provider = Arc::new(provider);
        let (loaded, files, describe) = match config.mode {
            TlsMode::Off => return Ok(None),
            TlsMode::SelfSigned => {
                let names = names::dns_names();
                let ips = names::ip_addresses();
                let (loaded, made) =
                    certificate::self_signed(&provider, data_dir, &names, &ips).map_err(tls)?;
                let paths = SelfSignedFiles::in_dir(data_dir);
                let describe = format!(
                    "{} certificate {}",
                    if made {
                        "new self-signed"
                    } else {
                        "self-signed"
                    },
                    paths.cert.display()
                );
                if made {
                    log::info!(
                        "made a self-signed certificate for {} and {}; the certificate to trust \
                         is {}",
                        names.join(", "),
                        ips.iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join(", "),
                        paths.trust.display()
                    );
                }
                (loaded, None, describe)
            }
            TlsMode::Files => {
                let (cert, key) = (PathBuf::from(&config.cert), PathBuf::from(&config.key));
                let loaded = certificate::load_files(&provider, &cert, &key).map_err(tls)?;
                let describe = format!("certificate {} (watched for changes)", cert.display());
                (loaded, Some((cert, key)), describe)
            }
        };
        let resolver = Arc::new(Resolver(RwLock::new(loaded.key.clone())));
        let mut server = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS: {e}"))?
            .with_no_client_auth()
            .with_cert_resolver(resolver.clone());
        server.ignore_client_order = prefer_chacha20;
        Ok(Some(Rc::new(Tls {
            acceptor: TlsAcceptor::from(Arc::new(server)),
            resolver,
            shown: RefCell::new(Shown {
                fingerprint: loaded.fingerprint,
                trust_pem: loaded.trust_pem,
            }),
            provider,
            files,
            describe,
            mode: config.mode,
        })))
    }

    /// Runs the TLS handshake on an accepted socket (the caller bounds it in time).
    pub async fn accept(&self, stream: TcpStream) -> std::io::Result<TlsStream<TcpStream>> {
        self.acceptor
            .accept_with(stream, |connection| {
                connection.set_buffer_limit(Some(BUFFER_LIMIT));
            })
            .await
    }

    /// SHA-256 of the certificate a device trusts, `AB:CD:…`.
    pub fn fingerprint(&self) -> String {
        self.shown.borrow().fingerprint.clone()
    }

    /// The certificate a device trusts, PEM.
    pub fn trust_pem(&self) -> String {
        self.shown.borrow().trust_pem.clone()
    }

    fn replace(&self, loaded: Loaded) {
        match self.resolver.0.write() {
            Ok(mut key) => *key = loaded.key,
            Err(poisoned) => *poisoned.into_inner() = loaded.key,
        }
        *self.shown.borrow_mut() = Shown {
            fingerprint: loaded.fingerprint,
            trust_pem: loaded.trust_pem,
        };
    }
}

fn tls(e: TlsError) -> String {
    format!("TLS: {e} (tls.mode in the config file; \"off\" serves plain ws:// only)")
}

/// Whether a failed TLS handshake means the client does not trust our certificate (it says
/// so with one of these alerts): the most likely reason a device "could not connect".
pub fn client_distrusts_us(error: &std::io::Error) -> bool {
    use rustls::AlertDescription::{BadCertificate, CertificateUnknown, UnknownCA};
    matches!(
        error
            .get_ref()
            .and_then(|e| e.downcast_ref::<rustls::Error>()),
        Some(rustls::Error::AlertReceived(
            CertificateUnknown | UnknownCA | BadCertificate
        ))
    )
}

/// The address to open once to trust the certificate.
pub fn trust_url(port: u16) -> String {
    match names::host_name() {
        Some(host) => format!("https://{}:{port}/tls", names::mdns_name(&host)),
        None => format!("https://<this machine's address>:{port}/tls"),
    }
}

/// `files` mode: serves the new pair when the files change, without a restart. A pair that
/// does not load is reported and the old one kept. Runs on the executor; the metadata
/// checks and reads go to the blocking pool.
pub async fn watch_files(tls: Rc<Tls>) {
    let Some((cert, key)) = tls.files.clone() else {
        return;
    };
    let stamp =
        |cert: PathBuf, key: PathBuf| smol::unblock(move || (file_stamp(&cert), file_stamp(&key)));
    let mut seen = stamp(cert.clone(), key.clone()).await;
    loop {
        Timer::after(FILES_CHECK_INTERVAL).await;
        let now = stamp(cert.clone(), key.clone()).await;
        if now == seen {
            continue;
        }
        seen = now;
        let (c, k, provider) = (cert.clone(), key.clone(), tls.provider.clone());
        match smol::unblock(move || certificate::load_files(&provider, &c, &k)).await {
            Ok(loaded) => {
                log::info!(
                    "TLS: {} changed: now serving the new certificate (SHA-256 {})",
                    cert.display(),
                    loaded.fingerprint
                );
                tls.replace(loaded);
            }
            // Often the certificate is replaced a moment before the key: the next change
            // is tried again.
            Err(e) => log::error!("TLS: {e}; still serving the previous certificate"),
        }
    }
}

/// What identifies a version of a file: length, modification time, inode.
fn file_stamp(path: &Path) -> Option<(u64, SystemTime, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(&meta);
    #[cfg(not(unix))]
    let inode = 0;
    Some((meta.len(), meta.modified().ok()?, inode))
}

/// `admin tls-info`: the served certificate's fingerprint and the URL to trust it. Only
/// reads: a missing self-signed certificate is made by the server's first start.
pub fn info_text(config: &crate::config::Config, data_dir: &Path) -> Result<String, String> {
    let tls_config = &config.tls;
    let (trust, what) = match tls_config.mode {
        TlsMode::Off => {
            return Ok(
                "TLS is off (tls.mode \"off\"): clients connect with ws:// and http://\n".into(),
            );
        }
        TlsMode::SelfSigned => {
            let files = SelfSignedFiles::in_dir(data_dir);
            if !files.trust.exists() {
                return Err(format!(
                    "no self-signed certificate in {} yet: the server makes it on its first start",
                    data_dir.display()
                ));
            }
            (
                files.trust,
                "self-signed (a one-off local CA; install this file to trust it)",
            )
        }
        TlsMode::Files => (PathBuf::from(&tls_config.cert), "from tls.cert"),
    };
    let pem = std::fs::read(&trust).map_err(|e| format!("cannot read {}: {e}", trust.display()))?;
    let der = {
        use rustls::pki_types::CertificateDer;
        use rustls::pki_types::pem::PemObject;
        CertificateDer::pem_slice_iter(&pem)
            .filter_map(Result::ok)
            .last()
            .ok_or_else(|| format!("{} holds no PEM certificate", trust.display()))?
    };
    Ok(format!(
        "certificate: {} ({what})\nSHA-256 fingerprint: {}\nto trust it, open once: {}\n\
         then connect to wss://<this machine>:{}\n",
        trust.display(),
        certificate::fingerprint(&der),
        trust_url(config.websocket.port),
        config.websocket.port
    ))
}
