//! Seeded network emulation between simulated peers: loss, delay (with jitter), duplication
//! and reordering, in virtual time.
//!
//! A [`Link`] takes datagrams with the time they were sent and gives them back at the time
//! they arrive. Reordering falls out of jitter: two datagrams sent close together can arrive
//! in the other order. Everything is decided by the seed, so a failing run can be replayed.

use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

use crate::rng::Rng;

/// The faults of a link.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Faults {
    /// Probability that a datagram is lost.
    pub loss: f64,
    /// Probability that a datagram is delivered twice.
    pub duplicate: f64,
    /// Base one-way delay.
    pub delay: Duration,
    /// Extra delay drawn uniformly from `0..=jitter`; reorders datagrams closer than this.
    pub jitter: Duration,
}

impl Faults {
    /// A perfect link: no loss, no duplication, no delay.
    pub const NONE: Faults = Faults {
        loss: 0.0,
        duplicate: 0.0,
        delay: Duration::ZERO,
        jitter: Duration::ZERO,
    };

    /// A lossy Wi-Fi-like link: `p` loss and `p` duplication, 1–21 ms delay (so datagrams
    /// sent less than 20 ms apart may swap).
    pub fn lossy(p: f64) -> Faults {
        Faults {
            loss: p,
            duplicate: p,
            delay: Duration::from_millis(1),
            jitter: Duration::from_millis(20),
        }
    }
}

/// A one-way link carrying items of type `T` (usually a datagram and its addresses).
#[derive(Debug)]
pub struct Link<T> {
    faults: Faults,
    rng: Rng,
    queue: BinaryHeap<InFlight<T>>,
    seq: u64,
    stats: LinkStats,
}

/// What a link did so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkStats {
    /// Datagrams given to the link.
    pub sent: u64,
    /// Datagrams dropped.
    pub lost: u64,
    /// Extra copies made.
    pub duplicated: u64,
    /// Datagrams handed out.
    pub delivered: u64,
}

#[derive(Debug)]
struct InFlight<T> {
    at: Instant,
    seq: u64,
    item: T,
}

impl<T> PartialEq for InFlight<T> {
    fn eq(&self, o: &Self) -> bool {
        (self.at, self.seq) == (o.at, o.seq)
    }
}
impl<T> Eq for InFlight<T> {}
impl<T> PartialOrd for InFlight<T> {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl<T> Ord for InFlight<T> {
    /// Reversed, so the `BinaryHeap` pops the earliest arrival first.
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (o.at, o.seq).cmp(&(self.at, self.seq))
    }
}

impl<T: Clone> Link<T> {
    /// A link with `faults`, deciding with `seed`.
    pub fn new(faults: Faults, seed: u64) -> Link<T> {
        Link {
            faults,
            rng: Rng::new(seed),
            queue: BinaryHeap::new(),
            seq: 0,
            stats: LinkStats::default(),
        }
    }

    /// Sends `item` at `now`.
    pub fn send(&mut self, now: Instant, item: T) {
        self.stats.sent += 1;
        if self.rng.chance(self.faults.loss) {
            self.stats.lost += 1;
            return;
        }
        let copies = if self.rng.chance(self.faults.duplicate) {
            self.stats.duplicated += 1;
            2
        } else {
            1
        };
        for _ in 0..copies {
            let jitter = self.faults.jitter.as_nanos() as u64;
            let extra = Duration::from_nanos(self.rng.below(jitter.saturating_add(1)));
            self.seq += 1;
            self.queue.push(InFlight {
                at: now + self.faults.delay + extra,
                seq: self.seq,
                item: item.clone(),
            });
        }
    }

    /// The next item that has arrived by `now`, earliest first.
    pub fn recv(&mut self, now: Instant) -> Option<T> {
        if self.queue.peek()?.at <= now {
            self.stats.delivered += 1;
            self.queue.pop().map(|f| f.item)
        } else {
            None
        }
    }

    /// When the next item arrives.
    pub fn next_arrival(&self) -> Option<Instant> {
        self.queue.peek().map(|f| f.at)
    }

    /// What the link did so far.
    pub fn stats(&self) -> LinkStats {
        self.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perfect_link_keeps_order_and_time() {
        let t0 = Instant::now();
        let mut l = Link::new(Faults::NONE, 1);
        for i in 0..10 {
            l.send(t0, i);
        }
        let got: Vec<i32> = std::iter::from_fn(|| l.recv(t0)).collect();
        assert_eq!(got, (0..10).collect::<Vec<_>>());
    }

    #[test]
    fn lossy_link_loses_duplicates_and_reorders_reproducibly() {
        let run = |seed| {
            let t0 = Instant::now();
            let mut l = Link::new(Faults::lossy(0.05), seed);
            for i in 0..10_000u32 {
                l.send(t0 + Duration::from_millis(i as u64), i);
            }
            let end = t0 + Duration::from_secs(60);
            let got: Vec<u32> = std::iter::from_fn(|| l.recv(end)).collect();
            (got, l.stats())
        };
        let (got, stats) = run(42);
        assert_eq!(run(42).0, got, "same seed, same run");
        assert!((350..650).contains(&stats.lost), "{stats:?}");
        assert!((350..650).contains(&stats.duplicated), "{stats:?}");
        assert_eq!(got.len() as u64, stats.sent - stats.lost + stats.duplicated);
        let reordered = got.windows(2).filter(|w| w[1] < w[0]).count();
        assert!(reordered > 100, "{reordered}");
        // Nothing arrives before base delay.
        let t0 = Instant::now();
        let mut l = Link::new(Faults::lossy(0.0), 3);
        l.send(t0, 1);
        assert_eq!(l.recv(t0), None);
        assert!(l.next_arrival().unwrap() >= t0 + Duration::from_millis(1));
    }
}
