//! SVG charts drawn at build time, so reports need no JavaScript to be seen.

use std::fmt::Write;

/// One row of a bar chart: a label and up to two values (e.g. mean and median).
pub struct Row<'a> {
    pub label: &'a str,
    pub values: [Option<i64>; 2],
}

const ROW_HEIGHT: i64 = 26;
const LABEL_WIDTH: i64 = 150;
const BAR_WIDTH: i64 = 330;
const VALUE_WIDTH: i64 = 150;
const TITLE_HEIGHT: i64 = 22;

/// A horizontal bar chart with two series per row, labelled with `format(value)`.
/// Colours come from CSS classes (`series-0`, `series-1`) so light and dark themes and
/// print can style it.
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
    let width = LABEL_WIDTH + BAR_WIDTH + VALUE_WIDTH;
    let legend = TITLE_HEIGHT + 24;
    let height = legend + ROW_HEIGHT * rows.len().max(1) as i64 + 8;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="{}">"#,
        escape(title)
    );
    let _ = write!(svg, "<title>{}</title>", escape(title));
    let _ = write!(
        svg,
        r#"<text class="title" x="0" y="15">{}</text>"#,
        escape(title)
    );
    for (i, name) in series.iter().enumerate() {
        let x = LABEL_WIDTH + i as i64 * 120;
        let _ = write!(
            svg,
            r#"<rect class="series-{i}" x="{x}" y="{}" width="12" height="12"/><text x="{}" y="{}">{}</text>"#,
            TITLE_HEIGHT + 6,
            x + 16,
            TITLE_HEIGHT + 16,
            escape(name)
        );
    }
    if rows.is_empty() {
        let _ = write!(
            svg,
            r#"<text x="{LABEL_WIDTH}" y="{}">no data</text>"#,
            legend + 16
        );
    }
    for (index, row) in rows.iter().enumerate() {
        let top = legend + index as i64 * ROW_HEIGHT;
        let _ = write!(
            svg,
            r#"<text class="label" x="{}" y="{}" text-anchor="end">{}</text>"#,
            LABEL_WIDTH - 8,
            top + 16,
            escape(row.label)
        );
        for (i, value) in row.values.iter().enumerate() {
            let y = top + 3 + i as i64 * 10;
            if let Some(v) = value {
                let w = (v.max(&0) * BAR_WIDTH / max).max(1);
                let _ = write!(
                    svg,
                    r#"<rect class="series-{i}" x="{LABEL_WIDTH}" y="{y}" width="{w}" height="9"><title>{}: {}</title></rect>"#,
                    escape(series[i]),
                    escape(&format(*v))
                );
            }
        }
        let text: Vec<String> = row
            .values
            .iter()
            .map(|v| v.map_or_else(|| "–".to_owned(), &format))
            .collect();
        let _ = write!(
            svg,
            r#"<text class="value" x="{}" y="{}">{}</text>"#,
            LABEL_WIDTH + BAR_WIDTH + 8,
            top + 16,
            escape(&text.join(" / "))
        );
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
            svg.contains(&format!(r#"width="{BAR_WIDTH}""#)),
            "the largest bar is full width"
        );
        assert!(svg.contains(&format!(r#"width="{}""#, BAR_WIDTH / 2)));
        assert!(svg.contains("200s / –"));
    }
}
