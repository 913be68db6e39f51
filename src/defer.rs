//! Freeing large structures off the path a user waits on.
//!
//! A built site's model (every document, the template engine's copy of all of it as
//! values) is hundreds of thousands of small allocations; freeing them took a tenth of a
//! preview rebuild. Nobody waits for memory to be returned, so it is done on a thread of
//! its own.

/// Drops `value` on a short-lived thread (in place if no thread can be started).
pub fn drop_later<T: Send + 'static>(value: T) {
    // A failed spawn drops the closure, and the value with it, right here.
    let _ = std::thread::Builder::new()
        .name("glassroom-drop".into())
        .spawn(move || drop(value));
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn the_value_is_dropped_soon() {
        let shared = Arc::new(vec![0u8; 1024]);
        drop_later(Arc::clone(&shared));
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while Arc::strong_count(&shared) > 1 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        assert_eq!(Arc::strong_count(&shared), 1);
    }
}
