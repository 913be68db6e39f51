//! Freeing large structures off the path a user waits on.
//!
//! A built site's model (every document, the template engine's copy of all of it as
//! values) is hundreds of thousands of small allocations; freeing them took a tenth of a
//! preview rebuild. Nobody waits for memory to be returned, so it is done on a thread of
//! its own: one long-lived thread fed by a channel, since a rebuild hands over dozens of
//! values and starting a thread for each would cost more than some of them.

use std::sync::Mutex;
use std::sync::mpsc::Sender;

type Garbage = Box<dyn Send>;

fn dropper() -> Option<Sender<Garbage>> {
    static DROPPER: Mutex<Option<Sender<Garbage>>> = Mutex::new(None);
    let mut slot = DROPPER.lock().ok()?;
    if slot.is_none() {
        let (sender, receiver) = std::sync::mpsc::channel::<Garbage>();
        std::thread::Builder::new()
            .name("glassroom-drop".into())
            .spawn(move || {
                for garbage in receiver {
                    drop(garbage);
                }
            })
            .ok()?;
        *slot = Some(sender);
    }
    slot.clone()
}

/// Drops `value` on the background thread (in place if it cannot be started).
pub fn drop_later<T: Send + 'static>(value: T) {
    match dropper() {
        Some(sender) => {
            // A send fails only if the thread is gone; the value comes back and is
            // dropped here.
            let _ = sender.send(Box::new(value));
        }
        None => drop(value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn the_value_is_dropped_soon() {
        let shared = Arc::new(vec![0u8; 1024]);
        drop_later(Arc::clone(&shared));
        drop_later(Arc::clone(&shared));
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while Arc::strong_count(&shared) > 1 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        assert_eq!(Arc::strong_count(&shared), 1);
    }
}
