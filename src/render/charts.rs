//! SVG charts drawn at build time, so reports need no JavaScript to be seen.

use std::fmt::Write;

/// One row of a bar chart: a label and up to two values (e.g. mean and median).
pub struct Row<'a> {
    pub label: &'a str,
    pub values: [Option<i64>; 2],
}

/// The drawing's own units: about one CSS pixel each on a phone (390 px wide, less the
/// margins), so its 15-unit text stays readable there; it is drawn at its container's
/// full width (`width: 100%` in the theme's CSS), larger on a desktop.
const WIDTH: i64 = 360;
/// Each row: its label and values on a line, its two bars under it.
const ROW_HEIGHT: i64 = 48;
const LINE: i64 = 18;
const BAR_HEIGHT: i64 = 9;
const TITLE_HEIGHT: i64 = 22;
const LEGEND_HEIGHT: i64 = 26;

/// A horizontal bar chart with two series per row, labelled with `format(value)`: each
/// row's label (left) and values (right) on a line, its bars the full width under it, so
/// it needs no room beside the bars and reads on a phone. Colours come from CSS classes
/// (`series-0`, `series-1`) so light and dark themes and print can style it.
pub fn bar_chart(
    title: &str,
    series: [&str; 2],
    rows: &[Row<'_>],
    format: impl Fn(i64) -> String,
) -> String {
    let max = rows
        .iter()
        .flat_map(|r| r.values.iter().flatten())
        .copied()
        .max()
        .unwrap_or(0)
        .max(1);
    let width = WIDTH;
    let legend = TITLE_HEIGHT + LEGEND_HEIGHT;
    let height = legend + ROW_HEIGHT * rows.len().max(1) as i64;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="{}">"#,
        escape(title)
    );
    let _ = write!(svg, "<title>{}</title>", escape(title));
    let _ = write!(
        svg,
        r#"<text class="title" x="0" y="16">{}</text>"#,
        escape(title)
    );
    for (i, name) in series.iter().enumerate() {
        let x = i as i64 * 110;
        let _ = write!(
            svg,
            r#"<rect class="series-{i}" x="{x}" y="{}" width="12" height="12"/><text x="{}" y="{}">{}</text>"#,
            TITLE_HEIGHT + 8,
            x + 17,
            TITLE_HEIGHT + 19,
            escape(name)
        );
    }
    if rows.is_empty() {
        let _ = write!(svg, r#"<text x="0" y="{}">no data</text>"#, legend + LINE);
    }
    for (index, row) in rows.iter().enumerate() {
        let top = legend + index as i64 * ROW_HEIGHT;
        let _ = write!(
            svg,
            r#"<text class="label" x="0" y="{}">{}</text>"#,
            top + LINE - 3,
            escape(row.label)
        );
        let text: Vec<String> = row
            .values
            .iter()
            .map(|v| v.map_or_else(|| "–".to_owned(), &format))
            .collect();
        let _ = write!(
            svg,
            r#"<text class="value" x="{width}" y="{}" text-anchor="end">{}</text>"#,
            top + LINE - 3,
            escape(&text.join(" / "))
        );
        for (i, value) in row.values.iter().enumerate() {
            let y = top + LINE + 2 + i as i64 * (BAR_HEIGHT + 2);
            if let Some(v) = value {
                let w = (v.max(&0) * width / max).max(1);
                let _ = write!(
                    svg,
                    r#"<rect class="series-{i}" x="0" y="{y}" width="{w}" height="{BAR_HEIGHT}"><title>{}: {}</title></rect>"#,
                    escape(series[i]),
                    escape(&format(*v))
                );
            }
        }
    }
    svg.push_str("</svg>");
    svg
}

fn escape(text: &str) -> String {
    let mut out = Vec::with_capacity(text.len());
    // Writing into a Vec cannot fail; on the impossible error the label is dropped.
    if tera::escape_html(text, &mut out).is_err() {
        return String::new();
    }
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_largest_value_and_escape_labels() {
        let rows = [
            Row {
                label: "bug<",
                values: [Some(100), Some(50)],
            },
            Row {
                label: "feature",
                values: [Some(200), None],
            },
        ];
        let svg = bar_chart("Time", ["mean", "median"], &rows, |v| format!("{v}s"));
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains("bug&lt;"));
        assert!(
            svg.contains(&format!(
                r#"x="0" y="{}" width="{WIDTH}""#,
                TITLE_HEIGHT + LEGEND_HEIGHT + ROW_HEIGHT + LINE + 2
            )),
            "the largest bar is full width: {svg}"
        );
        assert!(svg.contains(&format!(r#"width="{}""#, WIDTH / 2)));
        assert!(svg.contains("200s / –"));
    }
}
