//! The names this machine answers to on the LAN: what a self-signed certificate must be
//! valid for, and what the trust URL printed at start uses.

use std::net::IpAddr;

/// The machine's host name (`uname -n`), if it has a usable one.
pub fn host_name() -> Option<String> {
    let uts = rustix::system::uname();
    let name = uts.nodename().to_str().ok()?.trim().to_ascii_lowercase();
    // A DNS label set: letters, digits, '-' and '.'; anything else cannot be a SAN.
    let usable = !name.is_empty()
        && name.len() <= 253
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    usable.then_some(name)
}

/// The host name as mDNS announces it: `pi` → `pi.local` (a name that already ends in
/// `.local` is kept).
pub fn mdns_name(host: &str) -> String {
    let short = host.split('.').next().unwrap_or(host);
    format!("{short}.local")
}

/// DNS names for the certificate: localhost, the host name and its `.local` name.
pub fn dns_names() -> Vec<String> {
    let mut names = vec!["localhost".to_string()];
    if let Some(host) = host_name() {
        let local = mdns_name(&host);
        for name in [host, local] {
            if !names.contains(&name) {
                names.push(name);
            }
        }
    }
    names
}

/// IP addresses for the certificate: loopback and every address of every interface
/// (link-local IPv6 too: a scope id cannot go in a certificate, but the address can).
pub fn ip_addresses() -> Vec<IpAddr> {
    let mut ips: Vec<IpAddr> = vec![
        IpAddr::from([127, 0, 0, 1]),
        IpAddr::from(std::net::Ipv6Addr::LOCALHOST),
    ];
    match if_addrs::get_if_addrs() {
        Ok(interfaces) => {
            for ip in interfaces.into_iter().map(|i| i.ip()) {
                if !ips.contains(&ip) {
                    ips.push(ip);
                }
            }
        }
        Err(e) => log::warn!("cannot list the network interfaces: {e}"),
    }
    ips
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_names() {
        assert_eq!(mdns_name("pi"), "pi.local");
        assert_eq!(mdns_name("pi.local"), "pi.local");
        assert_eq!(mdns_name("pi.example.org"), "pi.local");
        let names = dns_names();
        assert_eq!(names[0], "localhost");
        assert!(ip_addresses().contains(&IpAddr::from([127, 0, 0, 1])));
    }
}
