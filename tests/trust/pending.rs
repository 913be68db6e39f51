//! Changes that wait for a signature are one alert per kind of problem, with a count and
//! a link to the pending page: never one alert per file.

use super::repository;

#[test]
fn many_unsigned_files_are_one_alert_with_a_count_and_a_link_to_the_pending_page() {
    let repo = repository();
    for n in 0..25 {
        repo.write(
            &format!("hosts/new{n:02}.yaml"),
            &format!(
                "name: new{n:02}.example.org\naddresses: [192.0.2.{}]\n",
                100 + n
            ),
        );
    }
    repo.commit("Twenty-five unsigned hosts", None);
    let out = repo.dir.path().join("public");
    let built = repo.glassroom(&[
        "build",
        repo.path_str(),
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    assert_eq!(built.code, Some(0), "{}", built.stderr);
    let dashboard = std::fs::read_to_string(out.join("index.html")).expect("dashboard");
    // The dashboard's section of pending changes holds one alert.
    let section = dashboard
        .split(r#"<h3 id="alerts-page">"#)
        .nth(1)
        .and_then(|rest| rest.split("</section>").next())
        .unwrap_or_else(|| panic!("a section of pending changes:\n{dashboard}"));
    assert_eq!(section.matches("<li class=").count(), 1, "{section}");
    assert!(
        section.contains("25 changes wait for a signature")
            && section.contains(r#"href="pending.html""#),
        "{section}"
    );
    assert!(
        section.contains("hosts/new00.yaml") && section.contains("and 22 more"),
        "the first files are named: {section}"
    );
    // The page of every alert has it once too.
    let alerts = std::fs::read_to_string(out.join("alerts.html")).expect("alerts page");
    assert_eq!(alerts.matches("wait for a signature").count(), 1);
    let pending = std::fs::read_to_string(out.join("pending.html")).expect("pending page");
    assert!(pending.contains("hosts/new24.yaml"));
}
