//! Connections counted per client, so that no one client can hold the server: a client
//! over its limit has its new connections closed as soon as they are accepted, before
//! anything is read from them or allocated for them.
//!
//! A client is an IPv4 address, or an IPv6 /64: one host or site gets a /64 (and can use
//! any address in it), so counting single IPv6 addresses would count nothing. An IPv4
//! address mapped into IPv6 (`::ffff:a.b.c.d`, from a dual-stack socket) is its IPv4
//! address.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How often at most the server says it refused connections (an attack would otherwise
/// fill its log).
const REPORT_EVERY: Duration = Duration::from_secs(60);

/// The connections open per client, shared by every event loop.
pub struct Clients {
    limit: usize,
    /// Client → connections open; a client with none has no entry, so the map never
    /// holds more entries than the server has connections.
    open: Mutex<HashMap<IpAddr, usize>>,
    /// Connections refused since the last report.
    refused: AtomicU64,
    reported: Mutex<Option<Instant>>,
}

/// One admitted connection; its client's count goes down when it is dropped.
pub struct Admitted {
    clients: Arc<Clients>,
    client: IpAddr,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut open = self
            .clients
            .open
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(count) = open.get_mut(&self.client) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.client);
            }
        }
    }
}

/// The client a peer address counts as: an IPv4 address, or an IPv6 /64.
pub fn client_of(peer: IpAddr) -> IpAddr {
    match peer {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from_bits(v6.to_bits() & !((1u128 << 64) - 1))),
        },
    }
}

/// The client of `peer` as an operator reads it: `192.0.2.7`, `2001:db8:1:2::/64`.
pub fn describe(peer: IpAddr) -> String {
    match client_of(peer) {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("{v6}/64"),
    }
}

impl Clients {
    /// At most `limit` connections per client (at least one).
    pub fn new(limit: usize) -> Arc<Clients> {
        Arc::new(Clients {
            limit: limit.max(1),
            open: Mutex::new(HashMap::new()),
            refused: AtomicU64::new(0),
            reported: Mutex::new(None),
        })
    }

    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Counts a new connection from `peer`, or refuses it (`None`) when its client has
    /// its limit open already.
    pub fn admit(self: &Arc<Self>, peer: IpAddr) -> Option<Admitted> {
        let client = client_of(peer);
        let mut open = self
            .open
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let count = open.entry(client).or_insert(0);
        if *count >= self.limit {
            drop(open);
            self.refused.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        *count += 1;
        Some(Admitted {
            clients: Arc::clone(self),
            client,
        })
    }

    /// How many connections were refused since the last report, when it is time for
    /// another (at the first refusal, then at most once a minute).
    pub fn refusals_to_report(&self) -> Option<u64> {
        let mut reported = self
            .reported
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if reported.is_some_and(|at| at.elapsed() < REPORT_EVERY) {
            return None;
        }
        let refused = self.refused.swap(0, Ordering::Relaxed);
        if refused == 0 {
            return None;
        }
        *reported = Some(Instant::now());
        Some(refused)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse()
            .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED))
    }

    #[test]
    fn clients_are_ipv4_addresses_and_ipv6_64s() {
        assert_eq!(client_of(ip("192.0.2.7")), ip("192.0.2.7"));
        assert_ne!(client_of(ip("192.0.2.7")), client_of(ip("192.0.2.8")));
        assert_eq!(client_of(ip("::ffff:192.0.2.7")), ip("192.0.2.7"));
        assert_eq!(
            client_of(ip("2001:db8:1:2:aaaa:bbbb:cccc:dddd")),
            ip("2001:db8:1:2::")
        );
        assert_eq!(
            client_of(ip("2001:db8:1:2::1")),
            client_of(ip("2001:db8:1:2:ffff::9"))
        );
        assert_ne!(
            client_of(ip("2001:db8:1:2::1")),
            client_of(ip("2001:db8:1:3::1"))
        );
        assert_eq!(describe(ip("2001:db8:1:2::1")), "2001:db8:1:2::/64");
        assert_eq!(describe(ip("::ffff:192.0.2.7")), "192.0.2.7");
    }

    #[test]
    fn a_client_gets_its_limit_and_no_more_until_one_closes() {
        let clients = Clients::new(3);
        let held: Vec<_> = (0..3)
            .filter_map(|n| clients.admit(ip(&format!("2001:db8::{n}"))))
            .collect();
        assert_eq!(held.len(), 3);
        // The same /64 from another address: over the limit.
        assert!(clients.admit(ip("2001:db8::ff")).is_none());
        // Another client is not affected.
        let other = clients.admit(ip("192.0.2.1"));
        assert!(other.is_some());
        drop(held);
        assert!(clients.admit(ip("2001:db8::ff")).is_some());
        assert_eq!(clients.refusals_to_report(), Some(1));
        // Reported: nothing more to say for a minute.
        assert!(clients.admit(ip("2001:db8::ff")).is_some());
        assert_eq!(clients.refusals_to_report(), None);
    }

    #[test]
    fn counts_go_away_with_their_connections() {
        let clients = Clients::new(2);
        let one = clients.admit(ip("192.0.2.1"));
        let two = clients.admit(ip("192.0.2.2"));
        assert_eq!(clients.open.lock().map(|o| o.len()).unwrap_or(0), 2);
        drop((one, two));
        assert_eq!(clients.open.lock().map(|o| o.len()).unwrap_or(9), 0);
    }
}
