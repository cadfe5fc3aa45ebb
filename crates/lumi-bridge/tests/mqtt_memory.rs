//! The MQTT link's heap after one large message. rumqttc writes through tokio-util's `Framed`,
//! whose write buffer kept the capacity of the largest packet for the life of the connection:
//! `bridge/devices` is 0.35 MB for 500 devices, and the bridge publishes it at start.
//! `vendor/rumqttc` gives such a buffer back once it is flushed (its PATCH.md).
//!
//! One test in its own binary, because it counts the whole process's heap with a global
//! allocator.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::Duration;

use lumi_bridge::config::Qos;
use lumi_bridge::mqtt::{Link, LinkEvent, LinkOptions};
use lumi_bridge::testkit::mosquitto_or_skip;

/// The system allocator, counting the bytes allocated and not yet freed.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call goes to `System` unchanged; the counter is only arithmetic on the side.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is passed on as it is.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as above.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as above.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_add(
                new_size as isize - layout.size() as isize,
                Ordering::Relaxed,
            );
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const WAIT: Duration = Duration::from_secs(5);

#[tokio::test]
async fn a_large_message_does_not_leave_its_size_in_the_link() {
    let Some(m) = mosquitto_or_skip() else {
        return;
    };
    let (link, mut events) =
        Link::start(LinkOptions::new("127.0.0.1", m.port(), "memory")).unwrap();
    loop {
        match tokio::time::timeout(WAIT, events.recv())
            .await
            .expect("connected in time")
        {
            Some(LinkEvent::Connected { .. }) => break,
            Some(_) => {}
            None => panic!("the link's driver stopped"),
        }
    }
    let small = |i: usize| {
        link.publish(
            format!("memory/{i}"),
            vec![b'x'; 200],
            Qos::AtLeastOnce,
            false,
        )
        .unwrap();
    };
    // The buffers of steady traffic exist before the baseline.
    (0..20).for_each(small);
    assert!(link.wait_sent(WAIT).await, "{:?}", link.stats());
    let before = LIVE.load(Ordering::Relaxed);

    link.publish(
        "memory/big".to_owned(),
        vec![b'x'; 400_000],
        Qos::AtLeastOnce,
        false,
    )
    .unwrap();
    assert!(link.wait_sent(WAIT).await, "{:?}", link.stats());
    // Small messages after it: a buffer kept at 400 KB would be reused for them.
    (20..40).for_each(small);
    assert!(link.wait_sent(WAIT).await, "{:?}", link.stats());
    let grown = LIVE.load(Ordering::Relaxed) - before;
    assert!(
        grown < 100_000,
        "the heap is {grown} bytes larger than before the 400 KB message, which was written and acknowledged"
    );
    link.disconnect().await;
}
