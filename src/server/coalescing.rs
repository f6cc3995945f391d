//! Whether a connection's writer yields before it writes a batch.
//!
//! Yielding once lets the other ready tasks run first, so frames they queue for this
//! connection go out in the same system call: under load (many senders at once) that is
//! what keeps the number of writes below the number of frames. When nothing else is
//! queued meanwhile, the yield is only a second scheduling of the task for every frame.
//! So the writer yields while yielding gathers frames or frames pile up by themselves, and
//! otherwise only every [`PROBE_EVERY`]th batch, to notice when the load comes back.

/// Batches written without a yield after one that gathered nothing.
const PROBE_EVERY: u8 = 16;

/// See the module docs.
#[derive(Debug, Default)]
pub struct Coalescing {
    /// Batches still to be written without yielding.
    skip: u8,
}

impl Coalescing {
    /// Whether to yield before collecting the batch; `waiting` is the number of items
    /// queued beside the first one.
    pub fn should_yield(&mut self, waiting: usize) -> bool {
        if waiting > 0 {
            // Frames pile up on their own: the connection is busy.
            self.skip = 0;
        }
        if self.skip == 0 {
            return true;
        }
        self.skip -= 1;
        false
    }

    /// After a yield: whether more items were queued during it.
    pub fn yielded(&mut self, gathered: bool) {
        self.skip = if gathered { 0 } else { PROBE_EVERY };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stops_yielding_when_it_gathers_nothing_and_resumes_under_load() {
        let mut c = Coalescing::default();
        assert!(c.should_yield(0), "yields at first");
        c.yielded(true);
        assert!(
            c.should_yield(0),
            "a yield that gathered frames is repeated"
        );
        c.yielded(false);
        let skipped = (0..PROBE_EVERY).filter(|_| !c.should_yield(0)).count();
        assert_eq!(
            skipped, PROBE_EVERY as usize,
            "no yields after a useless one"
        );
        assert!(c.should_yield(0), "then a probe");
        c.yielded(false);
        assert!(!c.should_yield(0));
        assert!(c.should_yield(3), "frames piling up: yields again at once");
    }
}
