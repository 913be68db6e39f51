//! The tones agree with the alerts' severities, and their colours are readable: WCAG
//! contrast computed over the colour values of the default theme's style.css, in the
//! light and the dark theme.

use std::collections::BTreeMap;

use super::{Tone, tone};
use crate::derive::Severity;

#[test]
fn a_state_that_raises_an_alert_has_its_severity_as_tone() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("content-example");
    let tree = crate::source::read_dir(&root).unwrap_or_default();
    let loaded = crate::content::load(&tree);
    let now = "2026-11-22T00:00:00Z".parse().expect("a moment");
    let derived = crate::derive::derive(&loaded.content, now);
    let severity_tone = |severity: Severity| match severity {
        Severity::Critical => Tone::Critical,
        Severity::Warning => Tone::Warning,
        Severity::Info => Tone::Info,
    };
    let mut checked = 0;
    for alert in derived.alerts.iter() {
        let state = match alert.subject_kind {
            "procedure" => derived.procedures.get(&alert.subject).map(|s| {
                serde_json::to_value(s.state)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default()
            }),
            "ticket" => loaded
                .content
                .tickets
                .iter()
                .find(|t| t.id == alert.subject)
                .map(|t| {
                    serde_json::to_value(t.data.priority)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default()
                }),
            _ => None,
        };
        if let Some(state) = state {
            assert_eq!(
                tone(&state),
                severity_tone(alert.severity),
                "{state} of {}",
                alert.subject
            );
            checked += 1;
        }
        // The severity's own badge.
        let name = serde_json::to_value(alert.severity).expect("a name");
        assert_eq!(
            tone(name.as_str().unwrap_or_default()),
            severity_tone(alert.severity)
        );
    }
    // The example has an overdue procedure, one never done and high-priority tickets.
    assert!(checked >= 4, "checked {checked}");
    assert_eq!(tone("never_done"), Tone::Warning);
    assert_eq!(tone("planned"), Tone::Info);
}

const STYLE: &str = include_str!("../../../themes/default/static/style.css");

/// The custom properties of the first `:root { … }` block after `from` in style.css.
fn variables(from: &str) -> BTreeMap<String, String> {
    let rest = STYLE.split_once(from).map_or("", |(_, rest)| rest);
    let block = rest
        .split_once(":root {")
        .and_then(|(_, block)| block.split_once('}'))
        .map_or("", |(block, _)| block);
    block
        .split(';')
        .filter_map(|decl| decl.split_once(':'))
        .map(|(name, value)| (name.trim().to_owned(), value.trim().to_owned()))
        .filter(|(name, _)| name.starts_with("--"))
        .collect()
}

/// WCAG 2 relative luminance of `#rrggbb`.
fn luminance(hex: &str) -> f64 {
    let hex = hex.trim_start_matches('#');
    let channel = |i: usize| {
        let c = f64::from(u8::from_str_radix(&hex[i..i + 2], 16).expect("hex colour")) / 255.0;
        if c <= 0.039_28 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * channel(0) + 0.7152 * channel(2) + 0.0722 * channel(4)
}

/// WCAG 2 contrast ratio of two colours.
fn contrast(a: &str, b: &str) -> f64 {
    let (a, b) = (luminance(a), luminance(b));
    (a.max(b) + 0.05) / (a.min(b) + 0.05)
}

#[test]
fn badges_and_chart_bars_are_readable_in_both_themes() {
    for (theme, vars) in [
        ("light", variables("")),
        ("dark", variables("prefers-color-scheme: dark")),
    ] {
        let var = |name: &str| {
            vars.get(name)
                .unwrap_or_else(|| panic!("{theme}: no {name} in style.css"))
                .as_str()
        };
        // Badge text on its badge: 4.5:1 (WCAG AA for small text).
        for (fg, bg) in [
            ("--crit", "--crit-bg"),
            ("--warn", "--warn-bg"),
            ("--ok", "--ok-bg"),
            ("--info", "--info-bg"),
            ("--quiet", "--quiet-bg"),
            ("--fg", "--line"),
        ] {
            let ratio = contrast(var(fg), var(bg));
            assert!(ratio >= 4.5, "{theme}: {fg} on {bg} is {ratio:.2}:1");
        }
        // Chart bars against the page and a card: 3:1 (WCAG non-text contrast).
        for bar in ["--series-0", "--series-1"] {
            for bg in ["--bg", "--panel"] {
                let ratio = contrast(var(bar), var(bg));
                assert!(ratio >= 3.0, "{theme}: {bar} on {bg} is {ratio:.2}:1");
            }
        }
    }
    // The formula, on known values.
    assert!((contrast("#000000", "#ffffff") - 21.0).abs() < 1e-9);
    assert!((contrast("#5e6770", "#dfe2e5") - 4.42).abs() < 0.01);
}

#[test]
fn every_tone_has_its_colours_in_the_style_sheet() {
    for tone in Tone::ALL {
        let class = format!(".tone-{}", tone.name());
        assert!(STYLE.contains(&class), "style.css has no {class}");
    }
}
