//! The directory's accounts: a list in store order, found by id and by username.
//!
//! An idle server's private memory is mostly this list (600 accounts on a club's board), so
//! each account is kept once: the two lookup tables hold only its place in the list (4
//! bytes), not copies of its id and lower-cased name as a map from strings would.

use std::hash::{BuildHasher, RandomState};

use hashbrown::HashTable;
use hashbrown::hash_table::Entry;

use super::User;

/// Accounts with unique ids; a username is found case-insensitively.
#[derive(Debug, Clone, Default)]
pub struct Accounts {
    /// In store order: `users_list` and every scan see them so.
    list: Vec<User>,
    /// Places in `list`, by id.
    by_id: HashTable<u32>,
    /// Places in `list`, by lower-cased username. When two accounts' names collide (the
    /// store keeps them unique; a caller may not), the one put last is found.
    by_name: HashTable<u32>,
    hasher: RandomState,
}

impl Accounts {
    /// Indexes `users` where they are; a later account with the id of an earlier one
    /// replaces it.
    pub fn new(users: Vec<User>) -> Accounts {
        let mut accounts = Accounts {
            by_id: HashTable::with_capacity(users.len()),
            by_name: HashTable::with_capacity(users.len()),
            list: users,
            hasher: RandomState::new(),
        };
        if accounts.index_all() {
            return accounts;
        }
        // An id came twice (the store's are unique): put them one by one.
        let users = std::mem::take(&mut accounts.list);
        accounts.by_id.clear();
        accounts.by_name.clear();
        for user in users {
            accounts.put(user);
        }
        accounts
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = &User> {
        self.list.iter()
    }

    pub fn by_id(&self, id: &str) -> Option<&User> {
        self.place_of_id(id).map(|i| &self.list[i])
    }

    pub fn by_name(&self, username: &str) -> Option<&User> {
        let lower = username.to_lowercase();
        let list = &self.list;
        self.by_name
            .find(self.hasher.hash_one(&lower), |&i| {
                list[i as usize].username.to_lowercase() == lower
            })
            .map(|&i| &list[i as usize])
    }

    /// Inserts `user`, or replaces the account with its id in its place.
    pub fn put(&mut self, user: User) {
        match self.place_of_id(&user.id) {
            Some(i) => {
                let renamed = self.list[i].username.to_lowercase() != user.username.to_lowercase();
                if renamed {
                    self.forget_name(i);
                }
                self.list[i] = user;
                if renamed {
                    self.index_name(i);
                }
            }
            None => {
                self.list.push(user);
                let i = self.list.len() - 1;
                self.index_id(i);
                self.index_name(i);
            }
        }
    }

    /// Removes the account with this id; the others keep their order.
    pub fn remove(&mut self, id: &str) -> Option<User> {
        let i = self.place_of_id(id)?;
        let user = self.list.remove(i);
        // Every later account moved down one place. Deleting an account is rare; the
        // tables are small and built again in one pass.
        self.by_id.clear();
        self.by_name.clear();
        self.index_all();
        Some(user)
    }

    /// Fills the empty tables from the list; false if an id is in it twice.
    fn index_all(&mut self) -> bool {
        for i in 0..self.list.len() {
            if !self.index_id(i) {
                return false;
            }
            self.index_name(i);
        }
        true
    }

    /// Makes the account at `i` the one its id finds; false if another one has it.
    fn index_id(&mut self, i: usize) -> bool {
        let (list, hasher) = (&self.list, &self.hasher);
        let id = list[i].id.as_str();
        match self.by_id.entry(
            hasher.hash_one(id),
            |&j| list[j as usize].id == id,
            |&j| hasher.hash_one(list[j as usize].id.as_str()),
        ) {
            Entry::Occupied(_) => false,
            Entry::Vacant(free) => {
                free.insert(place(i));
                true
            }
        }
    }

    fn place_of_id(&self, id: &str) -> Option<usize> {
        let list = &self.list;
        self.by_id
            .find(self.hasher.hash_one(id), |&i| list[i as usize].id == id)
            .map(|&i| i as usize)
    }

    /// Makes the account at `i` the one its lower-cased username finds.
    fn index_name(&mut self, i: usize) {
        let lower = self.list[i].username.to_lowercase();
        let hash = self.hasher.hash_one(&lower);
        let (list, hasher) = (&self.list, &self.hasher);
        let same_name = |&j: &u32| list[j as usize].username.to_lowercase() == lower;
        let rehash = |&j: &u32| hasher.hash_one(list[j as usize].username.to_lowercase());
        match self.by_name.entry(hash, same_name, rehash) {
            Entry::Occupied(mut taken) => *taken.get_mut() = place(i),
            Entry::Vacant(free) => {
                free.insert(place(i));
            }
        }
    }

    /// Drops the name entry of the account at `i`, if its name finds it.
    fn forget_name(&mut self, i: usize) {
        let lower = self.list[i].username.to_lowercase();
        let hash = self.hasher.hash_one(&lower);
        if let Ok(entry) = self.by_name.find_entry(hash, |&j| j as usize == i) {
            entry.remove();
        }
    }
}

/// A place in the list as the tables keep it (no board holds 4 billion accounts).
fn place(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: &str, name: &str) -> User {
        User::new_rotur(id.into(), name.into(), vec!["user".into()])
    }

    fn ids(a: &Accounts) -> Vec<&str> {
        a.iter().map(|u| u.id.as_str()).collect()
    }

    #[test]
    fn finds_by_id_and_by_name_in_any_case() {
        let a = Accounts::new(vec![user("1", "Alice"), user("2", "bob")]);
        assert_eq!(a.by_id("2").map(|u| u.username.as_str()), Some("bob"));
        assert_eq!(a.by_name("ALICE").map(|u| u.id.as_str()), Some("1"));
        assert_eq!(a.by_name("alice").map(|u| u.id.as_str()), Some("1"));
        assert!(a.by_id("3").is_none());
        assert!(a.by_name("carol").is_none());
        assert_eq!(a.len(), 2);
    }

    #[test]
    fn put_replaces_in_place_and_follows_a_rename() {
        let mut a = Accounts::new(vec![user("1", "alice"), user("2", "bob")]);
        a.put(user("1", "Alicia"));
        assert_eq!(ids(&a), ["1", "2"]);
        assert!(a.by_name("alice").is_none());
        assert_eq!(a.by_name("alicia").map(|u| u.id.as_str()), Some("1"));
        a.put(user("3", "carol"));
        assert_eq!(ids(&a), ["1", "2", "3"]);
        assert_eq!(a.by_name("Carol").map(|u| u.id.as_str()), Some("3"));
    }

    #[test]
    fn remove_keeps_the_order_and_every_lookup() {
        let users: Vec<User> = (0..50)
            .map(|i| user(&i.to_string(), &format!("Name{i}")))
            .collect();
        let mut a = Accounts::new(users);
        assert_eq!(
            a.remove("10").map(|u| u.username),
            Some("Name10".to_string())
        );
        assert!(a.remove("10").is_none());
        assert_eq!(a.len(), 49);
        assert!(a.by_id("10").is_none() && a.by_name("name10").is_none());
        for i in (0..50).filter(|&i| i != 10) {
            let id = i.to_string();
            assert_eq!(a.by_id(&id).map(|u| u.id.as_str()), Some(id.as_str()));
            let name = format!("NAME{i}");
            assert_eq!(a.by_name(&name).map(|u| u.id.as_str()), Some(id.as_str()));
        }
        let expected: Vec<String> = (0..50)
            .filter(|&i| i != 10)
            .map(|i| i.to_string())
            .collect();
        assert_eq!(ids(&a), expected);
    }

    #[test]
    fn a_duplicate_id_replaces_and_a_colliding_name_finds_the_latest() {
        let a = Accounts::new(vec![user("1", "alice"), user("2", "bob"), user("1", "ann")]);
        assert_eq!(ids(&a), ["1", "2"]);
        assert_eq!(a.by_id("1").map(|u| u.username.as_str()), Some("ann"));
        assert!(a.by_name("alice").is_none());

        let mut b = Accounts::new(vec![user("1", "sam"), user("2", "SAM")]);
        assert_eq!(b.by_name("sam").map(|u| u.id.as_str()), Some("2"));
        // The name goes with the account it found, as a map from names would have it.
        b.put(user("2", "other"));
        assert_eq!(b.by_name("other").map(|u| u.id.as_str()), Some("2"));
        assert!(b.by_name("sam").is_none());
    }
}
