//! Which cipher to prefer. Without AES instructions (the Raspberry Pi 4's Cortex-A72 has
//! none; the Pi 5 and PC processors have them) AES-GCM runs in software, several times
//! slower than ChaCha20-Poly1305, and its expanded keys take more memory per connection:
//! such a machine prefers ChaCha20 over the client's order. With AES instructions the
//! client's order stands (clients put AES-GCM first where it is fast for them too).

use rustls::CipherSuite;
use rustls::crypto::CryptoProvider;

/// Whether `/proc/cpuinfo` text lists the AES instructions (x86 `flags`, ARM `Features`).
pub fn cpuinfo_has_aes(cpuinfo: &str) -> bool {
    cpuinfo
        .lines()
        .filter(|line| line.starts_with("flags") || line.starts_with("Features"))
        .any(|line| {
            line.split_once(':')
                .is_some_and(|(_, words)| words.split_whitespace().any(|w| w == "aes"))
        })
}

/// Whether this machine has AES instructions, asked of the processor itself where the
/// standard library can (x86, aarch64): the packaged service hides `/proc/cpuinfo`
/// (`ProcSubset=pid`), so that file is only the fallback.
#[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
pub fn machine_has_aes() -> bool {
    std::arch::is_x86_feature_detected!("aes")
}

/// See the x86 version.
#[cfg(target_arch = "aarch64")]
pub fn machine_has_aes() -> bool {
    std::arch::is_aarch64_feature_detected!("aes")
}

/// 32-bit ARM and others: `/proc/cpuinfo` when it can be read; unknown counts as no AES,
/// since ChaCha20 is fast in software everywhere. Blocking (reads a file); called once.
#[cfg(not(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64")))]
pub fn machine_has_aes() -> bool {
    std::fs::read_to_string("/proc/cpuinfo").is_ok_and(|text| cpuinfo_has_aes(&text))
}

/// Moves the ChaCha20-Poly1305 suites to the front (TLS 1.3 and 1.2 alike).
pub fn prefer_chacha20(provider: &mut CryptoProvider) {
    provider.cipher_suites.sort_by_key(|suite| {
        !matches!(
            suite.suite(),
            CipherSuite::TLS13_CHACHA20_POLY1305_SHA256
                | CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256
                | CipherSuite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256
        )
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aes_is_found_on_x86_and_arm_and_missed_on_a_pi_4() {
        let x86 = "processor\t: 0\nflags\t\t: fpu vme sse2 aes avx\n";
        let pi5 = "processor\t: 0\nFeatures\t: fp asimd evtstrm aes pmull sha1 sha2 crc32\n";
        let pi4 = "processor\t: 0\nFeatures\t: fp asimd evtstrm crc32 cpuid\nCPU part\t: 0xd08\n";
        assert!(cpuinfo_has_aes(x86));
        assert!(cpuinfo_has_aes(pi5));
        assert!(!cpuinfo_has_aes(pi4));
        assert!(!cpuinfo_has_aes("flags\t: vaes_like\n"));
    }

    #[test]
    fn chacha20_goes_first() {
        let mut provider = rustls::crypto::ring::default_provider();
        let count = provider.cipher_suites.len();
        prefer_chacha20(&mut provider);
        assert_eq!(provider.cipher_suites.len(), count);
        assert_eq!(
            provider.cipher_suites[0].suite(),
            CipherSuite::TLS13_CHACHA20_POLY1305_SHA256
        );
    }
}
