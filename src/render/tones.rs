//! What colour a state's badge has: one mapping from every state, severity and priority
//! a page shows to a tone (`tone-critical`, `tone-warning`, `tone-ok`, `tone-info`,
//! `tone-quiet` in style.css), so a colour means one thing on every page. A state that
//! raises an alert has the alert's severity as its tone (a procedure never done is a
//! warning on the procedure list as on the dashboard); a test holds the two together.

/// A badge's colour, by what it asks of a reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// Act now: the colour of critical alerts.
    Critical,
    /// Act soon: the colour of warnings.
    Warning,
    /// Done, valid, approved.
    Ok,
    /// Neither good nor bad: open, planned, in progress, information.
    Info,
    /// Set aside: ignored, cancelled, low priority.
    Quiet,
}

impl Tone {
    #[cfg(test)]
    pub const ALL: [Tone; 5] = [
        Tone::Critical,
        Tone::Warning,
        Tone::Ok,
        Tone::Info,
        Tone::Quiet,
    ];

    /// Its name, as the CSS class `tone-<name>` says it.
    pub const fn name(self) -> &'static str {
        match self {
            Tone::Critical => "critical",
            Tone::Warning => "warning",
            Tone::Ok => "ok",
            Tone::Info => "info",
            Tone::Quiet => "quiet",
        }
    }
}

/// The tone of a state, severity or priority as pages name it (snake_case).
pub fn tone(state: &str) -> Tone {
    match state {
        // Severities, priorities, and the states that raise critical alerts.
        "critical" | "overdue" | "expired" | "problem" | "refused" | "revoked" => Tone::Critical,
        // A certificate or domain expiring, a procedure never done or due soon, a
        // high-priority ticket, a change waiting for a signature.
        "warning" | "high" | "expiring" | "never_done" | "due_soon" | "pending" => Tone::Warning,
        "ok" | "valid" | "ended" | "end" | "released" | "closed" | "signed" | "trust_root"
        | "pre_approved" | "reviewed" => Tone::Ok,
        "ignored" | "belay" | "belayed" | "cancelled" | "wontfix" | "low" | "on_demand" => {
            Tone::Quiet
        }
        // open, in_progress, planned, acknowledged, info, normal, and anything new.
        _ => Tone::Info,
    }
}

#[cfg(test)]
mod tests;
