//! Open connections per address (`abuse.connections_per_address`): one device on the LAN
//! cannot take every connection slot. Counted from accept to close, HTTP ones included.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use crate::ratelimit::auth_attempts::Host;

/// The counts; an address with no open connection has no entry, so the map is never larger
/// than the number of open connections.
#[derive(Default)]
pub struct PerAddress {
    open: RefCell<HashMap<Host, usize>>,
}

/// One counted connection; uncounted when dropped.
pub struct Held {
    owner: Rc<PerAddress>,
    host: Host,
}

impl PerAddress {
    /// Counts a connection of `host`, unless `max` are open from it already.
    pub fn hold(self: &Rc<Self>, host: Host, max: usize) -> Option<Held> {
        let mut open = self.open.borrow_mut();
        let count = open.entry(host).or_insert(0);
        if *count >= max {
            if *count == 0 {
                open.remove(&host);
            }
            return None;
        }
        *count += 1;
        Some(Held {
            owner: self.clone(),
            host,
        })
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        let mut open = self.owner.open.borrow_mut();
        if let Some(count) = open.get_mut(&self.host) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.host);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_address_and_forgets_closed_ones() {
        let per = Rc::new(PerAddress::default());
        let a = Host::of("10.0.0.1".parse().unwrap());
        let b = Host::of("10.0.0.2".parse().unwrap());
        let first = per.hold(a, 2).unwrap();
        let _second = per.hold(a, 2).unwrap();
        assert!(per.hold(a, 2).is_none());
        assert!(per.hold(b, 2).is_some());
        drop(first);
        assert!(per.hold(a, 2).is_some());
        assert!(per.open.borrow().get(&b).is_none());
        assert!(per.hold(b, 0).is_none());
        assert!(per.open.borrow().get(&b).is_none());
    }
}
