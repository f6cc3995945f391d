//! One connection's share of the server-wide budget for large inbound messages
//! (`connections.large_messages_budget_bytes`, kept in [`App::large_messages_reserved`]).
//!
//! The gate ([`super::message_gate`]) takes from it when a message grows above
//! `connections.max_message_bytes`; the reader gives a message's bytes back once the router
//! has handled it ([`BudgetShare::handled`]); whatever is still held when the connection
//! ends — even in the middle of a message — goes back when the share is dropped.

use std::rc::Rc;

use serde_json::json;

use super::message_gate::Admission;
use crate::app::App;
use crate::hub::Session;
use crate::protocol::encode;
use crate::protocol::errors::LARGE_MESSAGES_BUSY;

pub struct BudgetShare {
    app: Rc<App>,
    session: Rc<Session>,
    /// Bytes this connection holds now.
    held: usize,
}

impl BudgetShare {
    pub fn new(app: Rc<App>, session: Rc<Session>) -> BudgetShare {
        BudgetShare {
            app,
            session,
            held: 0,
        }
    }

    /// A data message of `len` bytes has been handled (or dropped): a large one held
    /// exactly its size from the budget, which goes back now.
    pub fn handled(&mut self, len: usize) {
        if len > self.app.config.connections.max_message_bytes {
            self.give_back(len);
        }
    }

    fn give_back(&mut self, bytes: usize) {
        let bytes = bytes.min(self.held);
        self.held -= bytes;
        let total = &self.app.large_messages_reserved;
        total.set(total.get().saturating_sub(bytes));
    }
}

impl Admission for BudgetShare {
    fn authenticated(&self) -> bool {
        self.session.is_authenticated()
    }

    fn reserve(&mut self, bytes: usize) -> bool {
        let total = &self.app.large_messages_reserved;
        let budget = self.app.config.connections.large_messages_budget_bytes;
        match total.get().checked_add(bytes) {
            Some(after) if after <= budget => {
                total.set(after);
                self.held += bytes;
                log::debug!(
                    "connection {} ({}): receiving a large message: {} bytes held by this \
                     connection, {after} of {budget} bytes of the large-message budget in use",
                    self.session.id,
                    self.session.peer,
                    self.held
                );
                true
            }
            _ => false,
        }
    }

    fn busy(&mut self, declared: u64) {
        log::info!(
            "connection {} ({}): large message of {declared} bytes skipped: {} of {} bytes \
             of connections.large_messages_budget_bytes are in use",
            self.session.id,
            self.session.peer,
            self.app.large_messages_reserved.get(),
            self.app.config.connections.large_messages_budget_bytes
        );
        self.session
            .send(encode(&json!({"cmd": "error", "val": LARGE_MESSAGES_BUSY})));
    }
}

impl Drop for BudgetShare {
    fn drop(&mut self) {
        self.give_back(self.held);
    }
}
