use super::*;

#[test]
fn waits_are_the_ttl_shortened_by_at_most_the_jitter() {
    let ttl = Duration::from_secs(300);
    assert_eq!(next_delay(ttl, 0.1, 0, 0.0), ttl);
    assert_eq!(next_delay(ttl, 0.1, 0, 0.5), Duration::from_secs(285));
    assert!(next_delay(ttl, 0.1, 0, 0.999_999) > Duration::from_secs(270));
    assert_eq!(next_delay(ttl, 0.0, 0, 0.7), ttl);
}

#[test]
fn failures_retry_sooner_with_backoff_up_to_the_ttl() {
    let ttl = Duration::from_secs(300);
    let waits: Vec<u64> = (1..=12)
        .map(|n| next_delay(ttl, 0.1, n, 0.0).as_secs())
        .collect();
    assert_eq!(waits, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]);
    assert_eq!(next_delay(ttl, 0.1, 100, 0.0), ttl);
    let short = Duration::from_millis(50);
    assert_eq!(next_delay(short, 0.1, 3, 0.0), short);
}

#[test]
fn jitter_spreads_a_fleet() {
    let mut random = Random::new("x");
    let units: Vec<f64> = (0..1000).map(|_| random.unit()).collect();
    assert!(units.iter().all(|u| (0.0..1.0).contains(u)));
    let low = units.iter().filter(|u| **u < 0.5).count();
    assert!((400..600).contains(&low), "{low} of 1000 below 0.5");
    let a = Random::new("x").unit();
    let b = Random::new("x").unit();
    assert_ne!(a, b, "two processes start from different seeds");
}

#[test]
fn only_strong_sha256_etags_are_checksums() {
    let sha = "a".repeat(64);
    assert_eq!(etag_sha256(&format!("\"{sha}\"")), Some(sha.as_str()));
    assert_eq!(etag_sha256(&format!("W/\"{sha}\"")), None);
    assert_eq!(etag_sha256(&sha), None);
    assert_eq!(etag_sha256("\"5f3-1a2b\""), None);
    assert_eq!(etag_sha256(&format!("\"{}\"", "A".repeat(64))), None);
}

#[test]
fn the_checksum_sits_beside_the_bundle() {
    assert_eq!(
        sidecar_url("http://h/flags.json"),
        "http://h/flags.json.sha256"
    );
    assert_eq!(
        sidecar_url("http://h/flags.json?v=1"),
        "http://h/flags.json.sha256?v=1"
    );
}
